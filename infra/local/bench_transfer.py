#!/usr/bin/env python3
"""`make bench-transfer`: the `buckets` CLI beside the AWS CLI on the same local S3.

    bench_transfer.py --cli target/release/buckets --aws .local/awscli/bin/aws [--small 1000] [--big-mib 512]

Both move the same bytes to and from the stack's files bucket: 1,000 files of 64 KiB and one
512 MiB file. Ours goes through the API as every client must (grants batched 100 a call, each
upload bound to its SHA-256, waiting until each file is recorded; fetch verifies every
download); the AWS CLI (`aws s3 cp --recursive`) writes the bucket directly with the emulator's
dummy credentials. Prints wall time, bytes/s, the ratio ours : AWS CLI, and the peak RSS of each
process (ru_maxrss of the child). The deployment's file count is raised for the run
(MAX_FILES_PER_BUCKET through function_env.py) and put back after.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "infra" / "local"))
import function_env  # noqa: E402
import mint_token  # noqa: E402
from function_env import local_env  # noqa: E402


def run(cmd, env):
    """Runs cmd; answers (seconds, peak RSS in MiB)."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    took = time.monotonic() - start
    err = proc.stderr.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(cmd[:3])} failed: {err[-2000:]}")
    return took, usage.ru_maxrss / 1024


def api(env, method, path, body=None, token=None):
    req = urllib.request.Request(env["BUCKETS_API_URL"] + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    req.add_header("Content-Type", "application/json")
    req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"null")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--aws", required=True)
    ap.add_argument("--small", type=int, default=1000)
    ap.add_argument("--big-mib", type=int, default=512)
    ap.add_argument("--parallel", type=int, default=10, help="our threads (the AWS CLI's default is 10)")
    args = ap.parse_args()
    env = local_env()
    token = mint_token.mint(env["BUCKETS_JWT_SECRET"], "transfer-bench", ["admin"], 7200)
    work = Path(tempfile.mkdtemp(prefix="bench-transfer-", dir=ROOT / ".local"))
    small, big = work / "small", work / "big"
    small.mkdir()
    big.mkdir()
    for i in range(args.small):
        (small / f"f{i:05}.bin").write_bytes(os.urandom(64 * 1024))
    with open(big / "big.bin", "wb") as f:
        for _ in range(args.big_mib):
            f.write(os.urandom(1024 * 1024))

    ours_env = {**os.environ, "BUCKETS_URL": env["BUCKETS_API_URL"], "BUCKETS_TOKEN": token,
                "XDG_CACHE_HOME": str(work / "cache"), "XDG_CONFIG_HOME": str(work / "config")}
    aws_env = {**os.environ, "AWS_ENDPOINT_URL": env["AWS_ENDPOINT_URL"], "AWS_ACCESS_KEY_ID": "test",
               "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}
    # The AWS CLI writes a bucket of its own on the same S3 (no upload events to process).
    peer = f"bench-peer-{int(time.time())}"
    function_env.client("s3", env).create_bucket(Bucket=peer)
    s3 = f"s3://{peer}"
    function_env.set_env(env, {"MAX_FILES_PER_BUCKET": str(args.small + 10)})
    rows = []
    try:
        for label, src, nbytes in (("1000 x 64 KiB", small, args.small * 64 * 1024),
                                   (f"1 x {args.big_mib} MiB", big, args.big_mib * 1024 * 1024)):
            bucket = f"bench-{label.split()[0]}-{int(time.time())}"
            api(env, "PUT", f"/v1/buckets/{bucket}", {"data": {}}, token)
            t_ours, m_ours = run([args.cli, "store", bucket, "--dir", str(src), "-j", str(args.parallel), "-q"], ours_env)
            t_aws, m_aws = run([args.aws, "s3", "cp", "--recursive", "--quiet", str(src), f"{s3}/{bucket}/"], aws_env)
            rows.append(("store " + label, nbytes, t_ours, m_ours, t_aws, m_aws))
            down_ours, down_aws = work / f"down-ours-{bucket}", work / f"down-aws-{bucket}"
            t_ours, m_ours = run([args.cli, "fetch", bucket, "--sync", "files", "--dir", str(down_ours),
                                  "-j", str(args.parallel), "-q"], ours_env)
            t_aws, m_aws = run([args.aws, "s3", "cp", "--recursive", "--quiet", f"{s3}/{bucket}/", str(down_aws)], aws_env)
            rows.append(("fetch " + label, nbytes, t_ours, m_ours, t_aws, m_aws))
            api(env, "DELETE", f"/v1/buckets/{bucket}", None, token)
    finally:
        function_env.set_env(env, {"MAX_FILES_PER_BUCKET": "100"})
        shutil.rmtree(work, ignore_errors=True)

    print(f"{'transfer':<22} {'ours s':>8} {'ours MB/s':>10} {'ours RSS':>9} {'aws s':>8} {'aws MB/s':>9} {'aws RSS':>8} {'ours:aws':>9}")
    for name, nbytes, t_o, m_o, t_a, m_a in rows:
        mb = nbytes / 1e6
        print(f"{name:<22} {t_o:8.2f} {mb / t_o:10.1f} {m_o:7.0f}MB {t_a:8.2f} {mb / t_a:9.1f} {m_a:6.0f}MB {t_o / t_a:8.2f}x")


if __name__ == "__main__":
    main()
