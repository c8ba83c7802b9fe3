#!/usr/bin/env bash
# Runs the cauda load benchmark against a freshly started release server.
#
#   benches/run.sh [load-bench args...]      e.g. benches/run.sh --duration-secs 5 --protocol query
#
# 1. builds the release server and the benchmark,
# 2. starts the server on a free loopback port with a fresh temporary --data-dir (default durable
#    mode; extra server flags via CAUDA_BENCH_SERVER_ARGS, e.g. "--in-memory" or
#    "--durability relaxed"),
# 3. waits for GET /health -> 200,
# 4. runs the load benchmark built by `cargo bench --bench load` (its executable, with --bench, as
#    cargo bench does) with `--endpoint http://127.0.0.1:PORT "$@"`, plus `--disk-probe-dir` of
#    the server's data dir when it exists (the disk's synchronous-write rate, measured in the
#    same run; CAUDA_BENCH_DISK_PROBE=0 leaves it out),
# 5. prints the server's RSS (VmRSS, and peak VmHWM) idle before the load and after it,
# 6. stops the server by its PID (trap on exit) and removes the data dir.
#
# Environment: CAUDA_BENCH_SERVER_ARGS (extra server flags), CAUDA_BENCH_RUST_LOG (server log
# filter, default "warn"), CAUDA_BENCH_KEEP=1 (keep the temp dir with data and server log),
# CAUDA_BENCH_DISK_PROBE=0 (no disk probe).
#
# Issue 16's durable-mode targets, each figure printed next to its target:
#   benches/run.sh --targets --duration-secs 5
# (it also starts the null server, benches/null_server.rs, to time send-1 with no server work:
# the one-connection target's ceiling on this machine).
# Exit status: the benchmark's (0 = no errors, 3 = request errors, others = failures).
set -euo pipefail

cd "$(dirname "$0")/.."

SERVER_PID=""
NULL_PID=""
WORK_DIR=""

# Invoked through the EXIT trap.
# shellcheck disable=SC2329
cleanup() {
    local status=$?
    if [[ -n "$NULL_PID" ]]; then
        kill -TERM "$NULL_PID" 2>/dev/null || true
        wait "$NULL_PID" 2>/dev/null || true
    fi
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "run.sh: server $SERVER_PID did not stop within 10 s of TERM; sending KILL" >&2
            kill -KILL "$SERVER_PID" 2>/dev/null || true
        fi
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [[ -n "$WORK_DIR" && -d "$WORK_DIR" ]]; then
        if [[ "${CAUDA_BENCH_KEEP:-0}" == "1" ]]; then
            echo "run.sh: kept $WORK_DIR (data dir and server.log)"
        else
            rm -rf "$WORK_DIR"
        fi
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

rss_line() {
    # VmRSS / VmHWM of the server process, in MiB.
    local pid=$1 rss hwm
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    awk -v r="${rss:-0}" -v h="${hwm:-0}" 'BEGIN { printf "VmRSS %.1f MiB (peak VmHWM %.1f MiB)", r/1024, h/1024 }'
}

free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
        return
    fi
    local p
    for _ in $(seq 1 100); do
        p=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return
        fi
    done
    echo "run.sh: no free port found" >&2
    return 1
}

health_status() {
    # Prints the HTTP status of GET /health, or 000 when nothing answers.
    local port=$1
    if command -v curl >/dev/null 2>&1; then
        curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$port/health" 2>/dev/null || echo 000
    else
        (
            exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 0
            printf 'GET /health HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$port" >&3
            head -n1 <&3 | awk '{print $2}'
        ) 2>/dev/null || echo 000
    fi
}

echo "== building (release server, load benchmark)"
cargo build --release --bin cauda
# The benchmark executable is run directly below (as `cargo bench` would run it, with --bench),
# so that a concurrent edit of the sources cannot trigger a rebuild between the two builds and
# the measurement. Its path comes from cargo's own build messages.
BENCH_EXE=$(cargo bench --bench load --no-run --message-format=json-render-diagnostics \
    | grep '"kind":\["bench"\]' | grep '"name":"load"' \
    | grep -o '"executable":"[^"]*"' | tail -n1 | cut -d'"' -f4)
[[ -n "$BENCH_EXE" && -x "$BENCH_EXE" ]] || { echo "run.sh: load benchmark executable not found" >&2; exit 1; }
[[ -x target/release/cauda ]] || { echo "run.sh: target/release/cauda not found after build" >&2; exit 1; }
TARGETS=0
for arg in "$@"; do [[ "$arg" == "--targets" ]] && TARGETS=1; done
if [[ "$TARGETS" == 1 ]]; then
    NULL_EXE=$(cargo bench --bench null_server --no-run --message-format=json-render-diagnostics \
        | grep '"kind":\["bench"\]' | grep '"name":"null_server"' \
        | grep -o '"executable":"[^"]*"' | tail -n1 | cut -d'"' -f4)
    [[ -n "$NULL_EXE" && -x "$NULL_EXE" ]] || { echo "run.sh: null server executable not found" >&2; exit 1; }
fi

WORK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/cauda-bench.XXXXXX")
# Private copies: other builds in this target dir may replace the files while we measure.
# The server is copied 4 KiB at a time: the page cache then holds it in 4 KiB pages, as it
# holds the linker's output that `cargo run --release` starts. A `cp` copy lands in large
# folios, which the kernel maps whole, and the idle RSS reads up to ~0.7 MiB more for the
# same process (benches/README.md, session 12).
mkdir -p "$WORK_DIR/bin"
dd if=target/release/cauda of="$WORK_DIR/bin/cauda" bs=4k status=none
chmod +x "$WORK_DIR/bin/cauda"
cp "$BENCH_EXE" "$WORK_DIR/bin/load"
if [[ "$TARGETS" == 1 ]]; then
    cp "$NULL_EXE" "$WORK_DIR/bin/null_server"
fi
BIN="$WORK_DIR/bin/cauda"
DATA_DIR="$WORK_DIR/data"
LOG="$WORK_DIR/server.log"
PORT=$(free_port)
ENDPOINT="http://127.0.0.1:$PORT"

# Word-splitting of the extra flags is intended.
# shellcheck disable=SC2206
EXTRA_ARGS=(${CAUDA_BENCH_SERVER_ARGS:-})

echo "== starting $BIN --bind 127.0.0.1:$PORT --data-dir $DATA_DIR ${EXTRA_ARGS[*]:-}"
RUST_LOG="${CAUDA_BENCH_RUST_LOG:-warn}" "$BIN" --bind "127.0.0.1:$PORT" --data-dir "$DATA_DIR" \
    ${EXTRA_ARGS[@]+"${EXTRA_ARGS[@]}"} >"$LOG" 2>&1 &
SERVER_PID=$!

ready=0
for _ in $(seq 1 300); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "run.sh: server exited before becoming healthy; its log:" >&2
        tail -n 50 "$LOG" >&2 || true
        exit 1
    fi
    if [[ "$(health_status "$PORT")" == "200" ]]; then
        ready=1
        break
    fi
    sleep 0.1
done
if [[ "$ready" != 1 ]]; then
    echo "run.sh: GET $ENDPOINT/health did not return 200 within 30 s; server log:" >&2
    tail -n 50 "$LOG" >&2 || true
    exit 1
fi

echo "== server pid $SERVER_PID ready at $ENDPOINT ($(nproc 2>/dev/null || echo '?') CPUs shared by server and load generator)"
sleep 1
RSS_IDLE=$(rss_line "$SERVER_PID")
echo "== server RSS idle, before load: $RSS_IDLE"
LOAD_BEFORE=$(cut -d" " -f1-3 /proc/loadavg 2>/dev/null || echo "?")
echo "== load average before: $LOAD_BEFORE (other processes on this machine skew the figures)"

PROBE_ARGS=()
if [[ "${CAUDA_BENCH_DISK_PROBE:-1}" != "0" && -d "$DATA_DIR" ]]; then
    PROBE_ARGS=(--disk-probe-dir "$DATA_DIR")
fi

# With --targets, the null server (canned replies) times send-1 with no server work: this
# machine's ceiling for the one-connection target.
if [[ "$TARGETS" == 1 ]]; then
    NULL_PORT=$(free_port)
    "$WORK_DIR/bin/null_server" --bench --bind "127.0.0.1:$NULL_PORT" --max-secs 3600 \
        >"$WORK_DIR/null.log" 2>&1 &
    NULL_PID=$!
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$NULL_PORT") 2>/dev/null && break
        sleep 0.05
    done
    PROBE_ARGS+=(--null-endpoint "http://127.0.0.1:$NULL_PORT")
fi

set +e
echo "== $BENCH_EXE --bench --endpoint $ENDPOINT ${PROBE_ARGS[*]:-} $*"
"$WORK_DIR/bin/load" --bench --endpoint "$ENDPOINT" ${PROBE_ARGS[@]+"${PROBE_ARGS[@]}"} "$@"
BENCH_STATUS=$?
set -e

if kill -0 "$SERVER_PID" 2>/dev/null; then
    RSS_AFTER=$(rss_line "$SERVER_PID")
else
    RSS_AFTER="n/a (server is gone!)"
    echo "!!! run.sh: the server died during the benchmark; last log lines:" >&2
    tail -n 50 "$LOG" >&2 || true
    [[ "$BENCH_STATUS" == 0 ]] && BENCH_STATUS=1
fi
DATA_SIZE=$(du -sh "$DATA_DIR" 2>/dev/null | cut -f1 || echo '?')

echo
echo "== server RSS idle, before load: $RSS_IDLE"
echo "== server RSS after load:        $RSS_AFTER"
echo "== data dir size after load:     $DATA_SIZE"
echo "== load average before / after:  $LOAD_BEFORE / $(cut -d" " -f1-3 /proc/loadavg 2>/dev/null || echo "?")"
WARNS=$(grep -c -E 'WARN|ERROR' "$LOG" 2>/dev/null || true)
if [[ "${WARNS:-0}" != "0" ]]; then
    echo "== server logged $WARNS WARN/ERROR line(s); first ones:"
    grep -E 'WARN|ERROR' "$LOG" | head -n 5
fi
if [[ "$BENCH_STATUS" != 0 ]]; then
    echo "!!! run.sh: benchmark exited with status $BENCH_STATUS" >&2
fi
exit "$BENCH_STATUS"
