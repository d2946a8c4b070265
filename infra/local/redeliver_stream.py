#!/usr/bin/env python3
"""Deliver a bucket's table stream records to the local activity function again, as the
event source mapping would after a failed batch (test use only: duplicate deliveries).

    redeliver_stream.py BUCKET_ID [TIMES]

Reads every shard of the table's stream from its start (DescribeStream, GetShardIterator,
GetRecords), keeps the records of the bucket's current incarnation (its bucket item, data
document, files, webhooks), and invokes the function with them TIMES times (default 2), in
the mapping's event shape ({"Records": [...]}). Prints {"records": n, "answers": [...]}.
Reads names and endpoints from .local/env.
"""

import json
import sys

from function_env import client, local_env


def records_of(env: dict, bucket_id: str, generation: str) -> list:
    ddb = client("dynamodb", env)
    streams = client("dynamodbstreams", env)
    arn = ddb.describe_table(TableName=env["BUCKETS_TABLE"])["Table"]["LatestStreamArn"]
    keys = {f"B#{bucket_id}"} | {f"{p}#{bucket_id}#{generation}" for p in ("D", "F", "W")}
    found = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while it:
            page = streams.get_records(ShardIterator=it, Limit=1000)
            for r in page["Records"]:
                if r["dynamodb"]["Keys"]["pk"]["S"] in keys:
                    r["eventSourceARN"] = arn
                    # boto3 parses it into a datetime; the mapping sends epoch seconds.
                    at = r["dynamodb"].get("ApproximateCreationDateTime")
                    if hasattr(at, "timestamp"):
                        r["dynamodb"]["ApproximateCreationDateTime"] = at.timestamp()
                    found.append(r)
            if not page["Records"]:
                break
            it = page.get("NextShardIterator")
    return found


def main() -> int:
    bucket_id = sys.argv[1]
    times = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    env = local_env()
    item = client("dynamodb", env).get_item(
        TableName=env["BUCKETS_TABLE"], Key={"pk": {"S": f"B#{bucket_id}"}, "sk": {"S": "B"}})["Item"]
    records = records_of(env, bucket_id, item["gen"]["S"])
    lam = client("lambda", env)
    names = [f["FunctionName"] for page in lam.get_paginator("list_functions").paginate()
             for f in page["Functions"] if "-ActivityFunction-" in f["FunctionName"]]
    if len(names) != 1:
        print(f"expected one activity function, found {names}", file=sys.stderr)
        return 1
    answers = []
    for _ in range(times):
        out = lam.invoke(FunctionName=names[0], Payload=json.dumps({"Records": records}, default=str))
        answers.append(json.loads(out["Payload"].read() or b"null"))
    print(json.dumps({"records": len(records), "answers": answers}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
