#!/usr/bin/env python3
"""Print whether an object exists in the local files bucket (test use only).

    object_exists.py URL_OR_KEY

Takes a path-style object URL (`http://127.0.0.1:4566/<bucket>/<key>`) or a key.
"""

import sys
import urllib.parse

from botocore.exceptions import ClientError

from function_env import client, local_env


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
    s3 = client("s3", env)
    try:
        s3.head_object(Bucket=bucket, Key=key)
        print("true")
    except ClientError:
        print("false")
    return 0


if __name__ == "__main__":
    sys.exit(main())
