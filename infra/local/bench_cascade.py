#!/usr/bin/env python3
"""Delete-cascade benchmark on the local stack (`make bench-cascade N=5000`).

    bench_cascade.py [--files N] [--revisions R] [--workers W] [--pass-seconds S]

1. Creates a bucket through the API and fills it through the API: N files (upload grants of
   100 at a time, N presigned PUTs straight to S3, each recorded by the upload-events
   function), R data revisions. The file limit is raised to N for the run and restored after.
2. Deletes the bucket (DELETE /v1/buckets/{id}) and waits until the cascade has removed
   everything of that incarnation: no object under its S3 prefix, no item in its partitions,
   no marker (the same check as the end-to-end tests, `leftovers.py`).
3. Prints the time from the DELETE to the last leftover gone, and the AWS calls the cascade
   made (from its "cascade finished" log line) next to the floor:
   ceil(objects/1000) DeleteObjects + ceil(items/25) BatchWriteItem + the list/query pages.
   With --pass-seconds the cascade's pass length is set that low for the run (restored after),
   to show a cascade finishing over several invocations; each new pass lists again from the
   start, so only the delete calls stay at their floor then.

Local figures include the emulator's overhead (~50 ms per invocation, a Python S3 and
DynamoDB); they show the call counts and that the cascade finishes, not AWS latency.
"""

import argparse
import concurrent.futures
import json
import math
import secrets
import sys
import time
import urllib.error
import urllib.request

import function_env
import mint_token
from function_env import local_env
from leftovers import leftovers


def api(env, token, method, path, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(env["BUCKETS_API_URL"] + path, data=data, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        raise SystemExit(f"{method} {path}: {e.code} {e.read()[:300]!r}")


def put_object(upload: dict, body: bytes):
    headers = {k: v for k, v in upload["headers"].items() if k.lower() != "content-length"}
    req = urllib.request.Request(upload["url"], data=body, method="PUT", headers=headers)
    with urllib.request.urlopen(req, timeout=60) as resp:
        assert resp.status == 200, resp.status


def fill(env, token, bucket_id, files, revisions, workers):
    started = time.monotonic()
    for r in range(revisions):
        api(env, token, "PATCH", f"/v1/buckets/{bucket_id}/data", {"data": {f"k{r}": r}})
    uploads = []
    for first in range(0, files, 100):
        wanted = [
            {"name": f"f{i:07d}.csv", "size": len(f"{i}\n"), "content_type": "text/csv"}
            for i in range(first, min(first + 100, files))
        ]
        _, granted = api(env, token, "POST", f"/v1/buckets/{bucket_id}/files", {"files": wanted})
        uploads += [(g["upload"], f"{int(g['name'][1:8])}\n".encode()) for g in granted["data"]]
    generation = uploads[0][0]["url"].split("?")[0].split("/")[5] if uploads else None
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda u: put_object(*u), uploads))
    # Every object is recorded by the upload-events function (asynchronously).
    deadline = time.monotonic() + max(120, files / 5)
    while True:
        _, bucket = api(env, token, "GET", f"/v1/buckets/{bucket_id}")
        if bucket["data"]["file_count"] >= files:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"only {bucket['data']['file_count']} of {files} files recorded")
        time.sleep(1)
    return generation, time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--revisions", type=int, default=12)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--pass-seconds", type=int, default=None)
    args = parser.parse_args()
    env = local_env()
    token = mint_token.mint(env["BUCKETS_JWT_SECRET"], "cascade-bench", ["create_buckets"], 7200)
    bucket_id = "bench-" + secrets.token_hex(4)
    limit = max(args.files, 100)
    function_env.set_env(env, {"MAX_FILES_PER_BUCKET": str(limit)})
    try:
        api(env, token, "PUT", f"/v1/buckets/{bucket_id}", {"data": {"title": "cascade bench"}})
        generation, fill_s = fill(env, token, bucket_id, args.files, args.revisions, args.workers)
        if generation is None:
            _, g = api(env, token, "POST", f"/v1/buckets/{bucket_id}/files",
                       {"files": [{"name": "x", "size": 1, "content_type": "text/plain"}]})
            generation = g["data"][0]["upload"]["url"].split("?")[0].split("/")[5]
    finally:
        function_env.set_env(env, {"MAX_FILES_PER_BUCKET": "100"})
    before = leftovers(env, bucket_id, generation)
    objects = len(before["objects"])
    items = len(before["items"]) - 1  # the bucket item goes with the DELETE itself
    print(f"filled {bucket_id}/{generation}: {objects} objects, {items} items under the "
          f"incarnation, in {fill_s:.1f} s")

    if args.pass_seconds is not None:
        function_env.set_env(env, {"CASCADE_PASS_SECONDS": str(args.pass_seconds)})
    try:
        since_ms = int(time.time() * 1000)
        t0 = time.monotonic()
        api(env, token, "DELETE", f"/v1/buckets/{bucket_id}")
        delete_s = time.monotonic() - t0
        while True:
            left = leftovers(env, bucket_id, generation)
            if not left["objects"] and not left["items"]:
                break
            if time.monotonic() - t0 > 900:
                raise SystemExit(f"cascade not finished after 900 s: {len(left['objects'])} "
                                 f"objects, {len(left['items'])} items left")
            time.sleep(0.25)
        total_s = time.monotonic() - t0
    finally:
        if args.pass_seconds is not None:
            function_env.set_env(env, {"CASCADE_PASS_SECONDS": "300"})

    marker = f"{bucket_id}#{generation}"
    finished = []
    for _ in range(40):
        finished = [f for f in function_env_logs(env, since_ms) if f.get("marker") == marker]
        if finished:
            break
        time.sleep(0.25)
    if not finished:
        raise SystemExit("no 'cascade finished' log line for " + marker)
    calls = finished[-1]
    # Items the cascade deletes: everything but the bucket item and the marker (the DELETE
    # handles both). The marker's own read/write/delete are the "other" calls.
    floor_delete_objects = math.ceil(objects / 1000)
    # A Query page stops at 1000 keys, and one that stops there says more may follow: a set of
    # n items takes n // 1000 + 1 pages. Six partitions (D, F, U, R, V: kept file versions since
    # the layout became one versioned key per file; S: SFTP users) and two ranges (the file
    # markers', the SFTP registration's).
    partitions = {}
    for pk, _ in before["items"]:
        if not pk.startswith("B#"):
            partitions[pk] = partitions.get(pk, 0) + 1
    query_floor = sum(n // 1000 + 1 for n in partitions.values()) + (8 - len(partitions))
    floor_batch_write = math.ceil(items / 25)
    rows = [
        ("DeleteObjects", calls["delete_objects"], floor_delete_objects),
        ("BatchWriteItem", calls["batch_write_item"], floor_batch_write),
        ("ListObjectVersions pages", calls["list_objects"], max(1, math.ceil(objects / 1000))),
        ("Query pages", calls["query"], query_floor),
        ("marker + index calls", calls["other_calls"], 2),
    ]
    print()
    print(f"cascade of {objects} objects and {items} items: DELETE answered in "
          f"{delete_s * 1000:.0f} ms; everything gone {total_s:.2f} s after the DELETE "
          f"({calls['passes']} pass(es))")
    print(f"{'call':<22}{'made':>8}{'floor':>8}")
    for name, made, floor in rows:
        print(f"{name:<22}{made:>8}{'' if floor is None else floor:>8}")
    print(f"{'total':<22}{calls['calls']:>8}")
    print(f"deleted: {calls['objects_deleted']} objects, {calls['items_deleted']} items")
    at_floor = (calls["delete_objects"] == floor_delete_objects
                and calls["batch_write_item"] == floor_batch_write
                and (calls["passes"] > 1 or calls["query"] == query_floor))
    print("calls at the floor: " + ("yes" if at_floor else "NO"))
    result = {
        "files": args.files, "objects": objects, "items": items, "seconds": round(total_s, 3),
        "delete_ms": round(delete_s * 1000), "passes": calls["passes"], "calls": calls,
        "floor": {"delete_objects": floor_delete_objects, "batch_write_item": floor_batch_write,
                  "query": query_floor},
    }
    print("json: " + json.dumps(result))
    return 0 if at_floor else 1


def function_env_logs(env, since_ms):
    from function_logs import matching
    return matching(env, "BUCKETS_CASCADE_FUNCTION", since_ms, "cascade finished")


if __name__ == "__main__":
    sys.exit(main())
