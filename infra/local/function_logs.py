#!/usr/bin/env python3
"""Print the JSON log lines of a deployed local function that contain a text (test and
benchmark use).

    function_logs.py ENV_KEY SINCE_MS TEXT

ENV_KEY names the function in .local/env (e.g. BUCKETS_CASCADE_FUNCTION). One JSON object a
line: the `fields` of each matching log event written since SINCE_MS (ms since the epoch).
"""

import json
import sys

from function_env import client, local_env


def matching(env: dict, env_key: str, since_ms: int, text: str) -> list[dict]:
    logs = client("logs", env)
    group = f"/aws/lambda/{env[env_key]}"
    found = []
    kwargs = {"logGroupName": group, "startTime": since_ms}
    while True:
        try:
            page = logs.filter_log_events(**kwargs)
        except logs.exceptions.ResourceNotFoundException:
            return found
        for event in page.get("events", []):
            message = event.get("message", "")
            if text not in message:
                continue
            try:
                found.append(json.loads(message).get("fields", {}))
            except ValueError:
                found.append({"message": message})
        token = page.get("nextToken")
        if not token:
            return found
        kwargs["nextToken"] = token


def main() -> int:
    for fields in matching(local_env(), sys.argv[1], int(sys.argv[2]), sys.argv[3]):
        print(json.dumps(fields))
    return 0


if __name__ == "__main__":
    sys.exit(main())
