import itertools
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import pytest_asyncio
from django.conf import settings
from django.test import Client
from django.utils import translation
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import AdminFactory, AgentFactory, CustomerFactory, LeadFactory, UserFactory
from tickets import services
from tickets.inbound import InboundMessage
from tickets.models import Channel, ContactKind, Ticket


def _on_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Tests marked `services` need PostgreSQL and Redis; skip them only when allowed."""
    if _on_postgres() and settings.REDIS_URL:
        return
    if os.environ.get("REQUIRE_SERVICES") == "1":
        raise pytest.UsageError("REQUIRE_SERVICES=1 but PostgreSQL/Redis are not configured")
    skip = pytest.mark.skip(reason="needs PostgreSQL and Redis (make test finds them)")
    for item in items:
        if "services" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _default_language() -> None:
    """Each test starts in the default language: the test client's requests run in the
    test's thread, where LocaleMiddleware leaves the last request's language active (under
    ASGI each request has its own context)."""
    translation.deactivate()


@pytest.fixture(autouse=True)
def _test_settings(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    # Real hashing is deliberately slow; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The test client speaks plain HTTP; production settings would redirect it to HTTPS.
    settings.SECURE_SSL_REDIRECT = False
    # Each test has its own cache: rate limits and locks of one test never meet another's,
    # and clearing it cannot touch the Celery queues in Redis.
    # (LocMemCache instances with the same LOCATION share one store, hence a location per test.)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": str(tmp_path),
        }
    }
    # Without DEBUG, static URLs come from the manifest that `collectstatic` writes when
    # deploying; tests do not collect, so they use plain static URLs.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # Automatic customer notices add messages to every ticket; the tests of notices (and of
    # the doors that promise them, like the contact form) switch them on.
    settings.HELPDESK_CUSTOMER_NOTICES = False
    # Tests open many tickets alike in a minute: a spike each time. The spike tests (and
    # the journeys that show them) switch detection on.
    settings.HELPDESK_SPIKES = False
    # The desk's set-up is checked at every use: each test has a cache (and rows) of its own.
    settings.HELPDESK_SETUP_CHECK_SECONDS = 0
    # Outbound SMS go to an in-memory outbox, like Django's locmem email backend.
    settings.SMS_BACKEND = "locmem"


@pytest.fixture
def agent(db: None) -> Any:
    return AgentFactory(username="agent1", tiers=[1])


@pytest.fixture
def tier2_agent(db: None) -> Any:
    return AgentFactory(username="agent2", tiers=[2])


@pytest.fixture
def admin_user(db: None) -> Any:
    return AdminFactory(username="boss")


@pytest.fixture
def lead(db: None) -> Any:
    """A lead of tier 1 (shares views, makes teams, reads reports)."""
    return LeadFactory(username="lena", tiers=[1])


def browser(user: Any) -> Client:
    """A web browser signed in as `user`."""
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def customer_user(db: None) -> Any:
    """A customer's portal account: not staff, no group."""
    user = UserFactory(username="portal-customer")
    customer = CustomerFactory(user=user)
    services.customer_add_contact_point(
        customer=customer, kind=ContactKind.EMAIL, value="portal@example.com"
    )
    return user


_sequence = itertools.count(1)


@pytest.fixture
def inbound() -> Callable[..., InboundMessage]:
    """Build an InboundMessage; each call gets a fresh sender and external id unless given."""

    def build(**overrides: Any) -> InboundMessage:
        n = next(_sequence)
        values: dict[str, Any] = {
            "channel": Channel.EMAIL,
            "sender_kind": ContactKind.EMAIL,
            "sender": f"person{n}@example.com",
            "sender_name": f"Person {n}",
            "subject": f"Problem number {n}",
            "text": f"Something is broken ({n}).",
            "external_id": f"<msg-{n}@example.com>",
        }
        values.update(overrides)
        return InboundMessage(**values)

    return build


@pytest.fixture
def open_ticket(db: None, inbound: Callable[..., InboundMessage]) -> Callable[..., Ticket]:
    """Open a ticket through the ingestion service, in tier 1 unless told otherwise."""

    def open_(tier_level: int = 1, priority: str = "normal", **overrides: Any) -> Ticket:
        result = services.ticket_open(
            inbound=inbound(**overrides), tier_level=tier_level, priority=priority
        )
        return Ticket.objects.get(pk=result.ticket.pk)

    return open_


def _client_for(user: Any | None) -> APIClient:
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def api() -> APIClient:
    """Anonymous API client."""
    return _client_for(None)


@pytest.fixture
def agent_api(agent: Any) -> APIClient:
    return _client_for(agent)


@pytest.fixture
def tier2_api(tier2_agent: Any) -> APIClient:
    return _client_for(tier2_agent)


@pytest.fixture
def admin_api(admin_user: Any) -> APIClient:
    return _client_for(admin_user)


@pytest.fixture
def customer_api(customer_user: Any) -> APIClient:
    return _client_for(customer_user)


@pytest.fixture
def celery_eager() -> Any:
    """Run Celery tasks inline (errors propagate), for tests of what a task does.

    The routing and reliability tests use a real worker instead.
    """
    from helpdesk.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.fixture(scope="session", autouse=True)
def _own_broker_per_test_process() -> None:
    """Each pytest-xdist process gets its own Redis database as Celery broker, so a real
    worker started by one process never takes tasks queued by another (whose rows live in
    another test database). Without Redis, an in-memory broker (nothing lands in ./data)."""
    from helpdesk.celery import app

    if not settings.REDIS_URL:
        app.conf.broker_url = "memory://"
        return
    index = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    parts = urlsplit(settings.REDIS_URL)
    base = int(parts.path.strip("/") or 0)
    app.conf.broker_url = urlunsplit(parts._replace(path=f"/{(base - index) % 16}"))


_OTHER_ARTICLES = [
    ("Change your plan", "Upgrade or downgrade the subscription."),
    ("Download invoices", "Invoices and receipts are under billing."),
    ("Invite colleagues", "Send an invitation email to a new user."),
    ("Install on macOS", "Drag the app to Applications."),
]


@pytest.fixture
def kb_answer(db):
    """A published article that confidently matches the tickets `open_ticket` makes, among
    others (in a knowledge base of one article no word is rarer than another)."""
    from knowledge.services import article_save, category_save

    category = category_save(category=None, name="Basics", slug="basics")
    for number, (title, text) in enumerate(_OTHER_ARTICLES):
        article_save(
            article=None,
            actor=None,
            title=title,
            slug=f"other-{number}",
            category=category,
            summary=text,
            body_markdown=text,
            status="published",
        )
    return article_save(
        article=None,
        actor=None,
        title="Something broken? Problem number guide",
        slug="something-broken",
        category=category,
        summary="What to do when something is broken.",
        body_markdown="Restart it.",
        status="published",
    )


@pytest.fixture
def make_kb_article(db):
    """Publish an article through the service (in category "Basics")."""
    from django.utils.text import slugify

    from knowledge.models import Category
    from knowledge.services import article_save, category_save

    def make(title: str, body: str = "", **fields: Any) -> Any:
        category = Category.objects.filter(slug="basics").first() or category_save(
            category=None, name="Basics", slug="basics"
        )
        values = {"slug": slugify(title), "category": category, "status": "published"}
        return article_save(
            article=None, actor=None, title=title, body_markdown=body, **{**values, **fields}
        )

    return make


@pytest_asyncio.fixture
async def websockets(settings: Any) -> Any:
    """For tests over real WebSockets (Channels' communicator), in one test process.

    The channel layer is in memory: parallel test workers share Redis. The consumers'
    database calls run in asgiref's worker thread, whose connection would otherwise stay
    open and keep PostgreSQL from dropping the test database at the end.
    """
    from channels.db import database_sync_to_async
    from django.db import connections

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    yield settings
    await database_sync_to_async(connections.close_all)()


def sign_in(client: Any, username: str, password: str) -> bool:
    """Sign in through the staff sign-in page, as a person does (and as the lockout counts)."""
    client.post("/accounts/login/", {"login": username, "password": password})
    return "_auth_user_id" in client.session
