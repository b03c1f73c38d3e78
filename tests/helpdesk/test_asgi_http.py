"""HTTP under ASGI: each request borrows one of a fixed set of threads (helpdesk/asgi_http.py).

Requests go through the handler as an ASGI server calls it; Django's request signals, which
it runs on the request's thread, show where each request's synchronous code ran.
"""

import asyncio
import threading
import time
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator
from django.core.signals import request_finished, request_started

from helpdesk.asgi_http import PooledThreadsASGIHandler

pytestmark = pytest.mark.django_db


async def _get(
    application: Any,
    path: str,
    method: str = "GET",
    headers: list[tuple[bytes, bytes]] | None = None,
) -> tuple[int, bytes]:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": [(b"host", b"localhost"), *(headers or [])],
        "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8000),
    }  # fmt: skip
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await communicator.receive_output(timeout=20)
    body = b""
    while True:
        message = await communicator.receive_output(timeout=20)
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await communicator.wait(timeout=20)
    return start["status"], body


class _Threads:
    """Which thread Django's request signals ran on, in order; and how many at once."""

    def __init__(self, hold: float = 0.0) -> None:
        self.hold = hold
        self.events: list[tuple[str, str]] = []
        self.running = self.most = 0
        self.lock = threading.Lock()

    def started(self, **kwargs: Any) -> None:
        with self.lock:
            self.events.append(("started", threading.current_thread().name))
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(self.hold)  # a slow view, holding its thread

    def finished(self, **kwargs: Any) -> None:
        with self.lock:
            self.events.append(("finished", threading.current_thread().name))
            self.running -= 1

    def __enter__(self) -> "_Threads":
        request_started.connect(self.started, dispatch_uid="test-asgi-http-started")
        request_finished.connect(self.finished, dispatch_uid="test-asgi-http-finished")
        return self

    def __exit__(self, *exc: object) -> None:
        request_started.disconnect(dispatch_uid="test-asgi-http-started")
        request_finished.disconnect(dispatch_uid="test-asgi-http-finished")


def test_requests_are_answered_on_threads_kept_between_them():
    handler = PooledThreadsASGIHandler(threads=4)

    async def one_after_another() -> list[tuple[int, bytes]]:
        return [await _get(handler, "/healthz") for _ in range(10)]

    before = threading.active_count()
    with _Threads() as seen:
        answers = asyncio.run(one_after_another())
    assert {status for status, _ in answers} == {200}
    assert all(b'"status": "ok"' in body for _, body in answers)
    names = {name for _, name in seen.events}
    # One thread served all ten (each found it idle), and it was not Django's per-request one.
    assert len(names) == 1 and names.pop().startswith("http")
    assert [event for event, _ in seen.events] == ["started", "finished"] * 10
    # Kept, not started anew per request: one more thread than before, whatever the count.
    assert threading.active_count() <= before + 1


def test_no_more_requests_work_at_once_than_there_are_threads():
    handler = PooledThreadsASGIHandler(threads=2)

    async def together() -> list[tuple[int, bytes]]:
        return await asyncio.gather(*(_get(handler, "/healthz") for _ in range(6)))

    with _Threads(hold=0.2) as seen:
        answers = asyncio.run(together())
    assert [status for status, _ in answers] == [200] * 6  # the others waited, none failed
    assert seen.most == 2
    assert len({name for _, name in seen.events}) == 2


def test_middleware_and_views_answer_as_under_django_s_own_handler():
    handler = PooledThreadsASGIHandler(threads=2)

    async def some() -> list[tuple[int, bytes]]:
        return [
            await _get(handler, "/no-such-page/"),
            await _get(handler, "/accounts/login/", method="POST"),  # no CSRF token
            await _get(handler, "/agent/"),  # signed out
            await _get(handler, "/accounts/login/"),
        ]

    (missing, _), (forged, _), (agent, _), (login, page) = asyncio.run(some())
    assert (missing, forged, agent, login) == (404, 403, 302, 200)
    assert b'name="csrfmiddlewaretoken"' in page


def test_websocket_scopes_are_not_its_business():
    handler = PooledThreadsASGIHandler(threads=1)

    async def call() -> None:
        await handler({"type": "websocket", "path": "/ws/agent/"}, None, None)

    with pytest.raises(ValueError, match="not websocket"):
        asyncio.run(call())


def test_the_deployed_application_serves_http_with_pooled_threads(settings):
    from helpdesk.asgi import application, django_http

    assert isinstance(django_http, PooledThreadsASGIHandler)
    assert django_http.threads == settings.HTTP_THREADS
    status, body = asyncio.run(_get(application, "/healthz"))
    assert status == 200, body
