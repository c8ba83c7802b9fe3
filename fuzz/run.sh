#!/usr/bin/env bash
# Coverage-guided fuzzing of every target for SECONDS each (default 60), then one summary line
# per target: inputs run, coverage (libFuzzer's edge count `cov` and feature count `ft`),
# corpus size and crashes.
#
#   fuzz/run.sh [SECONDS]              every target
#   TARGETS="http_request" fuzz/run.sh 600
#   MERGE=1 fuzz/run.sh 60             afterwards, add the inputs that found new coverage to
#                                      the committed seeds (corpus/<target>, libFuzzer -merge)
#
# Uses `cargo +nightly fuzz` when rustup has a nightly, else `cargo fuzz` on stable with
# RUSTC_BOOTSTRAP=1; installs cargo-fuzz from crates.io when it is missing. Built without a
# sanitizer (`-s none`: the code is safe Rust, the targets look for panics, wrong answers and
# hangs) and with debug assertions (overflow checks). Each target grows its own working corpus
# in work/<target>, seeded from corpus/<target>; a crash, a hang (one input over 10 s) or an
# input using over 2 GiB stops that target and leaves the input in artifacts/<target>/
# (`cargo +nightly fuzz run <target> artifacts/<target>/<file>` replays it). The exit status
# is non-zero when any target crashed.
set -euo pipefail
cd "$(dirname "$0")"

SECONDS_EACH="${1:-60}"
if ! [[ "$SECONDS_EACH" =~ ^[0-9]+$ ]] || ((SECONDS_EACH < 1)); then
  echo "usage: fuzz/run.sh [SECONDS]" >&2
  exit 2
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  FUZZ=(cargo +nightly fuzz)
else
  FUZZ=(env RUSTC_BOOTSTRAP=1 cargo fuzz)
fi

# The versions the server is tested with (see .ci/test-all).
cp ../Cargo.lock Cargo.lock
"${FUZZ[@]}" build -s none >/dev/null
read -r -a targets <<<"${TARGETS:-$("${FUZZ[@]}" list | tr '\n' ' ')}"

LOGS="$(mktemp -d "${TMPDIR:-/tmp}/cauda-fuzz.XXXXXX")"
trap 'rm -rf "$LOGS"' EXIT
summary=()
crashed=0
for t in "${targets[@]}"; do
  mkdir -p "work/$t" "corpus/$t" "artifacts/$t"
  before="$(find "artifacts/$t" -type f | wc -l)"
  echo "== $t: ${SECONDS_EACH}s" >&2
  rc=0
  "${FUZZ[@]}" run -s none "$t" "work/$t" "corpus/$t" -- \
    -max_total_time="$SECONDS_EACH" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 >"$LOGS/$t.log" 2>&1 || rc=$?
  runs="$(grep -ao 'stat::number_of_executed_units: [0-9]*' "$LOGS/$t.log" | grep -o '[0-9]*$' || true)"
  status="$(grep -aE '^#[0-9]+' "$LOGS/$t.log" | tail -n 1 || true)"
  cov="$(grep -o 'cov: [0-9]*' <<<"$status" | grep -o '[0-9]*$' || true)"
  ft="$(grep -o 'ft: [0-9]*' <<<"$status" | grep -o '[0-9]*$' || true)"
  corp="$(grep -o 'corp: [0-9]*' <<<"$status" | grep -o '[0-9]*$' || true)"
  after="$(find "artifacts/$t" -type f | wc -l)"
  crashes=$((after - before))
  if ((rc != 0 && crashes == 0)); then crashes=1; fi
  line="$t: ${SECONDS_EACH}s, ${runs:-?} runs, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}, crashes $crashes"
  if ((crashes > 0)); then
    crashed=1
    grep -aE 'panicked at|SUMMARY|Test unit written to' "$LOGS/$t.log" | head -n 5 | sed 's/^/    /' >&2 || true
  fi
  if [[ -n "${MERGE:-}" ]]; then
    "${FUZZ[@]}" run -s none "$t" "corpus/$t" "work/$t" -- -merge=1 -max_len=8192 \
      >"$LOGS/$t.merge.log" 2>&1 || true
  fi
  echo "$line" >&2
  summary+=("$line")
done

echo
printf '%s\n' "${summary[@]}"
exit "$crashed"
