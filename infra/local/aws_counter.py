"""A counting pass-through in front of the local AWS emulator (benchmark use): functions get
its address as AWS_ENDPOINT_URL, and every AWS call they make is counted by operation
(DynamoDB: the X-Amz-Target; S3: method and path) before it is forwarded unchanged (the Host
header too, so signatures still verify).

    counter = AwsCounter("http://127.0.0.1:4566")
    env["AWS_ENDPOINT_URL"] = counter.url
    counter.reset(); ...; counter.counts()   # {"dynamodb:GetItem": 1000, ...}
"""

import collections
import http.client
import threading
import urllib.parse

from quiet_http import QuietHandler, serve

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-authorization", "proxy-authenticate"}


def operation(method: str, path: str, headers) -> str:
    target = headers.get("X-Amz-Target")
    if target:
        service, _, op = target.partition(".")
        return ("dynamodb:" if service.startswith("DynamoDB") else service + ":") + op
    parsed = urllib.parse.urlsplit(path)
    query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
    has_key = parsed.path.strip("/").count("/") >= 1
    if method == "HEAD":
        return "s3:HeadObject" if has_key else "s3:HeadBucket"
    if method == "GET":
        if not has_key:
            return "s3:ListObjectsV2" if query.get("list-type") == ["2"] else "s3:ListObjects"
        return "s3:GetObject"
    if method == "POST" and "delete" in query:
        return "s3:DeleteObjects"
    if method == "PUT":
        return "s3:PutObject" if has_key else "s3:PutBucket"
    if method == "DELETE":
        return "s3:DeleteObject" if has_key else "s3:DeleteBucket"
    return f"{method.lower()}:{parsed.path}"


class _Handler(QuietHandler):
    def _forward(self):
        counter = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        counter.count(operation(self.command, self.path, self.headers))
        upstream = counter.connection()
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            resp = upstream.getresponse()
            data = resp.read()
        except (http.client.HTTPException, OSError):
            counter.drop_connection()
            raise
        self.send_response(resp.status, resp.reason)
        # A HEAD answer has no body but says the object's length: keep that one as it is.
        keep_length = self.command == "HEAD"
        for k, v in resp.getheaders():
            if k.lower() in HOP_BY_HOP or (k.lower() == "content-length" and not keep_length):
                continue
            self.send_header(k, v)
        if not keep_length:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD" and data:
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = _forward


class AwsCounter:
    def __init__(self, upstream: str):
        parsed = urllib.parse.urlsplit(upstream)
        self._upstream = (parsed.hostname, parsed.port or 80)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._counts: collections.Counter = collections.Counter()
        self.server = serve(_Handler, self)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(*self._upstream, timeout=60)
            self._local.conn = conn
        return conn

    def drop_connection(self):
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def count(self, op: str):
        with self._lock:
            self._counts[op] += 1

    def reset(self):
        with self._lock:
            self._counts.clear()

    def counts(self) -> dict:
        with self._lock:
            return dict(self._counts)

    def close(self):
        self.server.shutdown()
