#!/usr/bin/env python3
"""Set environment variables of the deployed local Buckets function(s) (test use only).

    function_env.py API_DELETE_ENABLED=false [NAME=VALUE ...]
    function_env.py --function BUCKETS_CASCADE_FUNCTION TABLE_NAME=missing

Used by the end-to-end tests of deployment settings and of the cascade: it flips a setting on
the running local stack and flips it back. Reads the function names from .local/env
(BUCKETS_FUNCTION, and BUCKETS_FUNCTIONS when several; with --function, the one function that
key of .local/env names). Waits until the new configuration is active.
"""

import os
import sys
import time
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[2]


def local_env() -> dict:
    env = {}
    for line in (ROOT / ".local" / "env").read_text().splitlines():
        if line.startswith("export ") and "=" in line:
            key, value = line[len("export "):].split("=", 1)
            env[key] = value.strip("'\"")
    return env


def client(service: str, env: dict):
    """A boto3 client for the local stack (the emulator's endpoint, dummy credentials)."""
    return boto3.client(
        service,
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env.get("AWS_DEFAULT_REGION", "us-east-1"),
        aws_access_key_id=env.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY", "test"),
    )


def set_env(env: dict, pairs: dict, only=None) -> None:
    """Sets `pairs` in the environment of every deployed function (or of the one the key `only`
    of .local/env names) and waits until active."""
    if only:
        names = [env[only]]
    else:
        names = (env.get("BUCKETS_FUNCTIONS") or env["BUCKETS_FUNCTION"]).split(",")
    lam = client("lambda", env)
    for name in names:
        current = lam.get_function_configuration(FunctionName=name)
        variables = current.get("Environment", {}).get("Variables", {})
        variables.update(pairs)
        lam.update_function_configuration(FunctionName=name, Environment={"Variables": variables})
        for _ in range(100):
            state = lam.get_function_configuration(FunctionName=name)
            if state.get("LastUpdateStatus", "Successful") == "Successful":
                break
            time.sleep(0.1)


def main() -> int:
    args = sys.argv[1:]
    only = None
    if args[:1] == ["--function"]:
        only, args = args[1], args[2:]
    set_env(local_env(), dict(arg.split("=", 1) for arg in args), only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
