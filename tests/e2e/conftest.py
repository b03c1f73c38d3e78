"""Browser tests: Playwright drives Debian's Chromium against the real ASGI application.

uvicorn serves `helpdesk.asgi.application` (HTTP and WebSockets) from a thread of
the test process, on a free port of its own in each pytest-xdist worker, against the test
database. Every test in this folder is marked `e2e` (`-m "not e2e"` leaves them out) and
runs on a transactional test database, since the server thread only sees committed rows;
the rows migrations made are restored after each test (`serialized_rollback`).

`page` is a fresh browser context on that server (`new_page()` opens one more, for a
second person); `screenshot("name")` saves a full-page picture to test-output/screenshots/,
and a failing test leaves one of each page as it was.
"""

import asyncio
import importlib.util
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from django.db import connections
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
E2E_DIR = Path(__file__).resolve().parent
SCREENSHOTS = E2E_DIR.parents[1] / "test-output" / "screenshots"
# Playwright's own default is 30 s; a page of this app that takes 10 s is a failure.
TIMEOUT_MS = 10_000

_reports = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(tryfirst=True)  # before tests/conftest.py looks at the markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not item.path.is_relative_to(E2E_DIR):
            continue
        item.add_marker(pytest.mark.e2e)
        if item.get_closest_marker("django_db") is None:
            item.add_marker(pytest.mark.django_db(transaction=True, serialized_rollback=True))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Any:
    """Keep each phase's report on the item, so fixtures can tell that the test failed."""
    report = yield
    item.stash.setdefault(_reports, {})[report.when] = report
    return report


# --- The server ----------------------------------------------------------------------------


class _CurrentApplication:
    """What uvicorn serves: the application the running test built, nothing between tests."""

    def __init__(self) -> None:
        self.application: Any = None
        self.server: uvicorn.Server | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.application is None:
            raise RuntimeError("a request reached the e2e server while no e2e test ran")
        await self.application(scope, receive, send)


@pytest.fixture(scope="session")
def _asgi_server(django_db_setup: None) -> Iterator[tuple[str, _CurrentApplication]]:
    """uvicorn in a thread, on a port the OS picked; stopped before the test database goes."""
    current = _CurrentApplication()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        current,
        interface="asgi3",
        lifespan="off",  # Django has no lifespan events
        log_config=None,  # leave the test process's logging alone
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    current.server = server
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="e2e-uvicorn", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the e2e server did not start")
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}", current
    server.should_exit = True
    thread.join(10)
    listener.close()


def _build_application() -> Any:
    """`helpdesk.asgi.application`, built afresh from its module under the current settings.

    Django's middleware (SECURE_SSL_REDIRECT, HSTS, WhiteNoise) and Channels' origin check
    (ALLOWED_HOSTS) read settings once, when the application is built, so an application
    imported once per process would ignore each test's settings.
    """
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    spec = importlib.util.find_spec("helpdesk.asgi")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # Static files come from the finders, as with runserver (tests do not collectstatic).
    return ASGIStaticFilesHandler(module.application)


@pytest.fixture
def live_server_url(_asgi_server: tuple[str, _CurrentApplication], settings: Any) -> Iterator[str]:
    """The server's address, serving the application under this test's settings.

    The server thread reads the same settings as the test, so `settings` changes made in
    the test apply to it (those read when the application is built: before this fixture).
    """
    url, current = _asgi_server
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "127.0.0.1"]
    # Plain HTTP, as with the test client (see tests/conftest.py).
    settings.CSRF_COOKIE_SECURE = False
    settings.SESSION_COOKIE_SECURE = False
    settings.SECURE_HSTS_SECONDS = 0
    # Building the application runs django.setup() again; it need not redo the logging.
    settings.LOGGING_CONFIG = None
    current.application = _build_application()
    yield url
    current.application = None
    if current.server is not None:
        _wait_for_requests_to_end(current.server)
    _end_busy_server_sessions()


# How long a test's last requests and sockets may take to end (their pages are closed).
_QUIET_SECONDS = 5.0


def _wait_for_requests_to_end(server: uvicorn.Server) -> None:
    """Wait until the server runs no request and no socket's handler (a closed page's
    WebSocket still runs its disconnect handler, which writes): pytest-django's TRUNCATE
    then locks tables nobody reads, instead of deadlocking with them. Idle keep-alive
    connections run nothing and are not waited for."""
    deadline = time.monotonic() + _QUIET_SECONDS
    while server.server_state.tasks and time.monotonic() < deadline:
        time.sleep(0.02)


def _end_busy_server_sessions() -> None:
    """End the server thread's database sessions still busy (a request or a socket that did
    not end in time) before pytest-django empties the tables. Idle sessions hold no locks
    and are left; each xdist worker has a test database of its own."""
    connection = connections["default"]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND state IN ('active', 'idle in transaction', 'idle in transaction (aborted)')"
        )


# --- The browser ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Chromium:
    browser: Browser
    loop: asyncio.AbstractEventLoop


@pytest.fixture(scope="session")
def _chromium() -> Iterator[_Chromium]:
    """One headless Chromium per test process.

    Playwright's sync API marks its event loop as running in the main thread between
    calls. While it is marked, Django's ORM refuses to run (SynchronousOnlyOperation) and
    asyncio.run / async_to_sync refuse to start, so the mark is lifted outside e2e tests
    (see `page`): the other tests of the same worker run as if there were no browser.
    """
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    playwright = sync_playwright().start()
    loop = asyncio.get_running_loop()
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
    asyncio._set_running_loop(None)
    yield _Chromium(browser, loop)
    asyncio._set_running_loop(loop)
    browser.close()
    playwright.stop()
    asyncio._set_running_loop(None)


@pytest.fixture
def browser(_chromium: _Chromium, monkeypatch: pytest.MonkeyPatch) -> Iterator[Browser]:
    """The process's Chromium, usable for the length of this test."""
    # The test's own ORM calls run in the main thread while the loop is marked running, so
    # Django's guard is lifted during e2e tests (process-wide: the server thread's too).
    # Django then gives the test a database connection of its own, closed below.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    asyncio._set_running_loop(_chromium.loop)
    try:
        yield _chromium.browser
    finally:
        connections.close_all()  # the test's own, not pytest-django's
        asyncio._set_running_loop(None)


@pytest.fixture
def new_page(
    browser: Browser, live_server_url: str, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Page]]:
    """Open a page in a fresh browser context (no cookies: one more person) on the server.

    Relative URLs work. The test fails if a page reported a JavaScript error or a resource
    that did not load.
    """
    for old in SCREENSHOTS.glob(f"{_screenshot_prefix(request.node)}--*.png"):
        old.unlink()  # this test's pictures of an earlier run
    pages: list[Page] = []
    problems: list[str] = []

    def open_page(**options: Any) -> Page:
        """`options`: more of Playwright's context options (locale="de-DE", say)."""
        context = browser.new_context(
            base_url=live_server_url, viewport={"width": 1024, "height": 768}, **options
        )
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on("console", lambda message: _console_error(message, problems, live_server_url))
        pages.append(page)
        return page

    yield open_page
    for number, page in enumerate(pages, start=1):
        if _failed(request.node):
            _save_screenshot(page, request.node, "failed" if number == 1 else f"failed-{number}")
        page.context.close()
    assert not problems, problems


@pytest.fixture
def page(new_page: Callable[[], Page]) -> Page:
    return new_page()


def _console_error(message: ConsoleMessage, problems: list[str], ours: str) -> None:
    url = message.location.get("url", "")
    # Ours only: another site's page on the way (a sign-in provider's) is not under test.
    if message.type == "error" and url.startswith(ours):  # a missing favicon too
        problems.append(f"console: {message.text} ({url})")


def _failed(item: pytest.Item) -> bool:
    reports = item.stash.get(_reports, {})
    return any(report.failed for report in reports.values())


@pytest.fixture
def screenshot(page: Page, request: pytest.FixtureRequest) -> Callable[..., Path]:
    """Save a full-page screenshot named after the test: `screenshot("suggestions")`, or
    `screenshot("queue", of=agent_page)` for another page than `page`."""

    def take(name: str, of: Page | None = None) -> Path:
        return _save_screenshot(of or page, request.node, name)

    return take


def _screenshot_prefix(item: pytest.Item) -> str:
    return re.sub(r"[^\w.-]+", "_", f"{item.path.stem}--{item.name}")


def _save_screenshot(page: Page, item: pytest.Item, name: str) -> Path:
    path = SCREENSHOTS / f"{_screenshot_prefix(item)}--{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=path, full_page=True)
    return path


@pytest.fixture
def vpn_article(db: None) -> Any:
    """A published help-center article, "VPN disconnects every few minutes" (network)."""
    from knowledge.services import article_save, category_save

    category = category_save(category=None, name="Network", slug="network")
    return article_save(
        article=None, actor=None, title="VPN disconnects every few minutes",
        slug="vpn-disconnects", category=category, summary="When the VPN drops.",
        body_markdown="Turn off power saving for the network adapter.",
        tags="vpn, disconnect", status="published", visibility="public",
    )  # fmt: skip


@pytest.fixture
def ticket(vpn_article: Any) -> Any:
    """Grace Hopper's email about her VPN, open in tier 1 (the VPN article answers it)."""
    from tickets import services
    from tickets.inbound import InboundMessage
    from tickets.models import Channel, ContactKind

    inbound = InboundMessage(
        channel=Channel.EMAIL,
        sender_kind=ContactKind.EMAIL,
        sender="grace@example.com",
        sender_name="Grace Hopper",
        subject="VPN disconnects all the time",
        text="The VPN disconnects every few minutes.",
        external_id="<e2e-1@example.com>",
    )
    return services.ticket_open(inbound=inbound, tier_level=1).ticket
