"""What the benchmark's local HTTP servers share: threaded, on loopback, keep-alive without
Nagle delays (small answers would wait 40 ms for delayed ACKs), and quiet."""

import http.server
import threading


class QuietHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass


class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A benchmarked process killed mid-request resets its connection: expected, not news.
        pass


def serve(handler: type, owner) -> QuietServer:
    """Serves `handler` on a free loopback port in a daemon thread; handlers reach `owner` as
    `self.server.owner`."""
    server = QuietServer(("127.0.0.1", 0), handler)
    server.owner = owner
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
