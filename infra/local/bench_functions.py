#!/usr/bin/env python3
"""Performance benchmark of every function, with Kinto side by side (`make bench`).

    bench_functions.py --functions "BucketsFunction:buckets ..." [--requests 1000] [--cold-starts 20]
        [--out .local/bench/functions.json]      (make bench passes --functions from the template)

For every function (the release `bootstrap`s that `make build` produced):
- stripped binary and deployment zip size;
- init: exec of the bootstrap to its first request for an event, on a local stand-in for the
  Lambda runtime API (runtime_api.py); the median of --cold-starts starts;
- warm CPU per request: user+sys CPU of the function process (/proc/<pid>/stat) over
  --requests requests of one kind, divided by the count (after 20 warm-up requests), and its
  peak RSS (VmHWM), for: create bucket, get bucket (with a JWT, and with an API key: the key
  lookup's cost), list a page of 100, patch bucket, presign an upload, process an upload event;
- AWS calls per operation, counted by a pass-through in front of the emulator (aws_counter.py),
  next to the floor.
The functions run with the deployed local stack's settings and talk to the local emulator's
DynamoDB and S3 (its time is not theirs: only the function process's CPU is measured).
Kinto (pinned, memory backend, on loopback): process start to first answer, and its CPU per
request for create / get / list / patch of buckets, measured the same way; ratios ours : Kinto.

Prints a table with each budget's pass/fail and writes the figures as JSON.
"""

import argparse
import base64
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import zipfile
import io
from http.client import HTTPConnection
from pathlib import Path

import boto3

import mint_token
from aws_counter import AwsCounter
from function_env import ROOT, client, local_env
from runtime_api import RuntimeApi

CLK_TCK = os.sysconf("SC_CLK_TCK")
WARMUP = 20
# Budgets (issue 6).
INIT_MS = 8.0
ZIP_BYTES = 4_000_000
RSS_BYTES = 40_000_000
CPU_RATIO = 0.1


# --- process measurements ---------------------------------------------------------------

def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / CLK_TCK


def peak_rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def zip_size(path: Path) -> int:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(path, "bootstrap")
    return len(buf.getvalue())


# --- the functions ------------------------------------------------------------------------

def function_env(stack_env: dict, deployed: dict, runtime: RuntimeApi, endpoint: str,
                 files_bucket: str, name: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "HOME")}
    env.update(deployed)
    env.update({
        "AWS_LAMBDA_RUNTIME_API": runtime.address,
        "AWS_LAMBDA_FUNCTION_NAME": f"bench-{name}",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/bench-{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "FILES_BUCKET": files_bucket,
        "MAX_FILES_PER_BUCKET": "1000000",
        "PUBLIC_BASE_URL": "https://bench.local",
    })
    return env


class Function:
    """One bootstrap process served by the runtime stand-in."""

    def __init__(self, bootstrap: Path, env: dict, runtime: RuntimeApi, log: Path | None = None):
        self.runtime = runtime
        runtime.expect_process()
        out = open(log, "ab") if log else subprocess.DEVNULL
        self.started_ns = time.perf_counter_ns()
        self.proc = subprocess.Popen([str(bootstrap)], env=env, stdout=out, stderr=out)
        self.init_ns = runtime.wait_first_next() - self.started_ns

    def invoke(self, event: dict) -> dict:
        kind, body = self.runtime.invoke(event)
        if kind != "response":
            raise RuntimeError(f"function error: {body[:300]!r}")
        return json.loads(body or b"null")

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def http_event(method: str, path: str, token: str, body=None, query: str = "",
               content_type: str = "application/json") -> dict:
    headers = {"host": "bench.local", "authorization": f"Bearer {token}",
               "content-type": content_type, "x-forwarded-proto": "https"}
    return {
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
        "headers": headers,
        "queryStringParameters": dict(urllib.parse.parse_qsl(query)) or None,
        "requestContext": {
            "accountId": "000000000000", "apiId": "bench", "domainName": "bench.local",
            "domainPrefix": "bench", "requestId": secrets.token_hex(8), "routeKey": "$default",
            "stage": "$default", "time": "24/Nov/2026:00:00:00 +0000", "timeEpoch": 0,
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "bench"},
        },
        "body": None if body is None else json.dumps(body), "isBase64Encoded": False,
    }


def s3_event(files_bucket: str, key: str, version: str, size: int) -> dict:
    return {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "eventName": "ObjectCreated:Put", "userIdentity": {"principalId": "bench"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": "bench", "x-amz-id-2": "bench"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "bench",
               "bucket": {"name": files_bucket, "ownerIdentity": {"principalId": "bench"},
                          "arn": f"arn:aws:s3:::{files_bucket}"},
               "object": {"key": urllib.parse.quote_plus(key, safe="/"), "versionId": version,
                          "size": size, "eTag": "", "sequencer": "0"}},
    }]}


def status_of(answer: dict) -> int:
    return int(answer.get("statusCode", 0))


def measure(fn: Function, counter: AwsCounter, events: list, check) -> dict:
    """Warm-up, then CPU and AWS calls over `events` (each answer passed to `check`)."""
    for e in events[:WARMUP]:
        check(fn.invoke(e))
    measured = events[WARMUP:]
    counter.reset()
    before = cpu_seconds(fn.proc.pid)
    t0 = time.perf_counter()
    for e in measured:
        check(fn.invoke(e))
    wall = time.perf_counter() - t0
    cpu = cpu_seconds(fn.proc.pid) - before
    calls = counter.counts()
    n = len(measured)
    return {
        "requests": n,
        "cpu_ms_per_request": round(cpu * 1000 / n, 4),
        "wall_ms_per_request": round(wall * 1000 / n, 3),
        "peak_rss_bytes": peak_rss_bytes(fn.proc.pid),
        "aws_calls_per_request": {k: round(v / n, 3) for k, v in sorted(calls.items())},
    }


def expect(status: int):
    def check(answer):
        if status_of(answer) != status:
            raise RuntimeError(f"expected {status}, got {answer.get('statusCode')}: "
                               f"{str(answer.get('body'))[:300]}")
    return check


# --- Kinto ---------------------------------------------------------------------------------

KINTO_INI = """[server:main]
use = egg:waitress#main
host = 127.0.0.1
port = {port}

[app:main]
use = egg:kinto
kinto.storage_backend = kinto.core.storage.memory
kinto.storage_url =
kinto.cache_backend = kinto.core.cache.memory
kinto.cache_url =
kinto.permission_backend = kinto.core.permission.memory
kinto.permission_url =
kinto.userid_hmac_secret = local-bench-only-not-a-secret
multiauth.policies = basicauth
kinto.bucket_create_principals = system.Authenticated

[loggers]
keys = root, kinto

[handlers]
keys = console

[formatters]
keys = plain

[logger_root]
level = WARNING
handlers = console

[logger_kinto]
level = WARNING
handlers = console
qualname = kinto
propagate = 0

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = plain

[formatter_plain]
format = %(message)s
"""


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_kinto(kinto_bin: Path, requests: int, starts: int) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="kinto-bench-"))
    auth = "Basic " + base64.b64encode(b"bench:bench-password").decode()
    start_ms = []
    result = {}
    for i in range(starts + 1):
        port = free_port()
        ini = workdir / "kinto.ini"
        ini.write_text(KINTO_INI.format(port=port))
        t0 = time.perf_counter()
        proc = subprocess.Popen([str(kinto_bin), "start", "--ini", str(ini)], cwd=workdir,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while True:
            try:
                conn = HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/v1/")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.perf_counter() - t0 > 60:
                proc.kill()
                raise RuntimeError("Kinto did not answer within 60 s")
            time.sleep(0.005)
        start_ms.append((time.perf_counter() - t0) * 1000)
        if i < starts:
            proc.kill()
            proc.wait()
            continue
        # The last one stays up for the CPU measurements.
        conn = HTTPConnection("127.0.0.1", port, timeout=30)

        def call(method, path, body=None):
            headers = {"Authorization": auth}
            data = None
            if body is not None:
                data = json.dumps(body)
                headers["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            payload = resp.read()
            if resp.status >= 300:
                raise RuntimeError(f"Kinto {method} {path}: {resp.status} {payload[:200]!r}")
            return json.loads(payload)

        def timed(name, make):
            for j in range(WARMUP):
                make(j)
            before = cpu_seconds(proc.pid)
            for j in range(requests):
                make(WARMUP + j)
            cpu = cpu_seconds(proc.pid) - before
            result[name] = {"requests": requests,
                            "cpu_ms_per_request": round(cpu * 1000 / requests, 4)}

        created = []
        timed("create bucket", lambda j: created.append(
            call("POST", "/v1/buckets", {"data": {"title": f"b{j}"}})["data"]["id"]))
        target = created[0]
        timed("get bucket", lambda j: call("GET", f"/v1/buckets/{target}"))
        timed("list a page of 100", lambda j: call("GET", "/v1/buckets?_limit=100"))
        timed("patch bucket", lambda j: call("PATCH", f"/v1/buckets/{target}",
                                             {"data": {"n": j}}))
        result["_peak_rss_bytes"] = peak_rss_bytes(proc.pid)
        proc.kill()
        proc.wait()
    return {"start_ms_median": round(statistics.median(start_ms[:starts]), 1),
            "start_ms": [round(x, 1) for x in start_ms[:starts]], "operations": result}


# --- the run -----------------------------------------------------------------------------------

FLOORS = {
    # operation: {call: count} at the floor (issue 6)
    "create bucket": {"dynamodb:TransactWriteItems": 1},
    "get bucket": {"dynamodb:GetItem": 1},
    # The key (one strongly consistent read by the id in the secret) and the bucket;
    # `last_used` is written at most once a minute per key, so well under 1 % of requests.
    "get bucket (API key)": {"dynamodb:GetItem": 2, "dynamodb:UpdateItem": 0.01},
    # One Query per principal partition (merged), then the page's buckets in one BatchGetItem
    # (docs/performance.md: index entries hold ids only, so uploads do not rewrite one entry per principal).
    "list a page of 100": {"dynamodb:Query": 3, "dynamodb:BatchGetItem": 1},
    "patch bucket": {"dynamodb:GetItem": 1, "dynamodb:TransactWriteItems": 1},
    # The bucket, then the upload grant (conditional on the incarnation being live); signing
    # is local: no S3 call.
    "presign an upload": {"dynamodb:GetItem": 1, "dynamodb:TransactWriteItems": 1},
    "process an upload event": None,
}


# Operations Kinto has no twin of, measured against the Kinto operation they extend.
KINTO_PEER = {"get bucket (API key)": "get bucket"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--cold-starts", type=int, default=20)
    parser.add_argument("--lambda-dir", default=str(ROOT / "target" / "lambda"))
    parser.add_argument("--kinto", default=str(ROOT / ".local" / "kinto" / "bin" / "kinto"))
    parser.add_argument("--out", default=str(ROOT / ".local" / "bench" / "functions.json"))
    parser.add_argument("--functions", required=True,
                        help="space-separated <LogicalId>:<bin> pairs (the Makefile's FUNCTIONS, "
                             "derived from the template)")
    args = parser.parse_args()
    # Binary name -> logical id in the template.
    logical_ids = dict(reversed(pair.split(":", 1)) for pair in args.functions.split())
    n = args.requests + WARMUP
    stack = local_env()
    lam = client("lambda", stack)
    names = stack["BUCKETS_FUNCTIONS"].split(",")
    deployed_names = {f: next(n for n in names if f"-{logical}-" in n)
                      for f, logical in logical_ids.items()}
    deployed = {k: lam.get_function_configuration(FunctionName=v)["Environment"]["Variables"]
                for k, v in deployed_names.items()}

    # Objects the benchmark uploads go to a bucket of their own, without event notifications,
    # so that the stack's upload-events function does not process them first.
    s3 = client("s3", stack)
    bench_bucket = "buckets-bench-" + secrets.token_hex(4)
    s3.create_bucket(Bucket=bench_bucket)
    # Versioned like the stack's files bucket: records pin the version an event names.
    s3.put_bucket_versioning(Bucket=bench_bucket, VersioningConfiguration={"Status": "Enabled"})

    runtime = RuntimeApi()
    counter = AwsCounter(stack["AWS_ENDPOINT_URL"])
    lambda_dir = Path(args.lambda_dir)
    results = {"functions": {}, "operations": {}}

    def env_for(name):
        return function_env(stack, deployed[name], runtime, counter.url, bench_bucket, name)

    # Sizes and init.
    for name in logical_ids:
        bootstrap = lambda_dir / name / "bootstrap"
        inits = []
        for _ in range(args.cold_starts):
            fn = Function(bootstrap, env_for(name), runtime)
            inits.append(fn.init_ns / 1e6)
            fn.stop()
        results["functions"][name] = {
            "binary_bytes": bootstrap.stat().st_size,
            "zip_bytes": zip_size(bootstrap),
            "init_ms_median": round(statistics.median(inits), 2),
            "init_ms": [round(x, 2) for x in inits],
        }
        print(f"{name}: init median {results['functions'][name]['init_ms_median']} ms",
              file=sys.stderr)

    user = "bench-" + secrets.token_hex(4)
    token = mint_token.mint(stack["BUCKETS_JWT_SECRET"], user, ["create_buckets"], 7200)
    ops = results["operations"]

    logs = Path(args.out).parent / "logs"
    logs.mkdir(parents=True, exist_ok=True)

    def run(op, name, events, check):
        log = logs / f"{op.replace(' ', '-')}.log"
        log.unlink(missing_ok=True)
        fn = Function(lambda_dir / name / "bootstrap", env_for(name), runtime, log)
        try:
            ops[op] = {"function": name, **measure(fn, counter, events, check)}
        finally:
            fn.stop()
        print(f"{op}: {ops[op]['cpu_ms_per_request']} ms CPU", file=sys.stderr)

    def invoke_once(name, event, status):
        """One request outside any measurement; its answer's JSON."""
        fn = Function(lambda_dir / name / "bootstrap", env_for(name), runtime)
        try:
            answer = fn.invoke(event)
        finally:
            fn.stop()
        expect(status)(answer)
        return json.loads(answer["body"])

    created = []

    def remember(answer):
        expect(201)(answer)
        created.append(json.loads(answer["body"])["data"]["id"])

    run("create bucket", "buckets",
        [http_event("POST", "/v1/buckets", token, {"data": {"title": f"b{i}"}})
         for i in range(n)], remember)
    target = created[0]
    run("get bucket", "buckets",
        [http_event("GET", f"/v1/buckets/{target}", token) for _ in range(n)], expect(200))
    key = invoke_once("buckets", http_event("POST", "/v1/keys", token, {"title": "bench"}), 201)
    run("get bucket (API key)", "buckets",
        [http_event("GET", f"/v1/buckets/{target}", key["secret"]) for _ in range(n)],
        expect(200))
    run("list a page of 100", "buckets",
        [http_event("GET", "/v1/buckets", token, query="_limit=100") for _ in range(n)],
        expect(200))
    run("patch bucket", "buckets",
        [http_event("PATCH", f"/v1/buckets/{target}", token, {"data": {"n": i}})
         for i in range(n)], expect(200))
    grants = []

    def granted(answer):
        expect(201)(answer)
        grants.append(json.loads(answer["body"])["data"][0])

    run("presign an upload", "files",
        [http_event("POST", f"/v1/buckets/{target}/files", token,
                    {"files": [{"name": f"f{i:05d}.csv", "size": 6, "content_type": "text/csv"}]})
         for i in range(n)], granted)
    # The uploads those grants allow, written straight to S3 (not through the counter).
    raw_s3 = boto3.client("s3", endpoint_url=stack["AWS_ENDPOINT_URL"], region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
    keys = []
    for g in grants:
        key = urllib.parse.unquote(urllib.parse.urlsplit(g["upload"]["url"]).path.split("/", 2)[2])
        put = raw_s3.put_object(Bucket=bench_bucket, Key=key, Body=b"1,2,3\n",
                                ContentType="text/csv", Metadata={"upload-id": g["upload_id"]})
        keys.append((key, put["VersionId"]))
    run("process an upload event", "upload-events",
        [s3_event(bench_bucket, k, v, 6) for k, v in keys], lambda answer: None)
    # Each event must have recorded its file (the function answers nothing; its log says).
    recorded = (logs / "process-an-upload-event.log").read_text().count('"file recorded"')
    if recorded != len(keys):
        raise SystemExit(f"{recorded} of {len(keys)} upload events recorded their file; see "
                         f"{logs / 'process-an-upload-event.log'}")

    kinto = None
    if Path(args.kinto).exists():
        kinto = bench_kinto(Path(args.kinto), args.requests, args.cold_starts)
        results["kinto"] = kinto
    runtime.close()
    counter.close()

    # --- report ---
    print()
    print(f"{'function':<15}{'binary':>11}{'zip':>11}{'init ms':>9}  budgets: zip <= 4 MB, "
          f"init <= {INIT_MS} ms (median of {args.cold_starts})")
    failures = []
    for name, f in results["functions"].items():
        ok = f["zip_bytes"] <= ZIP_BYTES and f["init_ms_median"] <= INIT_MS
        if not ok:
            failures.append(f"{name}: size/init")
        print(f"{name:<15}{f['binary_bytes']:>11}{f['zip_bytes']:>11}{f['init_ms_median']:>9}"
              f"  {'pass' if ok else 'FAIL'}")
    if kinto:
        print(f"{'Kinto':<15}{'':>11}{'':>11}{kinto['start_ms_median']:>9}  (process start to "
              f"first answer, median of {args.cold_starts})")
    print()
    print(f"{'operation':<25}{'CPU ms/req':>11}{'Kinto':>9}{'ratio':>8}{'RSS MB':>8}  AWS calls "
          f"per request (floor)")
    for op, m in ops.items():
        k = (kinto or {}).get("operations", {}).get(KINTO_PEER.get(op, op))
        ratio = m["cpu_ms_per_request"] / k["cpu_ms_per_request"] if k and k[
            "cpu_ms_per_request"] else None
        calls = m["aws_calls_per_request"]
        floor = FLOORS.get(op)
        # Every call made counts: a call the floor does not name is over it.
        at_floor = floor is None or all(v <= floor.get(c, 0) for c, v in calls.items())
        rss_ok = m["peak_rss_bytes"] <= RSS_BYTES
        cpu_ok = ratio is None or ratio <= CPU_RATIO
        m.update({"kinto_cpu_ms_per_request": k["cpu_ms_per_request"] if k else None,
                  "ratio_to_kinto": round(ratio, 4) if ratio is not None else None,
                  "floor": floor, "calls_within_floor": at_floor})
        verdicts = []
        if not rss_ok:
            verdicts.append("RSS")
        if not cpu_ok:
            verdicts.append("CPU")
        if not at_floor:
            verdicts.append("calls")
        failures += [f"{op}: {v}" for v in verdicts]
        call_text = ", ".join(f"{c.split(':')[1]} {v:g}" for c, v in calls.items())
        floor_text = "" if floor is None else " (" + ", ".join(
            f"{c.split(':')[1]} {v}" for c, v in floor.items()) + ")"
        print(f"{op:<25}{m['cpu_ms_per_request']:>11.3f}"
              f"{(format(k['cpu_ms_per_request'], '.3f') if k else '-'):>9}"
              f"{(f'1:{1 / ratio:.0f}' if ratio else '-'):>8}"
              f"{m['peak_rss_bytes'] / 1e6:>8.1f}  {call_text}{floor_text}"
              f"  {'pass' if not verdicts else 'FAIL ' + '/'.join(verdicts)}")
    print()
    print("budgets: " + ("all pass" if not failures else "FAILED: " + "; ".join(failures)))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    results["failures"] = failures
    out.write_text(json.dumps(results, indent=2))
    print(f"figures: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
