"""A real web server in a child process, for tests of what only a real server does."""

import http.client
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(command: Callable[[int], list[str]], env: dict[str, str]) -> Iterator[int]:
    """The server `command(port)` starts, once it takes connections; its port. Stopped after."""
    port = free_port()
    server = subprocess.Popen(
        command(port), cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=10).connect()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(10)
