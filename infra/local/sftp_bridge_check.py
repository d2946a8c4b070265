#!/usr/bin/env python3
"""By-hand self-test of infra/local/ministack_bridged.py and infra/local/sftp_client.py against
a running local emulator (not part of make). Run with the stack virtualenv's interpreter:

    MINISTACK_PORT=4590 infra/local/ministack.sh start
    .local/stack/bin/python3 infra/local/sftp_bridge_check.py --port 4590
    MINISTACK_PORT=4590 infra/local/ministack.sh stop

Creates a versioned bucket, a Transfer server and users with LOGICAL mappings and session
policies as the product does, drives them through sftp_client.py (as the Rust end-to-end tests
will) and checks outcomes and exit codes, and the S3 view (versions, delete markers) with boto3.
Leaves its bucket, server and users behind (each run uses fresh names).
"""

import argparse
import json
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import boto3

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CLIENT = [sys.executable, "-B", str(HERE / "sftp_client.py")]

failures = []


def check(what: str, ok: bool, detail="") -> None:
    print(f"{'ok  ' if ok else 'FAIL'} {what}" + (f"  ({detail})" if detail and not ok else ""))
    if not ok:
        failures.append(what)


def session_policy(bucket: str, prefix: str, write: bool) -> str:
    object_actions = ["s3:GetObject", "s3:GetObjectVersion"]
    if write:
        object_actions += ["s3:PutObject", "s3:DeleteObject"]
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "List", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}",
         "Condition": {"StringLike": {"s3:prefix": [prefix, prefix + "*"]}}},
        {"Sid": "Objects", "Effect": "Allow", "Action": object_actions,
         "Resource": f"arn:aws:s3:::{bucket}/{prefix}*"},
    ]})


def drain(sqs, queue_url: str, wait: int = 1) -> list:
    """(event name, key) of the S3 event records waiting in the queue, consumed."""
    events = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                       WaitTimeSeconds=wait).get("Messages", [])
        if not messages:
            return events
        for m in messages:
            body = json.loads(m["Body"])
            events += [(r["eventName"], r["s3"]["object"]["key"]) for r in body.get("Records", [])]
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
        wait = 0


class Sftp:
    def __init__(self, port: int, workdir: Path):
        self.port = str(port)
        self.workdir = workdir

    def run(self, *args):
        proc = subprocess.run([*CLIENT, *args], capture_output=True, text=True, timeout=60)
        return proc.returncode, proc.stdout, proc.stderr.strip()

    def keygen(self, name: str):
        path = self.workdir / name
        code, out, err = self.run("keygen", str(path))
        assert code == 0, err
        return str(path), out.strip()

    def as_user(self, user: str, key: str, command: str, *args):
        return self.run(command, "127.0.0.1", self.port, user, key, *args)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--sftp-port", type=int)
    args = parser.parse_args()
    sftp_port = args.sftp_port or int(
        (ROOT / ".local" / "ministack" / "sftp.port").read_text().strip()
        if (ROOT / ".local" / "ministack" / "sftp.port").exists() else 2222 + args.port - 4566)

    def client(service):
        return boto3.client(service, endpoint_url=f"http://127.0.0.1:{args.port}", region_name="us-east-1",
                            aws_access_key_id="test", aws_secret_access_key="test")

    s3, transfer = client("s3"), client("transfer")
    run = uuid.uuid4().hex[:8]
    bucket = f"sftp-check-{run}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    # Something that must fire no event from SFTP writes: a queue on the bucket's notifications.
    sqs = client("sqs")
    queue_url = sqs.create_queue(QueueName=f"sftp-check-{run}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]}]})

    server = transfer.create_server(Protocols=["SFTP"], IdentityProviderType="SERVICE_MANAGED",
                                    EndpointType="PUBLIC")["ServerId"]
    role = "arn:aws:iam::000000000000:role/sftp-check"
    prefix_a, prefix_b = "bkt-a/1/", "bkt-b/1/"
    s3.put_object(Bucket=bucket, Key=prefix_b + "secret.txt", Body=b"b's file")
    drain(sqs, queue_url)  # that put's event (and the test event)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sftp = Sftp(sftp_port, tmp)
        keys = {name: sftp.keygen(name) for name in ("writer", "reader", "other", "stranger", "crossed")}

        def create_user(name, prefix, write, key_name=None, policy_prefix=None):
            transfer.create_user(
                ServerId=server, UserName=name, Role=role, HomeDirectoryType="LOGICAL",
                HomeDirectoryMappings=[{"Entry": "/", "Target": f"/{bucket}/{prefix.rstrip('/')}"}],
                Policy=session_policy(bucket, policy_prefix or prefix, write),
                SshPublicKeyBody=keys[key_name or name][1])

        create_user("writer", prefix_a, True)
        create_user("reader", prefix_a, False)
        create_user("other", prefix_b, True)
        # Mapped to B but with A's policy: the policy alone must refuse B.
        create_user("crossed", prefix_b, True, policy_prefix=prefix_a)
        writer, reader = keys["writer"][0], keys["reader"][0]

        # Control plane
        described = transfer.describe_user(ServerId=server, UserName="writer")["User"]
        check("DescribeUser returns the Policy", described.get("Policy") == session_policy(bucket, prefix_a, True))
        try:
            transfer.update_user(ServerId=server, UserName="nobody", Policy="{}")
            check("UpdateUser of an unknown user 404s", False)
        except transfer.exceptions.ResourceNotFoundException:
            check("UpdateUser of an unknown user 404s", True)

        # Write user: put / ls / get / rm, versioned
        local = tmp / "hello.txt"
        local.write_bytes(b"hello over sftp")
        code, out, err = sftp.as_user("writer", writer, "put", str(local), "hello.txt")
        check("writer put exits 0", code == 0, err)
        versions = s3.list_object_versions(Bucket=bucket, Prefix=prefix_a + "hello.txt")
        latest = [v for v in versions.get("Versions", []) if v["IsLatest"]]
        check("SFTP put is the latest version", len(latest) == 1 and latest[0]["VersionId"] not in (None, "null"),
              versions)
        if latest:
            head = s3.head_object(Bucket=bucket, Key=prefix_a + "hello.txt", VersionId=latest[0]["VersionId"])
            check("HeadObject with that VersionId", head["ContentLength"] == len(b"hello over sftp"))
        local.write_bytes(b"second version")
        sftp.as_user("writer", writer, "put", str(local), "hello.txt")
        versions = s3.list_object_versions(Bucket=bucket, Prefix=prefix_a + "hello.txt")["Versions"]
        check("a second SFTP put is a second version", len(versions) == 2, versions)
        code, out, err = sftp.as_user("writer", writer, "ls")
        check("writer ls", code == 0 and json.loads(out.splitlines()[0]) == {"name": "hello.txt", "size": 14, "type": "file"},
              out + err)
        code, out, err = sftp.as_user("writer", writer, "get", "hello.txt", str(tmp / "got.txt"))
        check("writer get", code == 0 and (tmp / "got.txt").read_bytes() == b"second version", err)
        code, out, err = sftp.as_user("writer", writer, "get", "missing.txt", str(tmp / "x"))
        check("get of a missing file exits 4", code == 4, (code, err))

        # Read user
        code, out, err = sftp.as_user("reader", reader, "ls")
        check("reader ls", code == 0 and "hello.txt" in out, err)
        code, out, err = sftp.as_user("reader", reader, "get", "hello.txt", str(tmp / "r.txt"))
        check("reader get", code == 0, err)
        code, out, err = sftp.as_user("reader", reader, "put", str(local), "nope.txt")
        check("reader put exits 3", code == 3, (code, err))
        code, out, err = sftp.as_user("reader", reader, "rm", "hello.txt")
        check("reader rm exits 3", code == 3, (code, err))

        # Unregistered key, prefixes
        code, out, err = sftp.as_user("writer", keys["stranger"][0], "ls")
        check("a key not registered exits 2", code == 2, (code, err))
        code, out, err = sftp.as_user("writer", writer, "ls", "/../bkt-b/1")
        check("writer cannot reach prefix B through ..", "secret.txt" not in out, out)
        code, out, err = sftp.as_user("other", keys["other"][0], "ls")
        check("user of prefix B sees B only", code == 0 and "secret.txt" in out and "hello.txt" not in out, out + err)
        code, out, err = sftp.as_user("crossed", keys["crossed"][0], "ls")
        check("mapped to B with A's policy: ls exits 3", code == 3, (code, err))
        code, out, err = sftp.as_user("crossed", keys["crossed"][0], "get", "secret.txt", str(tmp / "c"))
        check("mapped to B with A's policy: get exits 3", code == 3, (code, err))

        # Remove: a delete marker
        code, out, err = sftp.as_user("writer", writer, "rm", "hello.txt")
        check("writer rm exits 0", code == 0, err)
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix_a).get("Contents", [])
        check("removed key gone from ListObjectsV2", not any(o["Key"].endswith("hello.txt") for o in listed), listed)
        markers = s3.list_object_versions(Bucket=bucket, Prefix=prefix_a + "hello.txt").get("DeleteMarkers", [])
        check("a delete marker is latest", len(markers) == 1 and markers[0]["IsLatest"], markers)
        code, out, err = sftp.as_user("writer", writer, "rm", "hello.txt")
        check("rm of a removed file exits 4", code == 4, (code, err))

        # No S3 events from SFTP writes
        events = drain(sqs, queue_url)
        check("SFTP writes fired no S3 events", not events, events)
        s3.put_object(Bucket=bucket, Key=prefix_a + "via-s3.txt", Body=b"x")
        events = drain(sqs, queue_url, wait=2)
        check("a PutObject through S3 still fires its event", events == [("ObjectCreated:Put", prefix_a + "via-s3.txt")],
              events)

        # UpdateUser: write -> read on the next connection
        transfer.update_user(ServerId=server, UserName="writer", Policy=session_policy(bucket, prefix_a, False))
        check("DescribeUser shows the new Policy",
              transfer.describe_user(ServerId=server, UserName="writer")["User"]["Policy"]
              == session_policy(bucket, prefix_a, False))
        code, out, err = sftp.as_user("writer", writer, "put", str(local), "after-update.txt")
        check("after UpdateUser to read, put exits 3", code == 3, (code, err))
        code, out, err = sftp.as_user("writer", writer, "get", "via-s3.txt", str(tmp / "v"))
        check("after UpdateUser to read, get works", code == 0, err)

        # DeleteSshPublicKey: authentication refused
        key_id = transfer.describe_user(ServerId=server, UserName="reader")["User"]["SshPublicKeys"][0]["SshPublicKeyId"]
        transfer.delete_ssh_public_key(ServerId=server, UserName="reader", SshPublicKeyId=key_id)
        code, out, err = sftp.as_user("reader", reader, "ls")
        check("after DeleteSshPublicKey, exits 2", code == 2, (code, err))

    print(f"\n{len(failures)} failure(s)" if failures else "\nall checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
