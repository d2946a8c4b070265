#!/usr/bin/env python3
"""Create (or reset) a user of the local stack's Cognito user pool (development and tests only).

    .local/build/bin/python3 infra/local/cognito_user.py NAME PASSWORD [GROUP ...]
        [--pool-name POOL] [--client-name CLIENT]

The user gets PASSWORD as a permanent password and exactly the GROUPs given (groups named after
privileges grant them: create_buckets, edit_buckets, delete_buckets, admin, create_keys).
Idempotent: run again, it resets the password and the groups. Missing groups are created.
The tests' other issuer and audience: --pool-name (another pool) and --client-name (another app client;
prints {"pool_id", "client_id"}). The pool comes from
$BUCKETS_USER_POOL_ID, else .local/env (written by `make local`); the emulator from
$AWS_ENDPOINT_URL, else .local/env. Runs with the build virtualenv's Python (boto3).
"""

import argparse
import json
import os
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
from mint_token import ENV_FILE, value_from_env_file  # noqa: E402


def ensure_user(idp, pool_id: str, name: str, password: str, groups: list[str]) -> None:
    """AdminCreateUser (no invitation message), a permanent password, exactly `groups`."""
    try:
        idp.admin_create_user(UserPoolId=pool_id, Username=name, MessageAction="SUPPRESS")
    except idp.exceptions.UsernameExistsException:
        pass
    idp.admin_set_user_password(UserPoolId=pool_id, Username=name, Password=password, Permanent=True)
    current = {g["GroupName"] for g in idp.admin_list_groups_for_user(UserPoolId=pool_id, Username=name)["Groups"]}
    for group in sorted(set(groups) - current):
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username=name, GroupName=group)
    for group in sorted(current - set(groups)):
        idp.admin_remove_user_from_group(UserPoolId=pool_id, Username=name, GroupName=group)


def setting(name: str) -> str:
    value = os.environ.get(name) or value_from_env_file(ENV_FILE, name)
    if not value:
        sys.exit(f"cognito_user: {name} is not set (run `make local`, which writes .local/env)")
    return value


def ensure_pool(idp, name: str) -> str:
    """The id of the user pool named `name`, created when missing (tests: another issuer)."""
    for pool in idp.list_user_pools(MaxResults=60)["UserPools"]:
        if pool["Name"] == name:
            return pool["Id"]
    return idp.create_user_pool(PoolName=name)["UserPool"]["Id"]


def ensure_client(idp, pool_id: str, name: str) -> str:
    """The id of the public app client named `name` in the pool, created when missing with
    USER_PASSWORD_AUTH (tests: another audience)."""
    for client in idp.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]:
        if client["ClientName"] == name:
            return client["ClientId"]
    return idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName=name, GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name")
    parser.add_argument("password")
    parser.add_argument("groups", nargs="*")
    parser.add_argument("--pool-name", help="a user pool of this name (created when missing) instead of the stack's")
    parser.add_argument("--client-name", help="print {pool_id, client_id} of an app client of this name (created when missing)")
    args = parser.parse_args()
    import boto3  # from the SAM CLI's virtualenv

    idp = boto3.client("cognito-idp", endpoint_url=setting("AWS_ENDPOINT_URL"), region_name="us-east-1",
                       aws_access_key_id="test", aws_secret_access_key="test")
    pool_id = ensure_pool(idp, args.pool_name) if args.pool_name else setting("BUCKETS_USER_POOL_ID")
    # Groups the pool lacks are created (the stack's pool has the privilege groups; tests also
    # use groups that grant nothing, and other pools).
    for group in args.groups:
        try:
            idp.create_group(UserPoolId=pool_id, GroupName=group)
        except idp.exceptions.GroupExistsException:
            pass
    ensure_user(idp, pool_id, args.name, args.password, args.groups)
    if args.client_name:
        print(json.dumps({"pool_id": pool_id, "client_id": ensure_client(idp, pool_id, args.client_name)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
