#!/usr/bin/env python3
"""Print what is left of one bucket incarnation on the local stack, as JSON (test and
benchmark use).

    leftovers.py BUCKET_ID GENERATION

{"objects": ["<key>?versionId=<id>" of every object version and delete marker under
<id>/<generation>/], "items": [[pk, sk], ...] of the incarnation's partitions (D#, F#, U#, R#,
V#), its cascade markers (CASCADE <id>#<generation>...), and the bucket
item B#<id> when it still belongs to that generation}. Queries and one listing; no Scan.
"""

import json
import sys

from function_env import client, local_env

PARTITIONS = ("D", "F", "U", "R", "V", "S")


def leftovers(env: dict, bucket_id: str, generation: str) -> dict:
    s3 = client("s3", env)
    ddb = client("dynamodb", env)
    table = env["BUCKETS_TABLE"]
    objects = []
    # Versions, not keys: the files bucket is versioned, and a noncurrent version left behind
    # is as much a leftover as a current one.
    for page in s3.get_paginator("list_object_versions").paginate(
        Bucket=env["BUCKETS_FILES_BUCKET"], Prefix=f"{bucket_id}/{generation}/"
    ):
        for o in page.get("Versions", []) + page.get("DeleteMarkers", []):
            objects.append(f"{o['Key']}?versionId={o['VersionId']}")

    def query(**kwargs):
        found = []
        for page in ddb.get_paginator("query").paginate(
            TableName=table, ConsistentRead=True, ProjectionExpression="pk, sk", **kwargs
        ):
            found += [[i["pk"]["S"], i["sk"]["S"]] for i in page.get("Items", [])]
        return found

    items = []
    for p in PARTITIONS:
        items += query(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"{p}#{bucket_id}#{generation}"}},
        )
    items += query(
        KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues={
            ":pk": {"S": "CASCADE"},
            ":prefix": {"S": f"{bucket_id}#{generation}"},
        },
    )
    items += query(
        KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues={
            ":pk": {"S": "SFTP"},
            ":prefix": {"S": f"{bucket_id}#{generation}#"},
        },
    )
    bucket = ddb.get_item(
        TableName=table, Key={"pk": {"S": f"B#{bucket_id}"}, "sk": {"S": "B"}}, ConsistentRead=True
    ).get("Item")
    if bucket and bucket.get("gen", {}).get("S") == generation:
        items.append([f"B#{bucket_id}", "B"])
    return {"objects": objects, "items": items}


def main() -> int:
    print(json.dumps(leftovers(local_env(), sys.argv[1], sys.argv[2])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
