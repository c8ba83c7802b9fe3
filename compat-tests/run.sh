#!/usr/bin/env bash
# Compatibility tests: real AWS clients against a freshly built cauda.
#
#   compat-tests/run.sh            # from anywhere
#
# Suites (run concurrently, each against its own uniquely named queues):
#   json     boto3/botocore (current, AWS JSON 1.0)                     python/json_tests
#   query    botocore/boto3 1.34.89 + awscli 1.32.89 (Query)             python/query_tests
#   js       @aws-sdk/client-sqs v3 under `node --test`                  js/test
#   awscli2  AWS CLI v2 2.9.19, Debian's `awscli` (/usr/bin/aws, Query)  awscli2/
#   go       aws-sdk-go-v2, Debian's golang-github-aws-aws-sdk-go-v2-dev
#            (service/sqs 1.19.x, Query), `go test` in GOPATH mode       go/
#   jsv2     aws-sdk (JS v2) 2.1490.0, the last Query release            js-v2/test
#   console  the web console in Debian's `chromium` (playwright-core), checked with
#            @aws-sdk/client-sqs v3 under `node --test`; screenshots go to
#            target/console-screenshots/ (CONSOLE_SCREENSHOTS)              console/test
# awscli2, go and console need Debian packages (awscli; golang-go +
# golang-github-aws-aws-sdk-go-v2-dev; chromium): if they are missing, this script installs them with
# apt-get (sudo when not root). A suite whose setup fails counts as failed.
#
# Environment knobs (all optional):
#   COMPAT_SUITES="json query js awscli2 go jsv2 console"   which suites to run
#   COMPAT_SKIP_BUILD=1             do not run cargo build (use the existing binary)
#   CAUDA_BIN=/path/to/cauda        binary to test (default target/release/cauda)
#   COMPAT_PYTEST_ARGS="-k purge"   extra pytest arguments (json and query suites)
#   COMPAT_SERIAL=1                 run the suites one after another
#   COMPAT_SUITE_TIMEOUT=420        seconds before a suite is killed (counts as failed)
#   COMPAT_BACKEND=postgres         the servers on the postgres backend, each over a fresh
#                                   database of the cluster COMPAT_DATABASE_URL names (psql
#                                   creates it; `.ci/postgres start` prints such a URL);
#                                   default: --in-memory
#
# The very last line printed is "N passed, N failed, N skipped"; the exit
# status is non-zero if anything failed or a suite could not run.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PYTHON="${PYTHON:-python3}"
SUITES="${COMPAT_SUITES:-json query js awscli2 go jsv2 console}"
SUITE_TIMEOUT="${COMPAT_SUITE_TIMEOUT:-420}"
BIN="${CAUDA_BIN:-$ROOT/target/release/cauda}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/cauda-compat.XXXXXX")"

SERVER_PIDS=()
stop_servers() {
  local pid
  for pid in "${SERVER_PIDS[@]:-}"; do
    [[ -n "$pid" ]] || continue
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  SERVER_PIDS=()
}
cleanup() {
  stop_servers
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '==> %s\n' "$*"; }

# Abort before any suite ran: still end with a parsable count line.
die() {
  printf 'compat-tests: %s\n' "$*" >&2
  stop_servers
  echo "0 passed, 1 failed"
  exit 1
}

# ------------------------------------------------------------------ build
if [[ "${COMPAT_SKIP_BUILD:-0}" != 1 && -z "${CAUDA_BIN:-}" ]]; then
  log "cargo build --release --locked --bin cauda"
  (cd "$ROOT" && cargo build --release --locked --bin cauda) || die "cargo build failed"
fi
[[ -x "$BIN" ]] || die "no server binary at $BIN"

# ------------------------------------------------------------------ deps
want() { [[ " $SUITES " == *" $1 "* ]]; }

# The install functions are called as `setup_x || die` / `|| setup_failed`, where bash ignores
# `set -e` inside them: every step is checked explicitly, and the stamp that lets the next run
# skip the install is written only after everything succeeded.
setup_venv() { # name requirements-file
  local venv="$HERE/.venv-$1" req="$2" stamp hash
  stamp="$venv/.requirements.sha256"
  hash="$( { cat "$req" && "$PYTHON" --version 2>&1; } | sha256sum | cut -d' ' -f1)" || return 1
  if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$hash" ]]; then
    return 0
  fi
  log "creating $venv from $(basename "$req")"
  rm -rf "$venv" || return 1
  "$PYTHON" -m venv "$venv" || { echo "compat-tests: $PYTHON -m venv $venv failed" >&2; return 1; }
  "$venv/bin/python" -m pip install --disable-pip-version-check --no-input -q -r "$req" \
    || { echo "compat-tests: pip install -r $req failed" >&2; return 1; }
  echo "$hash" > "$stamp" || return 1
}

setup_node() { # [dir under compat-tests, default js]
  local dir="$HERE/${1:-js}" stamp hash
  stamp="$dir/node_modules/.cauda-lock.sha256"
  hash="$( { cat "$dir/package-lock.json" && node --version; } | sha256sum | cut -d' ' -f1)" || return 1
  if [[ -d "$dir/node_modules" && -f "$stamp" && "$(cat "$stamp")" == "$hash" ]]; then
    return 0
  fi
  log "npm ci in $dir"
  rm -f "$stamp" || return 1
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) \
    || { echo "compat-tests: npm ci in $dir failed" >&2; return 1; }
  echo "$hash" > "$stamp" || return 1
}

if want json; then setup_venv json "$HERE/python/requirements-json.txt" || die "could not build .venv-json"; fi
if want query; then setup_venv query "$HERE/python/requirements-query.txt" || die "could not build .venv-query"; fi
if want js; then setup_node || die "npm ci failed"; fi

# The Debian-packaged clients (awscli2, go). A suite whose setup fails is not run and is
# counted as failed in the summary; the other suites still run.
declare -A SETUP_FAILED=()
setup_failed() { # suite reason
  SETUP_FAILED[$1]="$2"
  printf 'compat-tests: suite %s cannot run: %s\n' "$1" "$2" >&2
}
deb_installed() { [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]; }
GO_SQS="/usr/share/gocode/src/github.com/aws/aws-sdk-go-v2/service/sqs"
DEBS=()
if want awscli2 && { ! deb_installed awscli || [[ ! -x /usr/bin/aws ]]; }; then DEBS+=(awscli); fi
if want go; then
  for pkg in golang-go golang-github-aws-aws-sdk-go-v2-dev; do
    deb_installed "$pkg" || DEBS+=("$pkg")
  done
  [[ -x /usr/bin/go && -d "$GO_SQS" ]] || DEBS+=(golang-go golang-github-aws-aws-sdk-go-v2-dev)
fi
if want console && [[ ! -x /usr/bin/chromium ]]; then DEBS+=(chromium); fi
if (( ${#DEBS[@]} > 0 )); then
  SUDO=()
  [[ "$(id -u)" == 0 ]] || SUDO=(sudo)
  # shellcheck disable=SC2207
  DEBS=($(printf '%s\n' "${DEBS[@]}" | sort -u))
  log "apt-get install ${DEBS[*]}"
  if ! { "${SUDO[@]}" apt-get update -q \
         && "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${DEBS[@]}"; }; then
    echo "compat-tests: apt-get install ${DEBS[*]} failed" >&2
  fi
fi

if want awscli2; then
  AWSCLI2_VERSION="$(/usr/bin/aws --version 2>&1 || true)"
  if [[ "$AWSCLI2_VERSION" != aws-cli/2.* ]]; then
    setup_failed awscli2 "/usr/bin/aws is not AWS CLI v2 (${AWSCLI2_VERSION:-missing})"
  elif ! setup_venv awscli2 "$HERE/awscli2/requirements.txt"; then
    setup_failed awscli2 "could not build .venv-awscli2"
  else
    log "awscli2: $AWSCLI2_VERSION"
  fi
fi

if want go; then
  if [[ ! -x /usr/bin/go || ! -f "$GO_SQS/go_module_metadata.go" ]]; then
    setup_failed go "/usr/bin/go or the packaged aws-sdk-go-v2 ($GO_SQS) is missing"
  else
    log "go: $(/usr/bin/go version), aws-sdk-go-v2 service/sqs $(sed -n 's/.*goModuleVersion = "\(.*\)"/\1/p' "$GO_SQS/go_module_metadata.go")" \
      "(golang-github-aws-aws-sdk-go-v2-dev $(dpkg-query -W -f='${Version}' golang-github-aws-aws-sdk-go-v2-dev 2>/dev/null))"
    # Offline GOPATH build against Debian's packaged sources; the test binary goes to $WORK.
    if ! (cd "$HERE/go" && GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOTOOLCHAIN=local \
          GOCACHE="${GOCACHE:-${HOME:-$WORK}/.cache/go-build}" \
          /usr/bin/go test -c -o "$WORK/go-compat.test" .); then
      setup_failed go "go test -c failed"
    fi
  fi
fi

if want jsv2; then setup_node js-v2 || setup_failed jsv2 "npm ci in js-v2 failed"; fi

if want console; then
  if [[ ! -x /usr/bin/chromium ]]; then
    setup_failed console "/usr/bin/chromium is missing (Debian package chromium)"
  elif ! setup_node console; then
    setup_failed console "npm ci in console failed"
  else
    log "console: $(/usr/bin/chromium --version 2>/dev/null || echo 'chromium (version unknown)')"
  fi
fi

# ------------------------------------------------------------------ servers
free_port() {
  "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# The backend flags of the servers (COMPAT_BACKEND), in BACKEND_ARGS; each call makes a
# fresh database on postgres.
BACKEND="${COMPAT_BACKEND:-memory}"
backend_args() { # server name
  case "$BACKEND" in
    memory) BACKEND_ARGS=(--in-memory) ;;
    postgres)
      [[ -n "${COMPAT_DATABASE_URL:-}" ]] || die "COMPAT_BACKEND=postgres needs COMPAT_DATABASE_URL"
      local db="cauda_compat_${1}_$$_${RANDOM}"
      psql "$COMPAT_DATABASE_URL" -qAt -v ON_ERROR_STOP=1 -c "CREATE DATABASE $db" >/dev/null \
        || die "cannot create database $db on $COMPAT_DATABASE_URL"
      BACKEND_ARGS=(--backend postgres --database-url "${COMPAT_DATABASE_URL%/*}/$db")
      ;;
    *) die "COMPAT_BACKEND=$BACKEND: expected memory or postgres" ;;
  esac
}

start_server() { # logfile args...
  local logfile="$1"; shift
  "$BIN" "$@" >"$logfile" 2>&1 &
  SERVER_PIDS+=("$!")
}

wait_ready() { # url pid logfile
  local url="$1" pid="$2" logfile="$3" deadline=$((SECONDS + 20))
  while (( SECONDS < deadline )); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "--- server log ($logfile) ---" >&2; tail -n 50 "$logfile" >&2 || true
      return 1
    fi
    if "$PYTHON" - "$url" <<'PY' 2>/dev/null
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1] + "/health", timeout=1) as r:
    sys.exit(0 if r.status == 200 else 1)
PY
    then return 0; fi
    sleep 0.2
  done
  echo "--- server log ($logfile) ---" >&2; tail -n 50 "$logfile" >&2 || true
  return 1
}

PORT="$(free_port)"
backend_args main
start_server "$WORK/server.log" --bind "127.0.0.1:$PORT" "${BACKEND_ARGS[@]}"
MAIN_PID="${SERVER_PIDS[-1]}"
STRICT_PORT="$(free_port)"
while [[ "$STRICT_PORT" == "$PORT" ]]; do STRICT_PORT="$(free_port)"; done
backend_args strict
start_server "$WORK/server-strict.log" --bind "127.0.0.1:$STRICT_PORT" "${BACKEND_ARGS[@]}" --auth strict \
  --credentials AKIDCOMPAT:compatsecret:111111111111 --credentials AKIDOTHER:othersecret:222222222222
STRICT_PID="${SERVER_PIDS[-1]}"

export CAUDA_ENDPOINT="http://127.0.0.1:$PORT"
export CAUDA_STRICT_ENDPOINT="http://127.0.0.1:$STRICT_PORT"
wait_ready "$CAUDA_ENDPOINT" "$MAIN_PID" "$WORK/server.log" || die "server did not become ready on $CAUDA_ENDPOINT"
wait_ready "$CAUDA_STRICT_ENDPOINT" "$STRICT_PID" "$WORK/server-strict.log" \
  || die "strict server did not become ready on $CAUDA_STRICT_ENDPOINT"
log "servers ready: $CAUDA_ENDPOINT (auto) and $CAUDA_STRICT_ENDPOINT (strict), backend $BACKEND"

# Keep the clients away from any AWS configuration on this machine.
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_SQS || true
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
export PYTHONDONTWRITEBYTECODE=1 NODE_NO_WARNINGS=1

# ------------------------------------------------------------------ suites
# shellcheck disable=SC2206
PYTEST_EXTRA=(${COMPAT_PYTEST_ARGS:-})

run_suite() { # name
  local name="$1" rc=0 start="$SECONDS"
  case "$name" in
    json)
      timeout -k 10 "$SUITE_TIMEOUT" "$HERE/.venv-json/bin/python" -m pytest -p no:cacheprovider \
        -q -rfE --tb=short --rootdir="$HERE/python" --confcutdir="$HERE/python" --junitxml="$WORK/json.xml" "${PYTEST_EXTRA[@]}" "$HERE/python/json_tests" \
        >"$WORK/json.log" 2>&1 || rc=$?
      ;;
    query)
      timeout -k 10 "$SUITE_TIMEOUT" "$HERE/.venv-query/bin/python" -m pytest -p no:cacheprovider \
        -q -rfE --tb=short --rootdir="$HERE/python" --confcutdir="$HERE/python" --junitxml="$WORK/query.xml" "${PYTEST_EXTRA[@]}" "$HERE/python/query_tests" \
        >"$WORK/query.log" 2>&1 || rc=$?
      ;;
    js)
      (cd "$HERE/js" && timeout -k 10 "$SUITE_TIMEOUT" node --test --test-reporter=tap test/*.test.mjs) \
        >"$WORK/js.log" 2>&1 || rc=$?
      ;;
    awscli2)
      timeout -k 10 "$SUITE_TIMEOUT" "$HERE/.venv-awscli2/bin/python" -m pytest -p no:cacheprovider \
        -q -rfE --tb=short --rootdir="$HERE/awscli2" --confcutdir="$HERE/awscli2" --junitxml="$WORK/awscli2.xml" "$HERE/awscli2" \
        >"$WORK/awscli2.log" 2>&1 || rc=$?
      ;;
    go)
      (cd "$HERE/go" && timeout -k 10 "$SUITE_TIMEOUT" "$WORK/go-compat.test" -test.v -test.count=1 \
        -test.timeout="$((SUITE_TIMEOUT - 5))s") >"$WORK/go.log" 2>&1 || rc=$?
      ;;
    jsv2)
      (cd "$HERE/js-v2" && AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE=1 \
        timeout -k 10 "$SUITE_TIMEOUT" node --test --test-reporter=tap test/*.test.mjs) \
        >"$WORK/jsv2.log" 2>&1 || rc=$?
      ;;
    console)
      (cd "$HERE/console" && timeout -k 10 "$SUITE_TIMEOUT" node --test --test-reporter=tap test/*.test.mjs) \
        >"$WORK/console.log" 2>&1 || rc=$?
      ;;
  esac
  echo "$((SECONDS - start))" >"$WORK/$name.secs"
  echo "$rc" >"$WORK/$name.rc"
}

SUITE_PIDS=()
for s in $SUITES; do
  case "$s" in json|query|js|awscli2|go|jsv2|console) ;; *) die "unknown suite '$s'";; esac
  if [[ -n "${SETUP_FAILED[$s]:-}" ]]; then
    echo "setup failed: ${SETUP_FAILED[$s]}" >"$WORK/$s.log"
    echo 1 >"$WORK/$s.rc"
    continue
  fi
  log "running suite $s"
  if [[ "${COMPAT_SERIAL:-0}" == 1 ]]; then
    run_suite "$s"
  else
    run_suite "$s" &
    SUITE_PIDS+=("$!")
  fi
done
for pid in "${SUITE_PIDS[@]:-}"; do
  [[ -n "$pid" ]] && { wait "$pid" || true; }
done

# ------------------------------------------------------------------ report
count_suite() { # name -> "passed failed skipped"
  local name="$1"
  case "$name" in
    json|query|awscli2)
      "$PYTHON" - "$WORK/$name.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception:
    print("0 0 0 missing"); sys.exit()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
t = f = e = s = 0
for su in suites:
    t += int(su.get("tests", 0)); f += int(su.get("failures", 0))
    e += int(su.get("errors", 0)); s += int(su.get("skipped", 0))
print(t - f - e - s, f + e, s)
PY
      ;;
    js|jsv2|console)
      local p f c k
      p="$(grep -E '^# pass [0-9]+' "$WORK/$name.log" | tail -n1 | awk '{print $3}')"
      f="$(grep -E '^# fail [0-9]+' "$WORK/$name.log" | tail -n1 | awk '{print $3}')"
      c="$(grep -E '^# cancelled [0-9]+' "$WORK/$name.log" | tail -n1 | awk '{print $3}')"
      k="$(grep -E '^# skipped [0-9]+' "$WORK/$name.log" | tail -n1 | awk '{print $3}')"
      if [[ -z "$p" || -z "$f" ]]; then echo "0 0 0 missing"; else echo "$p $((f + ${c:-0})) ${k:-0}"; fi
      ;;
    go)
      # `-test.v` prints one "--- PASS|FAIL|SKIP: TestName" line per top-level test at
      # column 0 (subtests are indented). A build/run failure with none of them is "missing".
      local p f k
      p="$(grep -cE '^--- PASS: ' "$WORK/go.log" || true)"
      f="$(grep -cE '^--- FAIL: ' "$WORK/go.log" || true)"
      k="$(grep -cE '^--- SKIP: ' "$WORK/go.log" || true)"
      if (( p + f + k == 0 )); then echo "0 0 0 missing"; else echo "$p $f $k"; fi
      ;;
  esac
}

TOTAL_P=0 TOTAL_F=0 TOTAL_S=0
SUMMARY=()
for s in $SUITES; do
  echo
  echo "==================== suite: $s ===================="
  cat "$WORK/$s.log" 2>/dev/null || echo "(no output)"
  read -r p f k missing < <(count_suite "$s")
  rc="$(cat "$WORK/$s.rc" 2>/dev/null || echo 99)"
  note=""
  if [[ -n "${SETUP_FAILED[$s]:-}" ]]; then
    p=0 f=1 k=0 note=" (setup failed: ${SETUP_FAILED[$s]})"
  elif [[ -n "${missing:-}" ]]; then
    f=$((f + 1)); note=" (suite produced no results; exit $rc)"
  elif [[ "$rc" != 0 && "$f" == 0 ]]; then
    f=1; note=" (suite exited $rc)"
  fi
  TOTAL_P=$((TOTAL_P + p)); TOTAL_F=$((TOTAL_F + f)); TOTAL_S=$((TOTAL_S + k))
  secs="$(cat "$WORK/$s.secs" 2>/dev/null || echo 0)"
  SUMMARY+=("$(printf '  %-7s %4d passed, %3d failed, %3d skipped  %4ss%s' "$s" "$p" "$f" "$k" "$secs" "$note")")
  missing=""
done

for pid_log in "$MAIN_PID:$WORK/server.log" "$STRICT_PID:$WORK/server-strict.log"; do
  pid="${pid_log%%:*}"; lf="${pid_log#*:}"
  if ! kill -0 "$pid" 2>/dev/null; then
    echo
    echo "!! server $lf exited during the run; last lines:"
    tail -n 40 "$lf" || true
    TOTAL_F=$((TOTAL_F + 1))
  fi
done
if (( TOTAL_F > 0 )); then
  echo
  echo "--- last server log lines ($WORK/server.log) ---"
  tail -n 20 "$WORK/server.log" 2>/dev/null || true
fi
stop_servers

echo
echo "compat-tests summary:"
printf '%s\n' "${SUMMARY[@]}"
if (( TOTAL_S > 0 )); then
  echo "$TOTAL_P passed, $TOTAL_F failed, $TOTAL_S skipped"
else
  echo "$TOTAL_P passed, $TOTAL_F failed"
fi
(( TOTAL_F == 0 ))
