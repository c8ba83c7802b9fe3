#!/usr/bin/env bash
# Throughput of the Query protocol against JSON on the same server binary, interleaved.
#
#   benches/query-vs-json.sh SERVER_BIN LOAD_BIN [load args...]
#       e.g. benches/query-vs-json.sh target/release/cauda "$LOAD" --connections 32
#
# For each mode (MODES: "memory durable"; durable = the default strict mode on a fresh data
# dir) and each scenario (SCENARIOS: "send roundtrip"), ROUNDS (3) times: a fresh server and the
# scenario in JSON, then a fresh server and the scenario in Query, SECS (4) s each. Prints each
# run's msgs/s, then per configuration the medians, ranges and Query / JSON next to issue 16's
# target (Query within 15 % of JSON: ratio >= 0.85). Processes are stopped by their PID.
set -euo pipefail
bin=$1 load=$2
shift 2
MODES=${MODES:-memory durable}
SCENARIOS=${SCENARIOS:-send roundtrip}
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-4}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cauda-qj.XXXXXX")
PID=
cleanup() {
    [[ -n "$PID" ]] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

# run MODE SCENARIO PROTOCOL -> msgs/s
run() {
    local mode=$1 scenario=$2 protocol=$3 port args=()
    shift 3
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    rm -rf "$WORK/data"
    [[ "$mode" == memory ]] && args=(--in-memory)
    RUST_LOG=warn "$bin" --bind "127.0.0.1:$port" --data-dir "$WORK/data" "${args[@]}" \
        >"$WORK/server.log" 2>&1 &
    PID=$!
    for _ in $(seq 1 300); do
        curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
        sleep 0.05
    done
    "$load" --bench --endpoint "http://127.0.0.1:$port" --scenario "$scenario" \
        --protocol "$protocol" --duration-secs "$SECS" --settle-secs 0 "$@" \
        | grep '^{' | grep "\"scenario\":\"$scenario\"" \
        | python3 -c 'import json, sys; r = json.loads(sys.stdin.readline()); print(r["msgs_per_s"] if r["errors"] == 0 else "errors:%d" % r["errors"])'
    kill -TERM "$PID"
    wait "$PID" || true
    PID=
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $SECS s per run, load args: $*"
results=()
for mode in $MODES; do
    for scenario in $SCENARIOS; do
        j=() q=()
        for round in $(seq 1 "$ROUNDS"); do
            j+=("$(run "$mode" "$scenario" json "$@")")
            q+=("$(run "$mode" "$scenario" query "$@")")
            echo "$mode $scenario, round $round: JSON ${j[-1]} msgs/s, Query ${q[-1]} msgs/s"
        done
        results+=("$mode $scenario ${j[*]} | ${q[*]}")
    done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%s\n' "${results[@]}" | python3 -c '
import statistics, sys
print("| mode | scenario | JSON msgs/s, median (range) | Query | Query / JSON | target: >= 0.85 |")
print("|---|---|---|---|---|---|")
for line in sys.stdin:
    head, q = line.split("|")
    mode, scenario, *j = head.split()
    j, q = [float(x) for x in j], [float(x) for x in q.split()]
    mj, mq = statistics.median(j), statistics.median(q)
    verdict = "met" if mq / mj >= 0.85 else "not met"
    print(f"| {mode} | {scenario} | {mj:,.0f} ({min(j):,.0f}-{max(j):,.0f}) | {mq:,.0f} ({min(q):,.0f}-{max(q):,.0f}) "
          f"| {mq / mj:.2f} | {verdict} |")
'
