#!/usr/bin/env python3
"""Print the log lines of the deployed local functions, apart from the emulator's own lines
(`make logs`).

    logs.py [--function files] [--since 15m] [--grep TEXT] [--follow]

Reads the functions' CloudWatch Logs groups (`/aws/lambda/<name>`) on the local stack that
.local/env describes. --function takes a function's short name (its package under functions/:
buckets, files, data, upload-events, cascade) and may be repeated; without it every function's
lines are printed, oldest first, each prefixed with its time and function. --since takes
seconds, minutes or hours (`90s`, `15m`, `2h`) or ms since the epoch. --grep keeps the lines
that contain a text. --follow keeps printing new lines until interrupted.
"""

import argparse
import os
import re
import sys
import time
from datetime import datetime

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from function_env import ROOT, client, local_env  # noqa: E402

ENV_FILE = ROOT / ".local" / "env"


def short_name(deployed: str) -> str:
    """`buckets-local-UploadEventsFunction-AbC123` -> `upload-events` (the template's naming
    rule: <Name>Function is the package functions/<name>/)."""
    match = re.search(r"([A-Z][A-Za-z0-9]*?)Function(?:-|$)", deployed)
    if not match:
        return deployed
    return re.sub(r"(?<!^)([A-Z])", r"-\1", match.group(1)).lower()


def since_ms(text: str) -> int:
    match = re.fullmatch(r"(\d+)([smh]?)", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration (90s, 15m, 2h) nor ms: {text!r}")
    value, unit = int(match.group(1)), match.group(2)
    if not unit:
        return value
    seconds = value * {"s": 1, "m": 60, "h": 3600}[unit]
    return int(time.time() * 1000) - seconds * 1000


def events(logs, group: str, start_ms: int) -> list[dict]:
    found = []
    kwargs = {"logGroupName": group, "startTime": start_ms}
    while True:
        try:
            page = logs.filter_log_events(**kwargs)
        except logs.exceptions.ResourceNotFoundException:
            return found  # the function has not run yet
        found.extend(page.get("events", []))
        token = page.get("nextToken")
        if not token:
            return found
        kwargs["nextToken"] = token


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--function", action="append", default=[],
                        help="short name (files, upload-events, ...); repeatable; default all")
    parser.add_argument("--since", type=since_ms, default="15m")
    parser.add_argument("--grep", default="")
    parser.add_argument("--follow", action="store_true")
    args = parser.parse_args()

    if not ENV_FILE.exists():
        print("logs: no local stack described in .local/env: run `make local` first", file=sys.stderr)
        return 1
    env = local_env()
    deployed = {short_name(n): n for n in env.get("BUCKETS_FUNCTIONS", "").split(",") if n}
    wanted = args.function or sorted(deployed)
    unknown = [f for f in wanted if f not in deployed]
    if unknown:
        print(f"logs: no deployed function {', '.join(unknown)}; the stack has: "
              f"{', '.join(sorted(deployed))}", file=sys.stderr)
        return 1

    logs = client("logs", env)
    width = max(len(f) for f in wanted)
    start = args.since
    seen: set[str] = set()
    while True:
        batch = []
        for name in wanted:
            for event in events(logs, f"/aws/lambda/{deployed[name]}", start):
                key = event.get("eventId") or f"{event.get('timestamp')}{event.get('message')}"
                if key in seen:
                    continue
                seen.add(key)
                batch.append((event.get("timestamp", 0), name, event.get("message", "").rstrip("\n")))
        batch.sort(key=lambda e: e[0])
        for ts, name, message in batch:
            if args.grep in message:
                stamp = datetime.fromtimestamp(ts / 1000).strftime("%H:%M:%S.%f")[:-3]
                print(f"{stamp} {name:<{width}} {message}", flush=True)
        if not args.follow:
            return 0
        if batch:
            start = max(start, batch[-1][0])
        time.sleep(1)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
    except BrokenPipeError:  # piped into head and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
