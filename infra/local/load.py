#!/usr/bin/env python3
"""Load test of the local Buckets stack: N concurrent clients, a fixed mixed workload, then a
check that nothing was lost (used by `make load` and, with a small N, by `make test`).

    python3 infra/local/load.py --clients 32 --iterations 6 --duration 120

Stdlib only (threads + http.client), loopback only: it refuses an API or presigned URL whose
host is not 127.0.0.1 / localhost / ::1. Reads BUCKETS_API_URL and BUCKETS_JWT_SECRET from the
environment, else from .local/env (written by `make local`).

Setup (not timed): an admin creates one shared bucket every authenticated user may write.
Each client (user `load-<run>-<i>`, privilege create_buckets) creates its home bucket, then runs
at most --iterations iterations, and starts no new one after --duration seconds:

  create      POST /v1/buckets                      a scratch bucket
  read        GET  /v1/buckets/<scratch>
  patch_data  PATCH .../<shared>/data {"c<i>k<k>": k} (every client, one document: lost updates?)
              PATCH .../<home>/data   {"k<k>": k}
  list        GET  /v1/buckets?_limit=20
  grant       POST /v1/buckets/<home>/files           one small text file f<k>.txt
  put_s3      PUT  <upload.url> with exactly upload.headers (the presigned S3 URL)
  status      GET  <status_uri> until not pending     (each poll is a request; the time from
                                                       grant to recorded is `upload_recorded`)
  delete_file DELETE .../<home>/files/f<k-1>.txt     every third iteration (k % 3 == 2)
  delete      DELETE /v1/buckets/<scratch>           odd iterations (even ones keep it)

Then it checks (not timed): every key each client wrote is in the shared document and in its
home document; each home bucket's file_count, total_bytes and file listing (names and sizes)
are exactly what the client uploaded minus what it deleted; every kept scratch bucket reads
200 and every deleted one 403. Finally it deletes what it created (--keep leaves it).

Any 5xx or unexpected status is an error. Exit status: 0 when there was no error and nothing
was lost, 1 otherwise.
"""

import argparse
import http.client
import json
import os
import sys
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import mint_token  # noqa: E402

ENV_FILE = Path(__file__).resolve().parents[2] / ".local" / "env"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
UPLOAD_WAIT_SECONDS = 60.0
POLL_INTERVAL = 0.05


def env_value(name: str) -> str | None:
    if os.environ.get(name):
        return os.environ[name]
    return mint_token.value_from_env_file(ENV_FILE, name)


def loopback_or_die(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if host not in LOOPBACK:
        raise SystemExit(f"load: refusing a non-loopback URL: {url}")


class Stats:
    """Latencies per operation, request count, errors; shared by all client threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self.errors: list[str] = []
        self.requests = 0

    def record(self, op: str, seconds: float, status: int, ok: bool, what: str) -> None:
        with self.lock:
            self.requests += 1
            self.latencies[op].append(seconds)
            self.statuses[op][status] += 1
            if not ok:
                self.errors.append(f"{op}: {what}")

    def error(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)


class Http:
    """One client's HTTP: one request per connection (no stale keep-alive sockets to retry,
    so no request is ever sent twice)."""

    def __init__(self, api_url: str, token: str | None, stats: Stats, timeout: float = 60.0):
        self.base = api_url.rstrip("/")
        parts = urlsplit(self.base)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.token = token
        self.stats = stats
        self.timeout = timeout

    def resolve(self, url: str) -> str:
        """The one URL rule (docs/api.md): absolute as is, host-relative from the origin, else from the base."""
        if "://" in url:
            return url
        if url.startswith("/"):
            return self.origin + url
        return f"{self.base}/{url}"

    def raw(self, method: str, url: str, headers: dict, body: bytes | None):
        loopback_or_die(url)
        parts = urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=self.timeout)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request(method, target, body=body, headers={**headers, "Connection": "close"})
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, data
        finally:
            conn.close()

    def call(self, op: str, method: str, path: str, expect: tuple[int, ...], body=None,
             content_type: str = "application/json", headers: dict | None = None,
             auth: bool = True):
        """One timed request. Returns (status, parsed JSON or None); any status outside
        `expect` (every 5xx included) counts as an error."""
        # `path` is an absolute URL (presigned, or resolved by the caller) or a path under the base.
        url = path if "://" in path else self.base + path
        h = dict(headers or {})
        if auth and self.token:
            h["Authorization"] = f"Bearer {self.token}"
        payload = None
        if body is not None:
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            if not any(k.lower() == "content-type" for k in h):
                h["Content-Type"] = content_type
        started = time.perf_counter()
        try:
            status, data = self.raw(method, url, h, payload)
        except Exception as e:  # noqa: BLE001 - transport failure: an error, counted
            self.stats.record(op, time.perf_counter() - started, 0, False,
                              f"{method} {path}: {type(e).__name__}: {e}")
            return 0, None
        elapsed = time.perf_counter() - started
        ok = status in expect
        self.stats.record(op, elapsed, status, ok,
                          f"{method} {path} -> {status} (expected {expect}): {data[:300]!r}")
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = None
        return status, parsed


class Client(threading.Thread):
    def __init__(self, index: int, run: str, args, api_url: str, secret: str, shared: str,
                 stats: Stats, deadline: float):
        super().__init__(name=f"client-{index}", daemon=True)
        self.index = index
        self.sub = f"load-{run}-{index}"
        self.token = mint_token.mint(secret, self.sub, ["create_buckets"], 3600)
        self.http = Http(api_url, self.token, stats)
        self.stats = stats
        self.args = args
        self.shared = shared
        self.deadline = deadline
        self.home = f"ld{run}c{index}"
        self.shared_keys: dict[str, int] = {}   # written to the shared document (200 answered)
        self.home_keys: dict[str, int] = {}     # written to the home document
        self.files: dict[str, int] = {}         # name -> size, recorded in the home bucket
        self.kept: list[str] = []               # scratch buckets left in place
        self.deleted: list[str] = []            # scratch buckets deleted
        self.iterations = 0
        self.recorded_latencies: list[float] = []

    def run(self) -> None:
        try:
            self.work()
        except Exception as e:  # noqa: BLE001 - a bug or a broken answer: an error, not a hang
            self.stats.error(f"client {self.index}: {type(e).__name__}: {e}")

    def work(self) -> None:
        h = self.http
        status, _ = h.call("create", "POST", "/v1/buckets", (201,), {"data": {"id": self.home}})
        if status != 201:
            return
        for k in range(self.args.iterations):
            if time.monotonic() >= self.deadline:
                break
            self.iteration(k)
            self.iterations += 1

    def iteration(self, k: int) -> None:
        h = self.http
        scratch = f"{self.home}s{k}"
        status, _ = h.call("create", "POST", "/v1/buckets", (201,), {"data": {"id": scratch}})
        created = status == 201
        h.call("read", "GET", f"/v1/buckets/{scratch}", (200,) if created else (200, 403))

        key = f"c{self.index}k{k}"
        status, _ = h.call("patch_data", "PATCH", f"/v1/buckets/{self.shared}/data", (200,),
                           {"data": {key: k}})
        if status == 200:
            self.shared_keys[key] = k
        status, _ = h.call("patch_data", "PATCH", f"/v1/buckets/{self.home}/data", (200,),
                           {"data": {f"k{k}": k}})
        if status == 200:
            self.home_keys[f"k{k}"] = k

        h.call("list", "GET", "/v1/buckets?_limit=20", (200,))

        name = f"f{k}.txt"
        content = (f"load {self.sub} file {k} " + "x" * (k * 7 % 50) + "\n").encode()
        self.upload(name, content)

        if k % 3 == 2 and f"f{k - 1}.txt" in self.files:
            status, _ = h.call("delete_file", "DELETE", f"/v1/buckets/{self.home}/files/f{k - 1}.txt",
                               (200,))
            if status == 200:
                del self.files[f"f{k - 1}.txt"]

        if created:
            if k % 2 == 1:
                status, _ = h.call("delete", "DELETE", f"/v1/buckets/{scratch}", (200,))
                (self.deleted if status == 200 else self.kept).append(scratch)
            else:
                self.kept.append(scratch)

    def upload(self, name: str, content: bytes) -> None:
        h = self.http
        started = time.perf_counter()
        status, grant = h.call("grant", "POST", f"/v1/buckets/{self.home}/files", (201,),
                               {"files": [{"name": name, "size": len(content),
                                           "content_type": "text/plain"}]})
        if status != 201:
            return
        g = grant["data"][0]
        url = g["upload"]["url"]
        # Exactly the signed headers (Content-Length among them), nothing else.
        status, _ = h.call("put_s3", "PUT", url, (200,), content, headers=g["upload"]["headers"],
                           auth=False)
        if status != 200:
            return
        status_url = h.resolve(g["status_uri"])  # host-relative: from the API's origin
        until = time.monotonic() + UPLOAD_WAIT_SECONDS
        while True:
            status, body = h.call("status", "GET", status_url, (200,))
            state = (body or {}).get("data", {}).get("status") if status == 200 else None
            if state == "recorded":
                self.files[name] = len(content)
                self.recorded_latencies.append(time.perf_counter() - started)
                return
            if state != "pending":
                self.stats.error(f"upload {self.home}/{name}: status {status} {state!r}: {body}")
                return
            if time.monotonic() >= until:
                self.stats.error(f"upload {self.home}/{name}: still pending after {UPLOAD_WAIT_SECONDS:.0f} s")
                return
            time.sleep(POLL_INTERVAL)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


def verify(clients: list[Client], admin: Http, shared: str) -> list[str]:
    """What was written and answered 2xx must all be there."""
    lost: list[str] = []
    check = Stats()
    admin = Http(admin.base, admin.token, check)
    status, doc = admin.call("verify", "GET", f"/v1/buckets/{shared}/data", (200,))
    shared_doc = (doc or {}).get("data", {}) if status == 200 else {}
    for c in clients:
        for key, value in c.shared_keys.items():
            if shared_doc.get(key) != value:
                lost.append(f"shared document: key {key} = {shared_doc.get(key)!r}, wrote {value}")
        status, doc = admin.call("verify", "GET", f"/v1/buckets/{c.home}/data", (200,))
        home_doc = (doc or {}).get("data", {}) if status == 200 else {}
        for key, value in c.home_keys.items():
            if home_doc.get(key) != value:
                lost.append(f"{c.home} document: key {key} = {home_doc.get(key)!r}, wrote {value}")
        status, bucket = admin.call("verify", "GET", f"/v1/buckets/{c.home}", (200,))
        data = (bucket or {}).get("data", {})
        want_count, want_bytes = len(c.files), sum(c.files.values())
        if (data.get("file_count"), data.get("total_bytes")) != (want_count, want_bytes):
            lost.append(f"{c.home}: file_count/total_bytes {data.get('file_count')}/{data.get('total_bytes')},"
                        f" expected {want_count}/{want_bytes}")
        status, listing = admin.call("verify", "GET", f"/v1/buckets/{c.home}/files?_limit=1000", (200,))
        listed = {f["name"]: f["size"] for f in (listing or {}).get("data", [])}
        if listed != c.files:
            lost.append(f"{c.home}: listing {sorted(listed.items())} != expected {sorted(c.files.items())}")
        for b in c.kept:
            status, _ = admin.call("verify", "GET", f"/v1/buckets/{b}", (200,))
            if status != 200:
                lost.append(f"{b}: kept bucket answers {status}")
        for b in c.deleted:
            # As its owner (admin could read a deleted id's 403 too; the owner must not see it).
            status, _ = c.http.call("verify", "GET", f"/v1/buckets/{b}", (403,))
            if status != 403:
                lost.append(f"{b}: deleted bucket answers {status}")
    lost.extend(f"verification request failed: {e}" for e in check.errors)
    return lost


def cleanup(clients: list[Client], admin: Http, shared: str) -> list[str]:
    quiet = Stats()
    h = Http(admin.base, admin.token, quiet)
    for c in clients:
        for b in [*c.kept, c.home]:
            h.call("cleanup", "DELETE", f"/v1/buckets/{b}", (200, 403))
    h.call("cleanup", "DELETE", f"/v1/buckets/{shared}", (200,))
    return quiet.errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (N)")
    parser.add_argument("--iterations", type=int, default=6, help="iterations per client, at most")
    parser.add_argument("--duration", type=float, default=120.0,
                        help="seconds after which no client starts a new iteration")
    parser.add_argument("--keep", action="store_true", help="leave the buckets in place")
    args = parser.parse_args()
    if args.clients < 1 or args.iterations < 1:
        parser.error("--clients and --iterations must be at least 1")

    api_url = env_value("BUCKETS_API_URL")
    secret = env_value("BUCKETS_JWT_SECRET")
    if not api_url or not secret:
        print("load: BUCKETS_API_URL / BUCKETS_JWT_SECRET not set: run `make local` (writes .local/env)",
              file=sys.stderr)
        return 1
    loopback_or_die(api_url)

    run = uuid.uuid4().hex[:6]
    stats = Stats()
    admin = Http(api_url, mint_token.mint(secret, f"load-{run}-admin", ["admin"], 3600), Stats())
    shared = f"ld{run}shared"
    status, body = admin.call("setup", "POST", "/v1/buckets", (201,),
                              {"data": {"id": shared},
                               "permissions": {"write": ["system.Authenticated"]}})
    if status != 201:
        print(f"load: cannot create the shared bucket: {status} {body}", file=sys.stderr)
        return 1

    print(f"load: {args.clients} clients x at most {args.iterations} iterations "
          f"(no new iteration after {args.duration:.0f} s), run {run}, {api_url}", flush=True)
    started = time.monotonic()
    clients = [Client(i, run, args, api_url, secret, shared, stats, started + args.duration)
               for i in range(args.clients)]
    for c in clients:
        c.start()
    for c in clients:
        # Bounded: an iteration is at most a few requests of <= 60 s each plus one upload wait.
        c.join(timeout=args.duration + 900)
    wall = time.monotonic() - started
    hung = [c.name for c in clients if c.is_alive()]
    if hung:
        stats.error(f"clients still running after the time bound: {', '.join(hung)}")

    ops = ["create", "read", "patch_data", "list", "grant", "put_s3", "status", "delete_file", "delete"]
    all_latencies = [x for op in ops for x in stats.latencies.get(op, [])]
    iterations = sum(c.iterations for c in clients)
    print(f"\n{stats.requests} requests in {wall:.1f} s = {stats.requests / wall:.1f} requests/s "
          f"({iterations} iterations by {args.clients} clients)")
    print(f"{'operation':<16}{'count':>7}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}  statuses")
    for op in ops:
        lat = stats.latencies.get(op, [])
        if not lat:
            continue
        codes = " ".join(f"{s}x{n}" for s, n in sorted(stats.statuses[op].items()))
        print(f"{op:<16}{len(lat):>7}{percentile(lat, 50) * 1000:>9.0f}{percentile(lat, 99) * 1000:>9.0f}"
              f"{max(lat) * 1000:>9.0f}  {codes}")
    print(f"{'all requests':<16}{len(all_latencies):>7}{percentile(all_latencies, 50) * 1000:>9.0f}"
          f"{percentile(all_latencies, 99) * 1000:>9.0f}{max(all_latencies, default=0) * 1000:>9.0f}")
    recorded = [x for c in clients for x in c.recorded_latencies]
    if recorded:
        print(f"{'upload_recorded':<16}{len(recorded):>7}{percentile(recorded, 50) * 1000:>9.0f}"
              f"{percentile(recorded, 99) * 1000:>9.0f}{max(recorded) * 1000:>9.0f}"
              "  (grant -> PUT -> status recorded, end to end)")

    lost = verify(clients, admin, shared)
    server_errors = sum(n for op in stats.statuses.values() for s, n in op.items() if s >= 500)
    shared_keys = sum(len(c.shared_keys) for c in clients)
    files = sum(len(c.files) for c in clients)
    print(f"\nerrors: {len(stats.errors)} (5xx: {server_errors})")
    for e in stats.errors[:20]:
        print(f"  {e}")
    print(f"lost writes: {len(lost)} (checked {shared_keys} keys in the shared document, "
          f"{sum(len(c.home_keys) for c in clients)} in {len(clients)} home documents, "
          f"{files} files with counts, bytes and listings, "
          f"{sum(len(c.kept) + len(c.deleted) for c in clients)} scratch buckets)")
    for message in lost[:20]:
        print(f"  {message}")

    if not args.keep:
        for e in cleanup(clients, admin, shared):
            print(f"  cleanup: {e}")
    ok = not stats.errors and not lost
    print("load: OK" if ok else "load: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
