"""Print the local files bucket's versioning status and lifecycle rules as JSON (test use only).

    files_bucket_config.py

{"versioning": "Enabled", "rules": [...GetBucketLifecycleConfiguration rules...]}. Reads names
and endpoints from .local/env.
"""

import json
import sys

from function_env import client, local_env


def main() -> int:
    env = local_env()
    s3 = client("s3", env)
    bucket = env["BUCKETS_FILES_BUCKET"]
    versioning = s3.get_bucket_versioning(Bucket=bucket).get("Status")
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    print(json.dumps({"versioning": versioning, "rules": rules}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
