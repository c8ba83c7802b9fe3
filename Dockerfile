# syntax=docker/dockerfile:1
#
# cauda: an SQS-compatible queue server, as a FROM-scratch image holding one static binary.
#
#   docker build -t cauda .
#   docker run -p 9324:9324 -v cauda-data:/var/lib/cauda cauda
#
# Configuration is by CAUDA_* environment variables (see `cauda --help`), e.g.
#   -e CAUDA_CREDENTIALS=AKID:SECRET -e CAUDA_DURABILITY=relaxed -e CAUDA_QUEUE_URL_HOST=localhost:9324
#
# From a binary built on the host instead (what CI does with buildah, see .ci/container-check):
# a build context holding `cauda` (the static binary) and an empty `data/` directory, and
#   --build-arg CAUDA_BINARY_FROM=host

# Where the binary comes from: `build` (compiled below) or `host` (the build context).
ARG CAUDA_BINARY_FROM=build

############################ build ############################
FROM rust:1-bookworm AS build
WORKDIR /src
# glibc, linked statically (`crt-static`): the binary needs no file of the image it runs in. It
# resolves no host names (addresses only), so glibc's NSS, which static linking leaves out, is
# never asked. The target is named so that build scripts and proc-macros stay dynamic.
ENV RUSTFLAGS="-C target-feature=+crt-static" \
    CAUDA_TARGET=x86_64-unknown-linux-gnu

# 1. Dependencies only: build against the real manifest and lock file with placeholder sources,
#    so this layer stays cached until Cargo.toml or Cargo.lock changes. Every target path that
#    Cargo.toml names must exist (lib, bin and both [[bench]] targets), or cargo refuses the
#    manifest.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && echo 'fn main() {}' > benches/load.rs \
    && echo 'fn main() {}' > benches/sigv4.rs \
    && cargo build --release --locked --target "$CAUDA_TARGET" --bin cauda \
    && rm -rf src benches \
    && rm -rf target/"$CAUDA_TARGET"/release/.fingerprint/cauda-* \
              target/"$CAUDA_TARGET"/release/deps/cauda-* \
              target/"$CAUDA_TARGET"/release/deps/libcauda-* \
              target/"$CAUDA_TARGET"/release/cauda*

# 2. The real sources. COPY keeps the files' own mtimes, which can be older than the placeholder
#    build above, so touch them to make cargo rebuild the crate.
COPY src ./src
COPY benches ./benches
RUN find src benches -name '*.rs' -exec touch {} + \
    && cargo build --release --locked --target "$CAUDA_TARGET" --bin cauda \
    && mkdir -p /out/data \
    && cp target/"$CAUDA_TARGET"/release/cauda /out/cauda \
    && strip /out/cauda \
    && /out/cauda --version

############################ or: a binary built on the host ############################
FROM scratch AS host
COPY cauda /out/cauda
COPY data /out/data

FROM ${CAUDA_BINARY_FROM} AS binary

############################ runtime ############################
FROM scratch

COPY --from=binary /out/cauda /cauda
# The data directory, owned by the non-root user the server runs as (a volume mounted here
# starts with this ownership).
COPY --from=binary --chown=10001:10001 /out/data /var/lib/cauda

ENV CAUDA_BIND=0.0.0.0:9324 \
    CAUDA_DATA_DIR=/var/lib/cauda

USER 10001:10001
WORKDIR /var/lib/cauda
VOLUME /var/lib/cauda
EXPOSE 9324

# `cauda healthcheck` asks GET /health on the port CAUDA_BIND names (no curl in the image).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/cauda", "healthcheck"]

ENTRYPOINT ["/cauda"]
