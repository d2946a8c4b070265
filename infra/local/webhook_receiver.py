#!/usr/bin/env python3
"""A webhook receiver for the end-to-end tests (tests/tests/e2e/webhooks.rs): it verifies every
delivery with the Standard Webhooks library (PyPI `standardwebhooks`, pinned in
infra/local/requirements-webhooks.txt, installed into .local/webhooks by `make e2e`), records
it and answers what a test scripted. Loopback only.

    .local/webhooks/bin/python3 infra/local/webhook_receiver.py --port 0 [--exit-on-eof] [--verbose]

Prints the port it listens on (one line, only that; --port 0 picks a free one), then serves
on 127.0.0.1 until killed (--exit-on-eof: also when its standard input closes, so it never
outlives the test process that started it).

Control API (JSON bodies):
  POST /_control/secret    {"path": "/a", "secret": "whsec_..."}   the secret that verifies
                           deliveries to /a (until set, they are recorded as not verified)
  POST /_control/script    {"path": "/a", "statuses": [500, 500]}  the answers to the next
                           deliveries to /a, in order; after them (and by default) 200
  GET  /_control/received?path=/a                                  the deliveries to /a, oldest
                           first: [{"webhook_id", "timestamp", "verified", "verify_error",
                           "body" (parsed JSON, null if not JSON), "status_answered",
                           "received_at" (ms)}]

Any other POST is a delivery to its path (the query string left out): verified with
`Webhook(secret).verify(body, headers)` (signature over id, timestamp and body, timestamp within
5 minutes), recorded, and answered with the scripted status whether verified or not (the tests
assert `verified`).
"""

import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from standardwebhooks.webhooks import Webhook

HOST = "127.0.0.1"
MAX_BODY = 1024 * 1024


class State:
    """Secrets, scripts and received deliveries per path; one lock for all."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.secrets: dict[str, str] = {}
        self.scripts: dict[str, list[int]] = {}
        self.received: dict[str, list[dict]] = {}

    def next_status(self, path: str) -> int:
        with self.lock:
            script = self.scripts.get(path)
            return script.pop(0) if script else 200


STATE = State()


def verify(secret: str | None, body: bytes, headers: dict[str, str]) -> tuple[bool, str | None]:
    if not secret:
        return False, "no secret set for this path"
    try:
        Webhook(secret).verify(body, headers, json_parse=False)
        return True, None
    except Exception as e:  # WebhookVerificationError, a malformed header or secret
        return False, f"{type(e).__name__}: {e}"


class Handler(BaseHTTPRequestHandler):
    server_version = "webhook-receiver"
    verbose = False

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        if self.verbose:
            sys.stderr.write("webhook_receiver: %s\n" % (format % args))

    def answer(self, status: int, value=None) -> None:
        body = json.dumps(value if value is not None else {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()  # the CRLF after each chunk
                if len(body) > MAX_BODY:
                    raise ValueError(f"body longer than {MAX_BODY} bytes")
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY:
            raise ValueError(f"Content-Length {length} out of range")
        return self.rfile.read(length)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path != "/_control/received":
            return self.answer(404, {"error": f"no GET route {url.path}"})
        path = parse_qs(url.query).get("path", [""])[0]
        if not path:
            return self.answer(400, {"error": "?path= is required"})
        with STATE.lock:
            records = list(STATE.received.get(path, []))
        self.answer(200, records)

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        try:
            body = self.read_body()
        except ValueError as e:
            return self.answer(400, {"error": str(e)})
        if path.startswith("/_control/"):
            return self.control(path, body)
        headers = dict(self.headers.items())
        with STATE.lock:
            secret = STATE.secrets.get(path)
        verified, why = verify(secret, body, headers)
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        timestamp = self.headers.get("webhook-timestamp")
        status = STATE.next_status(path)
        record = {
            "webhook_id": self.headers.get("webhook-id"),
            "timestamp": int(timestamp) if timestamp and timestamp.isdigit() else timestamp,
            "verified": verified,
            "verify_error": why,
            "body": parsed,
            "status_answered": status,
            "received_at": int(time.time() * 1000),
        }
        with STATE.lock:
            STATE.received.setdefault(path, []).append(record)
        self.answer(status, {"received": verified})

    def control(self, path: str, body: bytes) -> None:
        try:
            req = json.loads(body or b"{}")
            target = req["path"]
            if not isinstance(target, str) or not target.startswith("/") or target.startswith("/_control/"):
                raise ValueError("path must be a path such as /a, outside /_control/")
            if path == "/_control/secret":
                secret = req["secret"]
                if not isinstance(secret, str) or not secret:
                    raise ValueError("secret must be a non-empty string")
                Webhook(secret)  # a malformed secret is refused now, not at the first delivery
                with STATE.lock:
                    STATE.secrets[target] = secret
            elif path == "/_control/script":
                statuses = req["statuses"]
                if not isinstance(statuses, list) or not all(
                        isinstance(s, int) and 100 <= s <= 599 for s in statuses):
                    raise ValueError("statuses must be a list of HTTP statuses")
                with STATE.lock:
                    STATE.scripts[target] = list(statuses)
            else:
                return self.answer(404, {"error": f"no control route {path}"})
        except Exception as e:  # a missing key, a wrong type, a malformed secret
            return self.answer(400, {"error": f"{type(e).__name__}: {e}"})
        self.answer(200, {"ok": True})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one, printed)")
    parser.add_argument("--exit-on-eof", action="store_true", help="exit when standard input closes")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args()
    Handler.verbose = args.verbose
    server = ThreadingHTTPServer((HOST, args.port), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    if args.exit_on_eof:
        def watch() -> None:
            sys.stdin.buffer.read()  # returns at EOF: the parent is gone or closed the pipe
            server.shutdown()
        threading.Thread(target=watch, daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
