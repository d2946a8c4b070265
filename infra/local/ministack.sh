#!/usr/bin/env bash
# Start / stop the local AWS emulator (ministack) on loopback, in the background.
#
#   infra/local/ministack.sh start    start it unless it already answers; wait until ready
#   infra/local/ministack.sh stop     stop the instance this script started (pid file)
#   infra/local/ministack.sh status   exit 0 when it answers on MINISTACK_PORT
#
# State lives in .local/ministack/ (pid file, log, TMPDIR of the emulator and of the
# function processes it spawns); nothing is written outside .local/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PORT="${MINISTACK_PORT:-4566}"
STATE="$ROOT/.local/ministack"
PID_FILE="$STATE/ministack.pid"
LOG_FILE="$STATE/ministack.log"
BIN="${MINISTACK_BIN:-$ROOT/.local/stack/bin/ministack}"
ENDPOINT="http://127.0.0.1:$PORT"

answers() { curl -sf -o /dev/null --max-time 2 "$ENDPOINT/_ministack/health"; }
ready() { curl -sf -o /dev/null --max-time 2 "$ENDPOINT/_ministack/ready"; }

our_pid() {
    # The pid from our pid file, if that process is still a ministack.
    [[ -f "$PID_FILE" ]] || return 1
    local pid
    pid="$(cat "$PID_FILE")"
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null \
        && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q ministack \
        && echo "$pid"
}

start() {
    if answers; then
        if our_pid >/dev/null; then
            echo "ministack: already running on $ENDPOINT (pid $(cat "$PID_FILE"))"
        else
            echo "ministack: something already answers on $ENDPOINT (not started by this repo); reusing it" >&2
        fi
        return 0
    fi
    if pid="$(our_pid)"; then
        echo "ministack: pid $pid is alive but does not answer; restarting it" >&2
        stop
    fi
    [[ -x "$BIN" ]] || { echo "ministack: $BIN not found (run 'make tools')" >&2; exit 1; }
    rm -rf "$STATE/tmp"
    mkdir -p "$STATE/tmp"
    # Function processes inherit this environment: their SDK calls must come back here,
    # with dummy credentials. Loopback only (BIND_HOST), and no MQTT/SFTP listeners.
    (
        cd "$STATE"
        export GATEWAY_PORT="$PORT" BIND_HOST=127.0.0.1 IOT_MTLS_ENABLED=0 SFTP_ENABLED=0 \
            AWS_ENDPOINT_URL="$ENDPOINT" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
            AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 MINISTACK_REGION=us-east-1 \
            TMPDIR="$STATE/tmp" STATE_DIR="$STATE/tmp/state" S3_DATA_DIR="$STATE/tmp/s3"
        unset AWS_PROFILE AWS_SESSION_TOKEN
        # setsid: own session and process group, so `stop` can end the emulator together
        # with the function processes it spawned, and nothing else.
        nohup setsid "$BIN" </dev/null >"$LOG_FILE" 2>&1 &
        echo $! >"$PID_FILE"
    )
    local pid
    pid="$(cat "$PID_FILE")"
    for _ in $(seq 1 300); do
        if ready; then
            echo "ministack: started on $ENDPOINT (pid $pid, log ${LOG_FILE#"$ROOT"/})"
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "ministack: exited during start-up; last lines of $LOG_FILE:" >&2
            tail -n 30 "$LOG_FILE" >&2
            rm -f "$PID_FILE"
            exit 1
        fi
        sleep 0.2
    done
    echo "ministack: not ready after 60 s; see $LOG_FILE" >&2
    exit 1
}

stop() {
    local pid
    if ! pid="$(our_pid)"; then
        rm -f "$PID_FILE"
        if answers; then
            echo "ministack: $ENDPOINT answers but was not started by this repo; left alone" >&2
        else
            echo "ministack: not running"
        fi
        rm -rf "$STATE/tmp"
        return 0
    fi
    # The emulator leads its own process group (setsid): TERM the group, i.e. the
    # emulator and the function processes it spawned.
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "ministack: pid $pid ignored TERM; killing it" >&2
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    # Function workers that started their own session are not in the group: end the
    # ones whose working environment is ours (their TMPDIR is under $STATE).
    local p
    for p in $(pgrep -f "$STATE/tmp" 2>/dev/null || true); do
        kill -TERM "$p" 2>/dev/null || true
    done
    rm -f "$PID_FILE"
    rm -rf "$STATE/tmp"
    echo "ministack: stopped (pid $pid)"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) answers ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
