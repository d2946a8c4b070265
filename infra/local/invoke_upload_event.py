#!/usr/bin/env python3
"""Deliver an S3 ObjectCreated event to the local upload-events function, as S3 would (test
use only: duplicate and late deliveries).

    invoke_upload_event.py BUCKET_ID NAME VERSION_ID

The object key is built as the functions build it, `<id>/<generation>/<name>`, with the
bucket's current generation read from the table; the event names version VERSION_ID of it
(an upload's `x-amz-version-id`).

Prints the function's answer. Reads names and endpoints from .local/env.
"""

import json
import sys
import time
import urllib.parse

from function_env import client, local_env


def main() -> int:
    bucket_id, name, version_id = sys.argv[1:4]
    env = local_env()
    table = client("dynamodb", env)
    item = table.get_item(TableName=env["BUCKETS_TABLE"], Key={"pk": {"S": f"B#{bucket_id}"}, "sk": {"S": "B"}})["Item"]
    key = f"{bucket_id}/{item['gen']['S']}/{name}"
    size = 0
    event = {
        "Records": [{
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": env.get("AWS_DEFAULT_REGION", "us-east-1"),
            "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "eventName": "ObjectCreated:Put",
            "userIdentity": {"principalId": "local"},
            "requestParameters": {"sourceIPAddress": "127.0.0.1"},
            "responseElements": {"x-amz-request-id": "local", "x-amz-id-2": "local"},
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "local-redelivery",
                "bucket": {
                    "name": env["BUCKETS_FILES_BUCKET"],
                    "ownerIdentity": {"principalId": "local"},
                    "arn": "arn:aws:s3:::" + env["BUCKETS_FILES_BUCKET"],
                },
                "object": {
                    "key": urllib.parse.quote_plus(key, safe="/"),
                    "versionId": version_id,
                    "size": size,
                    "eTag": "",
                    "sequencer": "0",
                },
            },
        }]
    }
    lam = client("lambda", env)
    out = lam.invoke(FunctionName=env["BUCKETS_UPLOAD_EVENTS_FUNCTION"], Payload=json.dumps(event).encode())
    payload = out["Payload"].read().decode()
    print(json.dumps({"status": out.get("StatusCode"), "error": out.get("FunctionError"), "payload": payload}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
