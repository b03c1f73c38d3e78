"""API v1 as a whole: who may call it, unknown ids, tiers, attachments and the schema."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.middleware.csrf import CSRF_SECRET_LENGTH
from django.utils.crypto import get_random_string
from rest_framework.test import APIClient

from tests.conftest import sign_in
from tests.factories import PASSWORD, AgentFactory, EmailContactFactory, UserFactory
from tests.tickets.api_helpers import db_snapshot as _db_snapshot
from tests.tickets.api_helpers import error_of as _error
from tickets.api import urls as api_urls
from tickets.collab.services import side_conversation_start, ticket_link
from tickets.inbound import InboundAttachment
from tickets.models import (
    AgentProfile,
    Attachment,
    SideAttachment,
    Ticket,
)
from tickets.problems import known_issues
from tickets.problems import services as problems

pytestmark = pytest.mark.django_db

MISSING_ID = 999_999


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    ok: int
    body: Callable[[dict[str, int]], dict[str, Any]] | None = None

    def url(self, ids: dict[str, int]) -> str:
        return self.path.format(**ids)

    def call(self, client: APIClient, ids: dict[str, int]) -> Any:
        if self.body is None:
            return getattr(client, self.method)(self.url(ids))
        return getattr(client, self.method)(self.url(ids), self.body(ids), format="json")

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"


# Every route of tickets/api/urls.py, each with a request an agent may make.
ENDPOINTS = [
    Endpoint("get", "/api/v1/tickets/", 200),
    Endpoint(
        "post",
        "/api/v1/tickets/",
        201,
        lambda ids: {
            "requester": {"email": "someone@example.com"},
            "subject": "Help",
            "text": "It broke.",
        },
    ),
    Endpoint("get", "/api/v1/tickets/{ticket}/", 200),
    Endpoint("patch", "/api/v1/tickets/{ticket}/", 200, lambda ids: {"priority": "urgent"}),
    Endpoint("post", "/api/v1/tickets/{ticket}/replies/", 201, lambda ids: {"text": "Try this."}),
    Endpoint("post", "/api/v1/tickets/{ticket}/notes/", 201, lambda ids: {"text": "Looks odd."}),
    Endpoint(
        "post",
        "/api/v1/tickets/{ticket}/tier/",
        200,
        lambda ids: {"tier": 2, "reason": "Needs an expert", "handoff_note": "Tried a restart."},
    ),
    Endpoint(
        "post", "/api/v1/tickets/{ticket}/merge/", 200, lambda ids: {"into": ids["other_ticket"]}
    ),
    Endpoint("get", "/api/v1/attachments/{attachment}/", 200),
    Endpoint("get", "/api/v1/side-attachments/{side_attachment}/", 200),
    Endpoint(
        "post",
        "/api/v1/calls/",
        201,
        lambda ids: {
            "phone_number": "+14155550142",
            "direction": "inbound",
            "duration_seconds": 30,
            "notes": "Asked about an invoice.",
        },
    ),
    Endpoint("get", "/api/v1/messages/{message}/original/", 200),
    Endpoint("get", "/api/v1/customers/", 200),
    Endpoint(
        "post",
        "/api/v1/customers/",
        201,
        lambda ids: {"name": "New Person", "email": "new.person@example.com"},
    ),
    Endpoint("get", "/api/v1/customers/{customer}/", 200),
    Endpoint(
        "post",
        "/api/v1/customers/{customer}/contact-points/",
        201,
        lambda ids: {"kind": "phone", "value": "+14155550199"},
    ),
    Endpoint("delete", "/api/v1/customers/{customer}/contact-points/{contact}/undeliverable/", 200),
    Endpoint(
        "post",
        "/api/v1/customers/{customer}/merge/",
        200,
        lambda ids: {"into": ids["other_customer"]},
    ),
    Endpoint("get", "/api/v1/tiers/", 200),
    Endpoint("post", "/api/v1/tickets/{ticket}/unlink-problem/", 200),
    Endpoint("get", "/api/v1/problems/", 200),
    Endpoint("post", "/api/v1/problems/", 201, lambda ids: {"title": "Mail is slow"}),
    Endpoint("get", "/api/v1/problems/{problem}/", 200),
    Endpoint("patch", "/api/v1/problems/{problem}/", 200, lambda ids: {"status": "identified"}),
    Endpoint("post", "/api/v1/problems/{problem}/notes/", 201, lambda ids: {"text": "Upstream."}),
    Endpoint(
        "post",
        "/api/v1/problems/{problem}/link/",
        200,
        lambda ids: {"tickets": [ids["other_ticket"]]},
    ),
    Endpoint("post", "/api/v1/problems/{problem}/solve/", 202, lambda ids: {"answer": "Fixed."}),
    Endpoint(
        "put",
        "/api/v1/problems/{problem}/known-issue/",
        200,
        lambda ids: {"title": "Mail delays", "summary": "Mail arrives late; we are on it."},
    ),
    Endpoint("delete", "/api/v1/problems/{problem}/known-issue/", 204),
    Endpoint("get", "/api/v1/tickets/{ticket}/followers/", 200),
    Endpoint("post", "/api/v1/tickets/{ticket}/followers/", 200),
    Endpoint("delete", "/api/v1/tickets/{ticket}/followers/", 200),
    Endpoint("get", "/api/v1/tickets/{ticket}/related/", 200),
    Endpoint(
        "post", "/api/v1/tickets/{ticket}/related/", 201, lambda ids: {"ticket": ids["third"]}
    ),
    Endpoint("delete", "/api/v1/tickets/{ticket}/related/{other_ticket}/", 204),
    Endpoint("get", "/api/v1/tickets/{ticket}/side-conversations/", 200),
    Endpoint(
        "post",
        "/api/v1/tickets/{ticket}/side-conversations/",
        201,
        lambda ids: {"to": "parts@vendor.example", "subject": "Part", "text": "In stock?"},
    ),
    Endpoint(
        "post",
        "/api/v1/tickets/{ticket}/side-conversations/{side}/messages/",
        201,
        lambda ids: {"text": "Any news?"},
    ),
    Endpoint("post", "/api/v1/tickets/{ticket}/side-conversations/{side}/close/", 200),
]
# Admins only (tests/privacy/test_export.py reads them as each role).
PRIVACY = [
    "/api/v1/customers/{customer}/export/",
    "/api/v1/exports/{export}/",
    "/api/v1/exports/{export}/download/",
]
# Public: what customers are told (tests/api/test_problems_api.py reads it as anyone).
PUBLIC = ["/api/v1/known-issues/"]
_ID_NAMES = (
    "ticket", "attachment", "customer", "contact", "message", "problem", "side", "side_attachment"
)  # fmt: skip
# (endpoint, the id in its path that points at nothing)
UNKNOWN_IDS = [
    pytest.param(e, name, id=f"{e} unknown {name}")
    for e in ENDPOINTS
    for name in _ID_NAMES
    if "{" + name + "}" in e.path
]


@pytest.fixture
def ids(open_ticket: Callable[..., Ticket]) -> dict[str, int]:
    """Ids of real objects for every placeholder in ENDPOINTS."""
    ticket = open_ticket(
        sender="owner@example.com",
        attachments=(InboundAttachment("log.txt", "text/plain", b"line 1\nline 2\n"),),
        original=b"From: someone@example.com\r\nSubject: Help\r\n\r\nIt broke.\r\n",
    )
    other_ticket = open_ticket(sender="owner@example.com")  # the same customer: merged
    third = open_ticket(sender="third@example.com")
    ticket_link(ticket=ticket, other=other_ticket, actor=None)
    side = side_conversation_start(
        ticket=ticket, to="vendor@supplier.example", subject="Spare part", text="Any?",
        attachments=(InboundAttachment("part.txt", "text/plain", b"part 42"),), actor=None,
    )  # fmt: skip
    other_customer = EmailContactFactory().customer
    problem = problems.problem_create(title="Outage", actor=None, tickets=[ticket])
    known_issues.known_issue_publish(
        problem=problem, actor=None, title="Outage", summary="Something is down."
    )
    return {
        "problem": problem.pk,
        "ticket": ticket.pk,
        "other_ticket": other_ticket.pk,
        "attachment": Attachment.objects.get(message__ticket=ticket).pk,
        "message": ticket.messages.get().pk,
        "customer": ticket.customer_id,
        "contact": ticket.customer.contact_points.get().pk,
        "other_customer": other_customer.pk,
        "third": third.pk,
        "side": side.pk,
        "side_attachment": SideAttachment.objects.get(message__conversation=side).pk,
    }


# Reports: for admins and leads only (tests/reports/test_api.py reads them as those).
REPORTS = [
    "/api/v1/reports/overview/",
    "/api/v1/reports/responsiveness/",
    "/api/v1/reports/sla/",
    "/api/v1/reports/satisfaction/",
    "/api/v1/reports/tiers/",
    "/api/v1/reports/agents/",
]


def test_every_route_is_covered() -> None:
    routes = {e.path for e in ENDPOINTS} | set(REPORTS) | set(PUBLIC) | set(PRIVACY)
    assert len(api_urls.urlpatterns) == len(routes)


@pytest.mark.parametrize("path", REPORTS)
def test_reports_refuse_anonymous_customers_and_agents(
    api: APIClient, customer_api: APIClient, agent_api: APIClient, path: str
) -> None:
    assert _error(api.get(path))["code"] == "not_authenticated"
    for client in (customer_api, agent_api):
        assert _error(client.get(path)) == {
            "code": "permission_denied",
            "message": "Reports are for admins and leads.",
        }


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_anonymous_is_asked_to_authenticate_and_nothing_is_written(
    api: APIClient, ids: dict[str, int], endpoint: Endpoint
) -> None:
    before = _db_snapshot()

    response = endpoint.call(api, ids)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert _error(response) == {
        "code": "not_authenticated",
        "message": "Authentication credentials were not provided.",
    }
    assert _db_snapshot() == before


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_customer_account_is_refused_and_nothing_is_written(
    customer_api: APIClient, ids: dict[str, int], endpoint: Endpoint
) -> None:
    before = _db_snapshot()

    response = endpoint.call(customer_api, ids)

    assert response.status_code == 403
    assert _error(response) == {
        "code": "permission_denied",
        "message": "This API is for agents and admins.",
    }
    assert _db_snapshot() == before


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_agent_may_make_the_same_requests(
    agent_api: APIClient, ids: dict[str, int], endpoint: Endpoint
) -> None:
    """The control for the two refusals above: the requests themselves are fine."""
    response = endpoint.call(agent_api, ids)

    assert response.status_code == endpoint.ok, response.content


@pytest.mark.parametrize(("endpoint", "missing"), UNKNOWN_IDS)
def test_unknown_id_is_404_and_nothing_is_written(
    agent_api: APIClient, ids: dict[str, int], endpoint: Endpoint, missing: str
) -> None:
    before = _db_snapshot()

    response = endpoint.call(agent_api, {**ids, missing: MISSING_ID})

    assert response.status_code == 404
    assert _error(response) == {"code": "not_found", "message": "Not found."}
    assert _db_snapshot() == before


def test_admin_may_use_the_api(admin_api: APIClient, open_ticket: Callable[..., Ticket]) -> None:
    ticket = open_ticket()

    response = admin_api.get("/api/v1/tickets/")

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [ticket.pk]


def test_staff_flag_without_an_agent_or_admin_role_is_refused() -> None:
    client = APIClient()
    client.force_authenticate(UserFactory(username="clerk", is_staff=True))

    response = client.get("/api/v1/tickets/")

    assert response.status_code == 403
    assert _error(response)["code"] == "permission_denied"


def test_unknown_token_is_401(api: APIClient) -> None:
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    response = api.get("/api/v1/tickets/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert _error(response) == {"code": "authentication_failed", "message": "Invalid token."}


def test_token_of_a_deactivated_agent_is_401(agent: Any, agent_api: APIClient) -> None:
    agent.is_active = False
    agent.save(update_fields=["is_active"])

    response = agent_api.get("/api/v1/tickets/")

    assert response.status_code == 401
    assert _error(response)["code"] == "authentication_failed"


# --- Session authentication ----------------------------------------------------------------


def test_staff_session_from_a_password_login_reads_the_api(
    agent: Any, open_ticket: Callable[..., Ticket]
) -> None:
    ticket = open_ticket()
    client = APIClient()
    assert sign_in(client, agent.username, PASSWORD)

    response = client.get(f"/api/v1/tickets/{ticket.pk}/")

    assert response.status_code == 200
    assert response.json()["id"] == ticket.pk


def test_customer_session_is_refused(customer_user: Any) -> None:
    client = APIClient()
    client.force_login(customer_user)

    response = client.get("/api/v1/customers/")

    assert response.status_code == 403
    assert _error(response)["code"] == "permission_denied"


NEW_TICKET = {"requester": {"email": "csrf@example.com"}, "subject": "Hi", "text": "Hello."}


def test_session_post_without_csrf_token_is_refused_and_nothing_is_written(agent: Any) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(agent)
    before = _db_snapshot()

    response = client.post("/api/v1/tickets/", NEW_TICKET, format="json")

    assert response.status_code == 403
    error = _error(response)
    assert error["code"] == "permission_denied"
    assert error["message"].startswith("CSRF Failed")
    assert _db_snapshot() == before


def test_session_get_needs_no_csrf_token(agent: Any) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(agent)

    assert client.get("/api/v1/tickets/").status_code == 200


def test_session_post_with_csrf_token_is_accepted(agent: Any) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(agent)
    secret = get_random_string(CSRF_SECRET_LENGTH)
    client.cookies["csrftoken"] = secret

    response = client.post("/api/v1/tickets/", NEW_TICKET, format="json", HTTP_X_CSRFTOKEN=secret)

    assert response.status_code == 201, response.content
    assert Ticket.objects.filter(pk=response.json()["id"]).exists()


# --- Tiers ----------------------------------------------------------------------------------


def test_tiers_lists_levels_0_to_3_with_their_agents(
    agent_api: APIClient, agent: Any, tier2_agent: Any
) -> None:
    both = AgentFactory(username="agent12", tiers=[1, 2])
    AgentProfile.objects.filter(user=both).update(is_available=False)

    response = agent_api.get("/api/v1/tiers/")

    assert response.status_code == 200
    tiers = response.json()
    assert [t["level"] for t in tiers] == [0, 1, 2, 3]
    assert all(t["name"] for t in tiers)
    agents = {t["level"]: sorted(a["username"] for a in t["agents"]) for t in tiers}
    assert agents == {0: [], 1: ["agent1", "agent12"], 2: ["agent12", "agent2"], 3: []}
    tier1_agent1 = next(a for a in tiers[1]["agents"] if a["username"] == "agent1")
    assert tier1_agent1 == {
        "id": agent.pk,
        "username": "agent1",
        "name": agent.get_full_name(),
        "is_available": True,
    }
    tier2_agent12 = next(a for a in tiers[2]["agents"] if a["username"] == "agent12")
    assert tier2_agent12["is_available"] is False


def test_tiers_leave_out_deactivated_agents(agent_api: APIClient, agent: Any) -> None:
    AgentFactory(username="gone", tiers=[1], is_active=False)

    tiers = agent_api.get("/api/v1/tiers/").json()

    assert [a["username"] for a in tiers[1]["agents"]] == ["agent1"]


def test_schema_documents_every_field_of_a_tier_agent(
    api: APIClient, agent_api: APIClient, agent: Any
) -> None:
    schemas = api.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]
    item = schemas["TierWithAgents"]["properties"]["agents"]["items"]
    documented = set(schemas[item["$ref"].rsplit("/", 1)[1]]["properties"])

    tier1 = agent_api.get("/api/v1/tiers/").json()[1]

    assert set(tier1["agents"][0]) <= documented


# --- Attachments ----------------------------------------------------------------------------


@pytest.fixture
def attachment(open_ticket: Callable[..., Ticket]) -> Attachment:
    ticket = open_ticket(
        attachments=(InboundAttachment("crash report.txt", "text/plain", b"Traceback: boom\n"),)
    )
    return Attachment.objects.get(message__ticket=ticket)


def test_staff_downloads_an_attachment(agent_api: APIClient, attachment: Attachment) -> None:
    response = agent_api.get(f"/api/v1/attachments/{attachment.pk}/")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"Traceback: boom\n"
    assert response["Content-Type"] == "text/plain"
    assert response["Content-Disposition"] == 'attachment; filename="crash report.txt"'
    response.close()


def test_message_links_to_its_attachment_download(
    agent_api: APIClient, attachment: Attachment
) -> None:
    detail = agent_api.get(f"/api/v1/tickets/{attachment.message.ticket_id}/").json()

    (listed,) = detail["messages"][0]["attachments"]
    assert listed == {
        "id": attachment.pk,
        "filename": "crash report.txt",
        "content_type": "text/plain",
        "size": 16,
        "content_id": "",
        "url": f"/api/v1/attachments/{attachment.pk}/",
    }
    download = agent_api.get(listed["url"])
    assert download.status_code == 200
    download.close()


def test_anonymous_and_customer_cannot_download(
    api: APIClient, customer_api: APIClient, attachment: Attachment
) -> None:
    url = f"/api/v1/attachments/{attachment.pk}/"

    assert api.get(url).status_code == 401
    assert customer_api.get(url).status_code == 403


# --- Schema and docs ------------------------------------------------------------------------


def test_schema_is_public_openapi_3(api: APIClient) -> None:
    response = api.get("/api/schema/")

    assert response.status_code == 200
    assert response.content.startswith(b"openapi: 3.")


def test_schema_documents_every_route_and_its_errors(api: APIClient) -> None:
    schema = api.get("/api/schema/", {"format": "json"}).json()

    def route(path: str) -> str:
        return re.sub(r"\{[a-z_]+\}", "{id}", path)

    # The staff API; the public knowledge-base search (/api/v1/kb/) and known issues have
    # their own tests.
    staff_paths = {
        p: ops
        for p, ops in schema["paths"].items()
        if p.startswith("/api/v1/") and not p.startswith("/api/v1/kb/") and p not in PUBLIC
    }
    documented = {route(e.path) for e in ENDPOINTS} | set(REPORTS) | {route(p) for p in PRIVACY}
    assert {route(p) for p in staff_paths} == documented
    for path, operations in staff_paths.items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"401", "403"} <= codes, (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)


def test_docs_page_is_public_and_uses_only_local_assets(api: APIClient, settings: Any) -> None:
    # Without DEBUG, static URLs come from the manifest that `collectstatic` writes at deploy
    # time; the test run has none, so use plain (unhashed) static URLs.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }

    response = api.get("/api/docs/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets
    # Swagger UI's start script is a file of the page's own (no inline script: the CSP).
    assert all(a.startswith(("/static/", "/api/docs/?script")) for a in assets), assets
    assert not re.search(r"https?://|//cdn|unpkg|jsdelivr", html)
    assert "/api/schema/" in api.get("/api/docs/", {"script": ""}).content.decode()
