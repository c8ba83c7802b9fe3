#!/usr/bin/env bash
# Instructions per request of the release server, counted by callgrind (stable on a noisy
# machine): the server runs under `valgrind --tool=callgrind`, the load generator sends N
# requests of one scenario on 1 connection, and the server's total instruction count for
# N = N_HI minus N = N_LO, divided by N_HI - N_LO, is the cost of one request (start-up, queue
# creation and shutdown cancel out).
#
#   benches/callgrind.sh SERVER_BIN LOAD_BIN OUT_DIR [load args...]
#       e.g. benches/callgrind.sh target/release/cauda "$LOAD" /tmp/cg --scenario send1
#
# Environment: SERVER_ARGS (extra server flags, e.g. "--in-memory"), N_LO (500), N_HI (2500).
# Keeps each run's callgrind.out.N in OUT_DIR for `callgrind_annotate --inclusive=yes`.
set -euo pipefail
bin=$1 load=$2 out=$3
shift 3
N_LO=${N_LO:-500}
N_HI=${N_HI:-2500}
mkdir -p "$out"

total() {
    local n=$1 dir port pid
    shift
    dir=$(mktemp -d "${TMPDIR:-/tmp}/cauda-cg.XXXXXX")
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    # Word-splitting of SERVER_ARGS is intended.
    # shellcheck disable=SC2086
    RUST_LOG=warn valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out.$n" \
        "$bin" --bind "127.0.0.1:$port" --data-dir "$dir/data" ${SERVER_ARGS:-} \
        >"$out/server.$n.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 600); do
        curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
        sleep 0.1
    done
    "$load" --bench --endpoint "http://127.0.0.1:$port" --max-requests "$n" \
        --duration-secs 600 --settle-secs 0 "$@" >"$out/load.$n.log" 2>&1
    kill -TERM "$pid"
    wait "$pid" || true
    rm -rf "$dir"
    grep -m1 '^summary:' "$out/callgrind.out.$n" | awk '{print $2}'
}

lo=$(total "$N_LO" "$@")
hi=$(total "$N_HI" "$@")
echo "instructions: N=$N_LO $lo, N=$N_HI $hi; per request: $(( (hi - lo) / (N_HI - N_LO) ))"
