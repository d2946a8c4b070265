#!/usr/bin/env bash
# Start / stop the local AWS emulator (ministack) on loopback, in the background, with its
# SFTP listener (AWS Transfer Family) on loopback too.
#
#   infra/local/ministack.sh start    start it unless it already answers; wait until ready
#   infra/local/ministack.sh stop     stop the instance this script started (pid file)
#   infra/local/ministack.sh status   say what runs: on which port, which pid, or why nothing
#                                     does; exit 0 when something answers on MINISTACK_PORT
#
# MINISTACK_PORT (default 4566) picks the port. One emulator per clone: its state lives in
# .local/ministack/ (pid file, port file, log, TMPDIR of the emulator and of the function
# processes it spawns); nothing is written outside .local/. For a second stack beside the
# first, use a second clone (or git worktree) with another MINISTACK_PORT.
#
# The emulator runs through infra/local/ministack_bridged.py, which bridges ministack 1.5.33's
# Transfer Family gaps (session policies, UpdateUser, versioned SFTP writes; see its docstring).
# Its SFTP listener serves every Transfer server on 127.0.0.1:SFTP_PORT, by default
# 2222 + MINISTACK_PORT - 4566 (2222 for 4566), so a second clone gets its own; the port is
# written to .local/ministack/sftp.port.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PORT="${MINISTACK_PORT:-4566}"
STATE="$ROOT/.local/ministack"
PID_FILE="$STATE/ministack.pid"
PORT_FILE="$STATE/ministack.port"
SFTP_PORT_FILE="$STATE/sftp.port"
LOG_FILE="$STATE/ministack.log"
PYTHON="$ROOT/.local/stack/bin/python3"
BRIDGED="$ROOT/infra/local/ministack_bridged.py"
SFTP_PORT="${SFTP_PORT:-$((2222 + PORT - 4566))}"
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

# The port this clone's emulator was started on ("" when unknown).
our_port() { cat "$PORT_FILE" 2>/dev/null || true; }

# The pid of this clone's emulator when it was started on $PORT (or on an unknown port).
our_pid_here() {
    local pid port
    pid="$(our_pid)" || return 1
    port="$(our_port)"
    [[ -z "$port" || "$port" == "$PORT" ]] && echo "$pid"
}

# Refuses to act on MINISTACK_PORT while this clone's emulator runs on another port.
same_port_or_exit() {
    local pid="$1" port
    port="$(our_port)"
    if [[ -n "$port" && "$port" != "$PORT" ]]; then
        echo "ministack: this clone's emulator runs on http://127.0.0.1:$port (pid $pid), not on port $PORT;" \
            "use MINISTACK_PORT=$port (one emulator per clone: a second one needs another clone or worktree)" >&2
        exit 1
    fi
}

start() {
    if answers; then
        if our_pid_here >/dev/null; then
            echo "ministack: already running on $ENDPOINT (pid $(cat "$PID_FILE"))"
        else
            echo "ministack: something already answers on $ENDPOINT (not started by this repo); reusing it" >&2
        fi
        return 0
    fi
    if pid="$(our_pid)"; then
        same_port_or_exit "$pid"
        echo "ministack: pid $pid is alive but does not answer; restarting it" >&2
        stop
    fi
    [[ -x "$PYTHON" ]] || { echo "ministack: $PYTHON not found (run 'make tools')" >&2; exit 1; }
    rm -rf "$STATE/tmp"
    mkdir -p "$STATE/tmp"
    # Function processes inherit this environment: their SDK calls must come back here,
    # with dummy credentials. Loopback only (BIND_HOST, SFTP_HOST), no MQTT listener.
    (
        cd "$STATE"
        export GATEWAY_PORT="$PORT" BIND_HOST=127.0.0.1 IOT_MTLS_ENABLED=0 \
            SFTP_ENABLED=1 SFTP_HOST=127.0.0.1 SFTP_PORT="$SFTP_PORT" \
            AWS_ENDPOINT_URL="$ENDPOINT" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
            AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 MINISTACK_REGION=us-east-1 \
            TMPDIR="$STATE/tmp" STATE_DIR="$STATE/tmp/state" S3_DATA_DIR="$STATE/tmp/s3"
        unset AWS_PROFILE AWS_SESSION_TOKEN
        # setsid: own session and process group, so `stop` can end the emulator together
        # with the function processes it spawned, and nothing else.
        nohup setsid "$PYTHON" "$BRIDGED" </dev/null >"$LOG_FILE" 2>&1 &
        echo $! >"$PID_FILE"
        echo "$PORT" >"$PORT_FILE"
        echo "$SFTP_PORT" >"$SFTP_PORT_FILE"
    )
    local pid
    pid="$(cat "$PID_FILE")"
    for _ in $(seq 1 300); do
        if ready; then
            echo "ministack: started on $ENDPOINT (pid $pid, SFTP on 127.0.0.1:$SFTP_PORT, log ${LOG_FILE#"$ROOT"/})"
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
        rm -f "$PID_FILE" "$PORT_FILE" "$SFTP_PORT_FILE"
        if answers; then
            echo "ministack: $ENDPOINT answers but was not started by this repo; left alone" >&2
        else
            echo "ministack: not running"
        fi
        rm -rf "$STATE/tmp"
        return 0
    fi
    same_port_or_exit "$pid"
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
    rm -f "$PID_FILE" "$PORT_FILE" "$SFTP_PORT_FILE"
    rm -rf "$STATE/tmp"
    echo "ministack: stopped (pid $pid)"
}

# Says what it found; exit 0 when something answers on $ENDPOINT (a stack to reuse).
status() {
    local pid port log="${LOG_FILE#"$ROOT"/}"
    port="$(our_port)"
    if answers; then
        if pid="$(our_pid_here)"; then
            local state="ready"
            ready || state="answering, not ready yet"
            echo "ministack: running on $ENDPOINT (pid $pid, started by this clone; $state;" \
                "SFTP on 127.0.0.1:$(cat "$SFTP_PORT_FILE" 2>/dev/null || echo "?"); log $log)"
        elif pid="$(our_pid)"; then
            echo "ministack: something answers on $ENDPOINT, but not the emulator this clone started" \
                "(that one runs on http://127.0.0.1:$port, pid $pid: use MINISTACK_PORT=$port)"
        else
            echo "ministack: something answers on $ENDPOINT, but not an emulator this clone started" \
                "(no live pid in ${PID_FILE#"$ROOT"/}); make local and make e2e reuse it"
        fi
        return 0
    fi
    if pid="$(our_pid)"; then
        if [[ -n "$port" && "$port" != "$PORT" ]]; then
            echo "ministack: not running on $ENDPOINT; this clone's emulator runs on" \
                "http://127.0.0.1:$port (pid $pid): use MINISTACK_PORT=$port"
        else
            echo "ministack: pid $pid (started by this clone) is alive but does not answer on $ENDPOINT:" \
                "still starting, or hung (see $log; make stop ends it)"
        fi
    elif [[ -f "$PID_FILE" ]]; then
        echo "ministack: not running on $ENDPOINT: pid $(cat "$PID_FILE") from ${PID_FILE#"$ROOT"/}" \
            "has exited (the end of $log says why); make local starts it again"
    elif curl -s -o /dev/null --max-time 2 "$ENDPOINT/" 2>/dev/null; then
        echo "ministack: not running on $ENDPOINT: something else listens there (not ministack's health check);" \
            "pick another MINISTACK_PORT"
    else
        echo "ministack: not running on $ENDPOINT: nothing listens there, and no emulator of this clone runs" \
            "(no ${PID_FILE#"$ROOT"/}: never started, or stopped); make local starts it"
    fi
    return 1
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
