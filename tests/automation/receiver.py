"""A local HTTP receiver of webhooks, as the tests and the benchmark meet one: keep-alive,
each answer sent at once, the status chosen by the caller for each request."""

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# (request path, its headers, its body) -> the status to answer
Answer = Callable[[str, Any, bytes], int]


def serve(answer: Answer) -> ThreadingHTTPServer:
    """A receiver on 127.0.0.1 (a free port: server.server_address[1]), serving in a thread
    until `shutdown()`."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver
        disable_nagle_algorithm = True  # each answer goes at once (no 40 ms stalls)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = answer(self.path, self.headers, body)
            text = b"ok" if 200 <= status < 300 else b"receiver broke"
            self.send_response(status)
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server
