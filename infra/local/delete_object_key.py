#!/usr/bin/env python3
"""Delete a key of the local files bucket without a version id (test use only): on the
versioned bucket this leaves a delete marker and fires `s3:ObjectRemoved:DeleteMarkerCreated`,
as an SFTP user's delete through Transfer Family does on AWS.

    delete_object_key.py KEY
"""

import sys

from function_env import client, local_env


def main() -> int:
    env = local_env()
    client("s3", env).delete_object(Bucket=env["BUCKETS_FILES_BUCKET"], Key=sys.argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
