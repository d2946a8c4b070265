#!/usr/bin/env python3
"""Read (and remove) the messages of the local cascade dead-letter queue, one JSON body a line
(test use; on AWS read CascadeDeadLetterQueueUrl the same way).

    dead_letters.py
"""

import sys

from function_env import client, local_env


def main() -> int:
    env = local_env()
    sqs = client("sqs", env)
    url = env["BUCKETS_CASCADE_DLQ_URL"]
    while True:
        out = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = out.get("Messages", [])
        if not messages:
            return 0
        for m in messages:
            print(m["Body"].replace("\n", " "))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


if __name__ == "__main__":
    sys.exit(main())
