#!/usr/bin/env python3
"""Pause or resume the delete cascade's stream trigger on the local stack (test use only).

    cascade_trigger.py disable|enable

While disabled, cascade markers wait in the stream; enabling resumes from where it stopped.
Lets a test put a deleted bucket's cascade exactly where it wants it.
"""

import sys
import time

from function_env import client, local_env


def main() -> int:
    enabled = {"enable": True, "disable": False}[sys.argv[1]]
    env = local_env()
    lam = client("lambda", env)
    mappings = lam.list_event_source_mappings(FunctionName=env["BUCKETS_CASCADE_FUNCTION"])
    for m in mappings["EventSourceMappings"]:
        lam.update_event_source_mapping(UUID=m["UUID"], Enabled=enabled)
    # The emulator's poller reads the flag on its next pass (at most ~1 s).
    time.sleep(1.2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
