"""A stand-in for the Lambda runtime API (benchmark use): it hands events to a real `bootstrap`
process over the same HTTP protocol Lambda uses, and timestamps the process's first request
for an event (the end of its init).

    rt = RuntimeApi()                       # listens on 127.0.0.1, a free port
    env["AWS_LAMBDA_RUNTIME_API"] = rt.address
    rt.expect_process()
    started = time.perf_counter_ns(); p = subprocess.Popen(...)
    init_ns = rt.wait_first_next() - started
    status, body = rt.invoke({"...": "..."})

Protocol: GET /2018-06-01/runtime/invocation/next (blocks until an event is queued),
POST /2018-06-01/runtime/invocation/<id>/response | /error, POST /2018-06-01/runtime/init/error.
"""

import itertools
import json
import queue
import threading
import time

from quiet_http import QuietHandler, serve

PREFIX = "/2018-06-01/runtime"


class _Handler(QuietHandler):
    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _answer(self, status: int, body: bytes = b"", headers: dict | None = None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_GET(self):
        if self.path != f"{PREFIX}/invocation/next":
            return self._answer(404)
        rt = self.server.owner
        generation = rt.note_next()
        while True:
            try:
                item = rt.events.get(timeout=0.2)
            except queue.Empty:
                if rt.closing.is_set() or rt.generation != generation:
                    # Closed, or this request came from a process that was replaced.
                    self.close_connection = True
                    return self._answer(500, b'{"errorMessage":"runtime API closed"}')
                continue
            if rt.generation != generation:
                rt.events.put(item)  # not for a replaced process
                self.close_connection = True
                return self._answer(500, b'{"errorMessage":"process replaced"}')
            request_id, event = item
            deadline_ms = int(time.time() * 1000) + 900_000
            try:
                return self._answer(200, json.dumps(event).encode(), {
                    "Content-Type": "application/json",
                    "Lambda-Runtime-Aws-Request-Id": request_id,
                    "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                    "Lambda-Runtime-Invoked-Function-Arn":
                        "arn:aws:lambda:us-east-1:000000000000:function:bench",
                    "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000",
                })
            except OSError:
                rt.events.put(item)  # the process went away: the event is not lost
                raise

    def do_POST(self):
        body = self._read_body()
        rt = self.server.owner
        parts = self.path[len(PREFIX):].strip("/").split("/")
        if parts[:2] == ["init", "error"]:
            rt.init_error = body.decode(errors="replace")
            rt.first_next_event.set()
            return self._answer(202)
        if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
            rt.finish(parts[1], parts[2], body)
            return self._answer(202)
        return self._answer(404)


class RuntimeApi:
    def __init__(self):
        self.events: queue.Queue = queue.Queue()
        self.closing = threading.Event()
        self.first_next_event = threading.Event()
        self.first_next_ns: int | None = None
        self.generation = 0
        self.init_error: str | None = None
        self._ids = itertools.count()
        self._results: dict[str, tuple] = {}
        self._done: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self.server = serve(_Handler, self)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"

    def note_next(self) -> int:
        """Timestamps a process's first request for an event; returns the current process
        generation."""
        now = time.perf_counter_ns()
        with self._lock:
            if self.first_next_ns is None:
                self.first_next_ns = now
                self.first_next_event.set()
            return self.generation

    def expect_process(self):
        """Forget the previous process: the next GET /next is a new process's first."""
        with self._lock:
            self.generation += 1
            self.first_next_ns = None
            self.init_error = None
            self.first_next_event.clear()

    def wait_first_next(self, timeout: float = 20.0) -> int:
        if not self.first_next_event.wait(timeout):
            raise RuntimeError("the function never asked for an event")
        if self.init_error:
            raise RuntimeError(f"init failed: {self.init_error}")
        return self.first_next_ns

    def finish(self, request_id: str, kind: str, body: bytes):
        with self._lock:
            self._results[request_id] = (kind, body)
            done = self._done.get(request_id)
        if done:
            done.set()

    def invoke(self, event: dict, timeout: float = 60.0) -> tuple[str, bytes]:
        request_id = f"bench-{next(self._ids)}"
        done = threading.Event()
        with self._lock:
            self._done[request_id] = done
        self.events.put((request_id, event))
        if not done.wait(timeout):
            raise RuntimeError(f"no answer to {request_id} in {timeout} s")
        with self._lock:
            self._done.pop(request_id)
            return self._results.pop(request_id)

    def close(self):
        self.closing.set()
        self.server.shutdown()
