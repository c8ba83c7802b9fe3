# syntax=docker/dockerfile:1
#
# cauda: an SQS-compatible queue server.
#
#   docker build -t cauda .
#   docker run -p 9324:9324 -v cauda-data:/var/lib/cauda cauda
#
# Configuration is by CAUDA_* environment variables (see `cauda --help`), e.g.
#   -e CAUDA_CREDENTIALS=AKID:SECRET -e CAUDA_DURABILITY=relaxed -e CAUDA_QUEUE_URL_HOST=localhost:9324

############################ build ############################
FROM rust:1-bookworm AS build
WORKDIR /src

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
    && cargo build --release --locked --bin cauda \
    && rm -rf src benches \
    && rm -rf target/release/.fingerprint/cauda-* target/release/deps/cauda-* \
              target/release/deps/libcauda-* target/release/cauda*

# 2. The real sources. COPY keeps the files' own mtimes, which can be older than the placeholder
#    build above, so touch them to make cargo rebuild the crate.
COPY src ./src
COPY benches ./benches
RUN find src benches -name '*.rs' -exec touch {} + \
    && cargo build --release --locked --bin cauda \
    && strip target/release/cauda \
    && ./target/release/cauda --version

############################ runtime ############################
FROM debian:bookworm-slim AS runtime

# A fixed non-root uid/gid so a mounted volume's ownership is predictable.
RUN groupadd --system --gid 10001 cauda \
    && useradd --system --uid 10001 --gid cauda --home-dir /var/lib/cauda --shell /usr/sbin/nologin cauda \
    && mkdir -p /var/lib/cauda \
    && chown cauda:cauda /var/lib/cauda

COPY --from=build /src/target/release/cauda /usr/local/bin/cauda

ENV CAUDA_BIND=0.0.0.0:9324 \
    CAUDA_DATA_DIR=/var/lib/cauda

USER 10001:10001
WORKDIR /var/lib/cauda
VOLUME /var/lib/cauda
EXPOSE 9324

# The slim image has bash but neither curl nor wget: ask GET /health over bash's /dev/tcp, on the
# port CAUDA_BIND names.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${CAUDA_BIND##*:} && printf 'GET /health HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && head -n1 <&3 | grep -q ' 200'"]

ENTRYPOINT ["/usr/local/bin/cauda"]
