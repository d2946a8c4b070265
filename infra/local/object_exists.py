#!/usr/bin/env python3
"""Print whether an object exists in the local files bucket (test use only).

    object_exists.py URL_OR_KEY

Takes a path-style object URL (`http://127.0.0.1:4566/<bucket>/<key>`) or a key.
"""

import sys
import urllib.parse

import boto3
from botocore.exceptions import ClientError

from function_env import local_env


def main() -> int:
    env = local_env()
    target = sys.argv[1]
    bucket = env["BUCKETS_FILES_BUCKET"]
    if target.startswith("http"):
        path = urllib.parse.urlparse(target).path.lstrip("/")
        bucket, _, key = path.partition("/")
        key = urllib.parse.unquote(key)
    else:
        key = target
    s3 = boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env.get("AWS_DEFAULT_REGION", "us-east-1"),
        aws_access_key_id=env.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY", "test"),
    )
    try:
        s3.head_object(Bucket=bucket, Key=key)
        print("true")
    except ClientError:
        print("false")
    return 0


if __name__ == "__main__":
    sys.exit(main())
