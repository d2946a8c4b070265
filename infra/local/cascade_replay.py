#!/usr/bin/env python3
"""Re-trigger every pending delete cascade of the local stack (`make cascade-replay`).

    cascade_replay.py [IDLE_SECONDS]

Invokes the cascade function with {"replay": true}: it touches each pending marker, so the
table's stream delivers it again. With IDLE_SECONDS, only markers nobody has written for that
long (what the hourly sweep sends). The same works on AWS:
    aws lambda invoke --function-name <CascadeFunctionName> --payload '{"replay":true}' out.json
"""

import json
import sys

from function_env import client, local_env


def main() -> int:
    env = local_env()
    payload = {"replay": True}
    if len(sys.argv) > 1:
        payload["idle_seconds"] = int(sys.argv[1])
    out = client("lambda", env).invoke(
        FunctionName=env["BUCKETS_CASCADE_FUNCTION"], Payload=json.dumps(payload)
    )
    body = out["Payload"].read().decode()
    print(body)
    return 1 if out.get("FunctionError") else 0


if __name__ == "__main__":
    sys.exit(main())
