#!/usr/bin/env python3
"""Pause, resume or tune the delete cascade's stream trigger on the local stack (test use only).

    cascade_trigger.py disable|enable
    cascade_trigger.py max-age SECONDS

While disabled, cascade markers wait in the stream; enabling resumes from where it stopped.
max-age sets MaximumRecordAgeInSeconds: a failing batch older than that goes to the dead-letter
queue (the template sets 21600; a test sets 1 to see a failure dead-lettered at once).
"""

import sys
import time

from function_env import client, local_env


def main() -> int:
    if sys.argv[1] == "max-age":
        change = {"MaximumRecordAgeInSeconds": int(sys.argv[2])}
    else:
        change = {"Enabled": {"enable": True, "disable": False}[sys.argv[1]]}
    env = local_env()
    lam = client("lambda", env)
    mappings = lam.list_event_source_mappings(FunctionName=env["BUCKETS_CASCADE_FUNCTION"])
    for m in mappings["EventSourceMappings"]:
        lam.update_event_source_mapping(UUID=m["UUID"], **change)
    # The emulator's poller reads the flag on its next pass (at most ~1 s).
    time.sleep(1.2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
