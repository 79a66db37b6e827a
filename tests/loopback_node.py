"""A JSON-RPC node on loopback that answers what a test tells it: for the nodes anvil cannot
play (hosted ones that throttle, refuse ranges or cap batches)."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def fake_node(answer: Callable[[object], tuple[int, object]]) -> Iterator[str]:
    """A loopback JSON-RPC server: `answer(request)` gives (HTTP status, JSON body)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            status, body = answer(request)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v3/secret-key"
    finally:
        server.shutdown()
        server.server_close()
