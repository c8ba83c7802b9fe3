#!/usr/bin/env bash
# The in-memory server against the load generator's own ceiling, measured in one run.
#
#   benches/null-ratio.sh [load-bench args...]   e.g. benches/null-ratio.sh --protocol query
#
# Builds the release server, the load generator and the null server (`benches/null_server.rs`:
# canned replies, no work), or takes them from CAUDA_BIN, LOAD_BIN and NULL_BIN when all three
# are set (to compare servers with one load binary). Then runs, ROUNDS times (env, default 3)
# and alternately, the `send` scenario (SendMessage on CONNECTIONS connections, default 32,
# for SECS s, default 4) against the null server and against `cauda --in-memory` (a fresh
# process each time, auth auto without credentials), and prints each run's msgs/s, the
# medians and cauda / null.
# Processes are stopped by their PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-32}
SECS=${SECS:-4}
PIDS=()
WORK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/cauda-null.XXXXXX")
cleanup() {
    local status=$?
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK_DIR"
    exit "$status"
}
trap cleanup EXIT

bench_exe() {
    cargo bench --bench "$1" --no-run --message-format=json-render-diagnostics \
        | grep '"kind":\["bench"\]' | grep "\"name\":\"$1\"" \
        | grep -o '"executable":"[^"]*"' | tail -n1 | cut -d'"' -f4
}

mkdir -p "$WORK_DIR/bin"
if [[ -n "${CAUDA_BIN:-}" && -n "${LOAD_BIN:-}" && -n "${NULL_BIN:-}" ]]; then
    echo "== given binaries: $CAUDA_BIN, $LOAD_BIN, $NULL_BIN"
    cp "$CAUDA_BIN" "$WORK_DIR/bin/cauda"
    cp "$LOAD_BIN" "$WORK_DIR/bin/load"
    cp "$NULL_BIN" "$WORK_DIR/bin/null_server"
else
    echo "== building (release server, load benchmark, null server)"
    cargo build --release --bin cauda
    cp target/release/cauda "$WORK_DIR/bin/cauda"
    cp "$(bench_exe load)" "$WORK_DIR/bin/load"
    cp "$(bench_exe null_server)" "$WORK_DIR/bin/null_server"
fi

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# run_one KIND -> prints the send scenario's msgs/s
run_one() {
    local kind=$1 port pid
    shift
    port=$(free_port)
    if [[ "$kind" == null ]]; then
        "$WORK_DIR/bin/null_server" --bench --bind "127.0.0.1:$port" --max-secs 120 \
            >"$WORK_DIR/null.log" 2>&1 &
    else
        RUST_LOG=warn "$WORK_DIR/bin/cauda" --bind "127.0.0.1:$port" --in-memory \
            >"$WORK_DIR/cauda.log" 2>&1 &
    fi
    pid=$!
    PIDS+=("$pid")
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
    "$WORK_DIR/bin/load" --bench --endpoint "http://127.0.0.1:$port" --scenario send \
        --connections "$CONNECTIONS" --duration-secs "$SECS" --settle-secs 0 "$@" \
        | grep '^{' | grep '"scenario":"send"' \
        | python3 -c 'import json, sys; r = json.loads(sys.stdin.readline()); print(r["msgs_per_s"] if r["errors"] == 0 else "errors:%d" % r["errors"])'
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

NULL=()
CAUDA=()
for round in $(seq 1 "$ROUNDS"); do
    n=$(run_one null "$@")
    c=$(run_one cauda "$@")
    echo "round $round: null server $n msgs/s, cauda --in-memory $c msgs/s"
    NULL+=("$n")
    CAUDA+=("$c")
done
python3 - "${NULL[*]}" "${CAUDA[*]}" <<'EOF'
import statistics, sys
null = [float(x) for x in sys.argv[1].split()]
cauda = [float(x) for x in sys.argv[2].split()]
n, c = statistics.median(null), statistics.median(cauda)
print(f"median: null server {n:,.0f} msgs/s, cauda --in-memory {c:,.0f} msgs/s, "
      f"ratio {c / n:.1%} (target >= 60 %)")
EOF
