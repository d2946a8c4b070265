#!/usr/bin/env python3
"""Deliver an S3 ObjectCreated event to the local upload-events function, as S3 would (test
use only: duplicate and late deliveries).

    invoke_upload_event.py BUCKET_ID UPLOAD_ID NAME

The object key is built as the functions build it, `<id>/<generation>/<upload id>/<name>`,
with the bucket's current generation read from the table.

Prints the function's answer. Reads names and endpoints from .local/env.
"""

import json
import sys
import time
import urllib.parse

import boto3

from function_env import local_env


def main() -> int:
    bucket_id, upload_id, name = sys.argv[1:4]
    env = local_env()
    table = boto3.client(
        "dynamodb",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env.get("AWS_DEFAULT_REGION", "us-east-1"),
        aws_access_key_id=env.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY", "test"),
    )
    item = table.get_item(TableName=env["BUCKETS_TABLE"], Key={"pk": {"S": f"B#{bucket_id}"}, "sk": {"S": "B"}})["Item"]
    key = f"{bucket_id}/{item['gen']['S']}/{upload_id}/{name}"
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
                "object": {"key": urllib.parse.quote_plus(key, safe="/"), "size": size, "eTag": "", "sequencer": "0"},
            },
        }]
    }
    client = boto3.client(
        "lambda",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env.get("AWS_DEFAULT_REGION", "us-east-1"),
        aws_access_key_id=env.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY", "test"),
    )
    out = client.invoke(FunctionName=env["BUCKETS_UPLOAD_EVENTS_FUNCTION"], Payload=json.dumps(event).encode())
    payload = out["Payload"].read().decode()
    print(json.dumps({"status": out.get("StatusCode"), "error": out.get("FunctionError"), "payload": payload}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
