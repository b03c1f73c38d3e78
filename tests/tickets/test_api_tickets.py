"""API v1 tickets: listing, opening, changing, replying, notes, tiers and merging."""

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.factories import AgentFactory
from tests.tickets.api_helpers import db_snapshot as _db_snapshot
from tests.tickets.api_helpers import error_of as _error
from tests.tickets.api_helpers import ids_of as _ids
from tickets import services
from tickets.inbound import InboundAttachment, InboundMessage
from tickets.models import (
    Channel,
    ContactKind,
    ContactPoint,
    Customer,
    Message,
    Ticket,
    TicketEvent,
)

pytestmark = pytest.mark.django_db

TICKETS = "/api/v1/tickets/"


def _events(ticket: Ticket) -> list[str]:
    return list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))


def _detail(ticket_id: int) -> str:
    return f"{TICKETS}{ticket_id}/"


# --- Listing and filtering -----------------------------------------------------------------


@pytest.fixture
def queue(open_ticket: Callable[..., Ticket], agent: Any, tier2_agent: Any) -> SimpleNamespace:
    """Five tickets in different states, tiers, priorities, channels and hands (oldest first)."""
    new = open_ticket(
        tier_level=1, priority="low", subject="Printer on fire", text="Smoke everywhere."
    )
    opened = open_ticket(tier_level=1, priority="normal", subject="VPN drops")
    services.ticket_assign(ticket=opened, assignee=agent, actor=None)
    services.ticket_reply(ticket=opened, actor=agent, text="Please restart the router.")
    pending = open_ticket(
        tier_level=2,
        priority="high",
        channel=Channel.SMS,
        sender_kind=ContactKind.PHONE,
        sender="+14155550111",
        subject="Billing question",
        text="My invoice shows the wrong amount",
    )
    services.ticket_assign(ticket=pending, assignee=tier2_agent, actor=None)
    services.ticket_change_status(ticket=pending, status="pending_customer", actor=None)
    resolved = open_ticket(tier_level=2, priority="urgent", subject="Disk full")
    services.ticket_resolve(ticket=resolved, actor=None)
    closed = open_ticket(tier_level=0, priority="normal", subject="Password reset")
    services.ticket_close(ticket=closed, actor=None)
    return SimpleNamespace(
        new=new, opened=opened, pending=pending, resolved=resolved, closed=closed
    )


def _pks(*tickets: Ticket) -> set[int]:
    return {t.pk for t in tickets}


def test_list_shows_every_ticket_newest_first(
    agent_api: APIClient, queue: SimpleNamespace, agent: Any
) -> None:
    response = agent_api.get(TICKETS)

    assert _ids(response) == [
        queue.closed.pk,
        queue.resolved.pk,
        queue.pending.pk,
        queue.opened.pk,
        queue.new.pk,
    ]
    row = next(r for r in response.json()["results"] if r["id"] == queue.opened.pk)
    assert row["reference"] == f"HD-{queue.opened.pk}"
    assert row["subject"] == "VPN drops"
    assert row["status"] == "open"
    assert row["tier"] == 1
    assert row["customer"] == {"id": queue.opened.customer_id, "name": queue.opened.customer.name}
    assert row["assignee"] == {
        "id": agent.pk,
        "username": "agent1",
        "name": agent.get_full_name(),
    }
    assert row["merged_into"] is None


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param({"status": ["new", "pending_customer"]}, ("new", "pending"), id="repeated"),
        pytest.param({"status": "new,pending_customer"}, ("new", "pending"), id="commas"),
        pytest.param({"status": "active"}, ("new", "opened", "pending"), id="active"),
        pytest.param(
            {"status": ["active", "closed"]},
            ("new", "opened", "pending", "closed"),
            id="active-and-closed",
        ),
        pytest.param({"status": "resolved"}, ("resolved",), id="one"),
    ],
)
def test_filter_by_status(
    agent_api: APIClient, queue: SimpleNamespace, params: dict[str, Any], expected: tuple[str]
) -> None:
    response = agent_api.get(TICKETS, params)

    assert set(_ids(response)) == {getattr(queue, name).pk for name in expected}


def test_filter_by_tier(agent_api: APIClient, queue: SimpleNamespace) -> None:
    assert set(_ids(agent_api.get(TICKETS, {"tier": 2}))) == _pks(queue.pending, queue.resolved)
    assert set(_ids(agent_api.get(TICKETS, {"tier": "0,1"}))) == _pks(
        queue.new, queue.opened, queue.closed
    )
    assert _ids(agent_api.get(TICKETS, {"tier": 3})) == []


def test_filter_by_priority(agent_api: APIClient, queue: SimpleNamespace) -> None:
    response = agent_api.get(TICKETS, {"priority": ["high", "urgent"]})

    assert set(_ids(response)) == _pks(queue.pending, queue.resolved)


def test_filter_by_channel(agent_api: APIClient, queue: SimpleNamespace) -> None:
    assert _ids(agent_api.get(TICKETS, {"channel": "sms"})) == [queue.pending.pk]
    assert set(_ids(agent_api.get(TICKETS, {"channel": "email"}))) == _pks(
        queue.new, queue.opened, queue.resolved, queue.closed
    )


def test_filter_by_assignee(
    agent_api: APIClient, admin_api: APIClient, queue: SimpleNamespace, tier2_agent: Any
) -> None:
    assert _ids(agent_api.get(TICKETS, {"assignee": tier2_agent.pk})) == [queue.pending.pk]
    assert _ids(agent_api.get(TICKETS, {"assignee": "me"})) == [queue.opened.pk]
    assert _ids(admin_api.get(TICKETS, {"assignee": "me"})) == []
    assert set(_ids(agent_api.get(TICKETS, {"assignee": "none"}))) == _pks(
        queue.new, queue.resolved, queue.closed
    )


def test_filter_by_customer(
    agent_api: APIClient, queue: SimpleNamespace, open_ticket: Callable[..., Ticket]
) -> None:
    sender = queue.new.customer.contact_points.get().value
    again = open_ticket(sender=sender)

    response = agent_api.get(TICKETS, {"customer": queue.new.customer_id})

    assert _ids(response) == [again.pk, queue.new.pk]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        pytest.param("printer ON", "new", id="subject"),
        pytest.param("wrong amount", "pending", id="inbound-body"),
        pytest.param("restart the ROUTER", "opened", id="reply-body"),
    ],
)
def test_search_text(agent_api: APIClient, queue: SimpleNamespace, q: str, expected: str) -> None:
    assert _ids(agent_api.get(TICKETS, {"q": q})) == [getattr(queue, expected).pk]


def test_search_by_reference(agent_api: APIClient, queue: SimpleNamespace) -> None:
    pk = queue.resolved.pk

    assert _ids(agent_api.get(TICKETS, {"q": f"HD-{pk}"})) == [pk]
    assert _ids(agent_api.get(TICKETS, {"q": f"hd-{pk}"})) == [pk]


def test_search_for_text_ending_in_a_number_is_not_a_reference(
    agent_api: APIClient, queue: SimpleNamespace
) -> None:
    response = agent_api.get(TICKETS, {"q": f"error-{queue.resolved.pk}"})

    assert _ids(response) == []


def test_filters_combine(agent_api: APIClient, queue: SimpleNamespace) -> None:
    response = agent_api.get(TICKETS, {"status": "active", "tier": 1, "assignee": "none"})

    assert _ids(response) == [queue.new.pk]


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("status", "bogus"),
        ("status", "new,bogus"),
        ("tier", "4"),
        ("tier", "one"),
        ("priority", "meh"),
        ("channel", "fax"),
        ("assignee", "someone"),
        ("customer", "abc"),
        ("customer", "0"),
        ("q", "x" * 201),
    ],
)
def test_invalid_filter_is_400_with_the_field(
    agent_api: APIClient, queue: SimpleNamespace, param: str, value: str
) -> None:
    response = agent_api.get(TICKETS, {param: value})

    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "invalid"
    assert error["message"] == "The input is invalid."
    # Nested problems are flattened: the first list item of `status` is `status.0`.
    assert [key.split(".")[0] for key in error["fields"]] == [param]


@pytest.mark.parametrize("param", ["q", "assignee", "customer"])
def test_empty_filter_parameter_is_ignored(
    agent_api: APIClient, queue: SimpleNamespace, param: str
) -> None:
    """A search form submitted with an empty box sends `?q=`: that is no filter."""
    response = agent_api.get(f"{TICKETS}?{param}=")

    assert len(_ids(response)) == 5


def test_invalid_list_filter_error_has_the_documented_shape(agent_api: APIClient) -> None:
    response = agent_api.get(TICKETS, {"status": "bogus"})

    assert response.status_code == 400
    fields = _error(response)["fields"]
    assert list(fields) == ["status.0"]
    assert all(isinstance(m, str) for m in fields["status.0"])


@pytest.mark.parametrize("param", ["customer", "assignee"])
def test_out_of_range_id_filter_is_400(agent_api: APIClient, param: str) -> None:
    agent_api.raise_request_exception = False

    response = agent_api.get(TICKETS, {param: "99999999999999999999"})

    assert response.status_code == 400
    assert list(_error(response)["fields"]) == [param]


# --- Pagination ------------------------------------------------------------------------------


def _all_pages(client: APIClient, url: str, params: dict[str, Any]) -> list[list[int]]:
    pages = []
    response = client.get(url, params)
    while True:
        body = response.json()
        pages.append(_ids(response))
        if body["next"] is None:
            return pages
        response = client.get(body["next"])


def test_cursor_pages_follow_on_without_overlap(
    agent_api: APIClient, open_ticket: Callable[..., Ticket]
) -> None:
    tickets = [open_ticket() for _ in range(5)]

    first = agent_api.get(TICKETS, {"page_size": 2}).json()
    pages = _all_pages(agent_api, TICKETS, {"page_size": 2})

    assert first["previous"] is None
    assert "cursor=" in first["next"]
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [pk for page in pages for pk in page] == [t.pk for t in reversed(tickets)]


def test_next_link_keeps_the_filters(
    agent_api: APIClient, open_ticket: Callable[..., Ticket]
) -> None:
    wanted = []
    for _ in range(3):
        wanted.append(open_ticket(priority="high"))
        open_ticket(priority="low")

    pages = _all_pages(agent_api, TICKETS, {"priority": "high", "page_size": 2})

    assert pages == [[wanted[2].pk, wanted[1].pk], [wanted[0].pk]]


def test_page_size_defaults_to_50(agent_api: APIClient, open_ticket: Callable[..., Ticket]) -> None:
    for _ in range(51):
        open_ticket()

    body = agent_api.get(TICKETS).json()

    assert len(body["results"]) == 50
    assert body["next"] is not None


# --- Query counts ----------------------------------------------------------------------------


def _count_queries(client: APIClient, url: str) -> tuple[int, Any]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(queries.captured_queries), response.json()


@pytest.fixture
def open_varied(
    open_ticket: Callable[..., Ticket], agent: Any, tier2_agent: Any
) -> Callable[[int], None]:
    """Open n tickets over all tiers and as many customers, most with an assignee."""
    assignees = {1: agent, 2: tier2_agent, 3: AgentFactory(username="expert", tiers=[3])}

    def open_(n: int) -> None:
        for i in range(n):
            level = i % 4
            ticket = open_ticket(tier_level=level, priority=("low", "high", "urgent")[i % 3])
            if level in assignees:
                services.ticket_assign(ticket=ticket, assignee=assignees[level], actor=None)

    return open_


def test_list_costs_the_same_queries_for_5_or_30_tickets(
    agent_api: APIClient, open_varied: Callable[[int], None]
) -> None:
    open_varied(5)
    _count_queries(agent_api, TICKETS)  # warm-up
    few, few_body = _count_queries(agent_api, TICKETS)
    open_varied(25)

    many, many_body = _count_queries(agent_api, TICKETS)

    assert len(few_body["results"]) == 5
    assert len(many_body["results"]) == 30
    assert sum(1 for row in many_body["results"] if row["assignee"]) >= 20
    assert many == few


def _conversation(
    ticket: Ticket,
    inbound: Callable[..., InboundMessage],
    authors: list[Any],
    messages: int,
) -> Ticket:
    """Grow the ticket to `messages` messages: replies, notes and customer mails with files."""
    sender = ticket.customer.contact_points.get().value
    for i in range(messages - ticket.messages.count()):
        author = authors[i % len(authors)]
        if i % 3 == 0:
            services.ticket_reply(ticket=ticket, actor=author, text=f"Answer {i}")
        elif i % 3 == 1:
            services.ticket_add_note(ticket=ticket, actor=author, text=f"Note {i}")
        else:
            attachment = InboundAttachment(f"shot{i}.png", "image/png", b"\x89PNG")
            services.ticket_add_inbound(
                ticket=ticket, inbound=inbound(sender=sender, attachments=(attachment,))
            )
    assert ticket.messages.count() == messages
    return ticket


def test_detail_costs_the_same_queries_for_2_or_20_messages(
    agent_api: APIClient,
    open_ticket: Callable[..., Ticket],
    inbound: Callable[..., InboundMessage],
    agent: Any,
    tier2_agent: Any,
    admin_user: Any,
) -> None:
    authors = [agent, tier2_agent, admin_user]
    small = _conversation(open_ticket(), inbound, authors, messages=2)
    big = _conversation(
        open_ticket(attachments=(InboundAttachment("a.txt", "text/plain", b"a"),)),
        inbound,
        authors,
        messages=20,
    )
    services.ticket_assign(ticket=big, assignee=agent, actor=admin_user)
    _count_queries(agent_api, _detail(small.pk))  # warm-up

    few, small_body = _count_queries(agent_api, _detail(small.pk))
    many, big_body = _count_queries(agent_api, _detail(big.pk))

    assert (len(small_body["messages"]), len(big_body["messages"])) == (2, 20)
    assert len(big_body["events"]) > 20
    assert many == few


# --- Opening a ticket ----------------------------------------------------------------------


def test_open_for_a_requester_email(agent_api: APIClient, agent: Any) -> None:
    response = agent_api.post(
        TICKETS,
        {
            "requester": {"email": "Ann.Smith@Example.com", "name": "Ann Smith"},
            "subject": "Cannot log in",
            "text": "The page says my password expired.",
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    ticket = Ticket.objects.get()
    assert body["id"] == ticket.pk
    assert body["reference"] == f"HD-{ticket.pk}"
    assert (body["subject"], body["status"], body["priority"], body["channel"], body["tier"]) == (
        "Cannot log in",
        "new",
        "normal",
        "api",
        0,
    )
    assert body["customer"]["name"] == "Ann Smith"
    assert [(c["kind"], c["value"]) for c in body["customer"]["contact_points"]] == [
        ("email", "ann.smith@example.com")
    ]
    (message,) = body["messages"]
    assert message["kind"] == "inbound"
    assert message["body_text"] == "The page says my password expired."
    assert message["author"] == {
        "type": "customer",
        "id": body["customer"]["id"],
        "name": "Ann Smith",
    }
    assert [e["kind"] for e in body["events"]] == ["created", "message_received"]
    created = body["events"][0]
    assert created["actor"]["id"] == agent.pk
    assert created["data"] == {"channel": "api", "tier": 0}


def test_open_for_a_requester_phone_normalises_it(agent_api: APIClient) -> None:
    response = agent_api.post(
        TICKETS,
        {"requester": {"phone": "(415) 555-0123"}, "subject": "Hi", "text": "Call me back."},
        format="json",
    )

    assert response.status_code == 201, response.content
    contact_points = response.json()["customer"]["contact_points"]
    assert [(c["kind"], c["value"]) for c in contact_points] == [("phone", "+14155550123")]
    assert ContactPoint.objects.get().value == "+14155550123"


def test_open_for_an_existing_customer(agent_api: APIClient) -> None:
    customer = services.customer_create(
        name="Bea", contacts=[("phone", "+14155550100"), ("email", "bea@example.com")]
    )

    response = agent_api.post(
        TICKETS,
        {"customer": customer.pk, "subject": "Refund", "text": "Where is it?"},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["customer"]["id"] == customer.pk
    assert Customer.objects.count() == 1
    assert Ticket.objects.get().customer == customer


def test_open_for_a_merged_customer_goes_to_the_customer_kept(
    agent_api: APIClient, agent: Any
) -> None:
    old = services.customer_create(name="Old", contacts=[("email", "old@example.com")])
    kept = services.customer_create(name="Kept", contacts=[("email", "kept@example.com")])
    services.customer_merge(source=old, target=kept, actor=agent)

    response = agent_api.post(
        TICKETS, {"customer": old.pk, "subject": "Again", "text": "Still broken"}, format="json"
    )

    assert response.status_code == 201, response.content
    assert response.json()["customer"]["id"] == kept.pk


def test_open_honours_tier_priority_and_channel(agent_api: APIClient) -> None:
    response = agent_api.post(
        TICKETS,
        {
            "requester": {"email": "ops@example.com"},
            "subject": "Outage",
            "text": "Everything is down.",
            "tier": 2,
            "priority": "urgent",
            "channel": "phone",
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["tier"], body["priority"], body["channel"]) == (2, "urgent", "phone")
    ticket = Ticket.objects.get()
    assert (ticket.tier.level, ticket.priority, ticket.channel) == (2, "urgent", "phone")


def test_same_external_id_twice_opens_one_ticket(agent_api: APIClient) -> None:
    payload = {
        "requester": {"email": "twice@example.com"},
        "subject": "Retry",
        "text": "Sent twice by a flaky client.",
        "external_id": "crm-4711",
    }

    first = agent_api.post(TICKETS, payload, format="json")
    second = agent_api.post(TICKETS, payload, format="json")

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["id"] == first.json()["id"]
    assert Ticket.objects.count() == 1
    assert Message.objects.count() == 1
    assert second.json()["messages"][0]["external_id"] == "crm-4711"


VALID_OPEN = {"requester": {"email": "x@example.com"}, "subject": "S", "text": "T"}


@pytest.mark.parametrize(
    ("change", "code", "fields"),
    [
        pytest.param({"subject": None}, "invalid", ["subject"], id="no-subject"),
        pytest.param({"text": None}, "invalid", ["text"], id="no-text"),
        pytest.param({"text": "   "}, "invalid", ["text"], id="blank-text"),
        pytest.param({"requester": None}, "invalid", ["non_field_errors"], id="no-requester"),
        pytest.param({"customer": "existing"}, "invalid", ["non_field_errors"], id="both"),
        pytest.param(
            {"requester": {"name": "Nobody"}},
            "invalid",
            ["requester.non_field_errors"],
            id="no-contact",
        ),
        pytest.param(
            {"requester": {"email": "not-an-email"}},
            "invalid",
            ["requester.email"],
            id="bad-email",
        ),
        pytest.param({"requester": {"phone": "12"}}, "invalid_phone", None, id="short-phone"),
        pytest.param({"requester": {"phone": "call me"}}, "invalid_phone", None, id="bad-phone"),
        pytest.param({"tier": 4}, "invalid", ["tier"], id="bad-tier"),
        pytest.param({"priority": "asap"}, "invalid", ["priority"], id="bad-priority"),
    ],
)
def test_open_with_invalid_input_is_400_and_writes_nothing(
    agent_api: APIClient,
    change: dict[str, Any],
    code: str,
    fields: list[str] | None,
) -> None:
    existing = services.customer_create(name="Existing", contacts=[("email", "e@example.com")])
    payload = {**VALID_OPEN, **change}
    if payload.get("customer") == "existing":
        payload["customer"] = existing.pk
    payload = {k: v for k, v in payload.items() if v is not None}
    before = _db_snapshot()

    response = agent_api.post(TICKETS, payload, format="json")

    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == code
    assert (sorted(error["fields"]) if "fields" in error else None) == fields
    assert _db_snapshot() == before


# --- Changing a ticket -----------------------------------------------------------------------


def _patch(client: APIClient, ticket: Ticket, data: dict[str, Any]) -> Any:
    return client.patch(_detail(ticket.pk), data, format="json")


def test_patch_subject(
    agent_api: APIClient, open_ticket: Callable[..., Ticket], agent: Any
) -> None:
    ticket = open_ticket(subject="Old")

    response = _patch(agent_api, ticket, {"subject": "New subject"})

    assert response.status_code == 200
    assert response.json()["subject"] == "New subject"
    ticket.refresh_from_db()
    assert ticket.subject == "New subject"
    event = TicketEvent.objects.filter(ticket=ticket).last()
    assert (event.kind, event.actor, event.data) == (
        "subject_changed",
        agent,
        {"from": "Old", "to": "New subject"},
    )


def test_patch_priority(agent_api: APIClient, open_ticket: Callable[..., Ticket]) -> None:
    ticket = open_ticket(priority="low")

    response = _patch(agent_api, ticket, {"priority": "urgent"})

    assert response.status_code == 200
    assert response.json()["priority"] == "urgent"
    assert response.json()["events"][-1]["kind"] == "priority_changed"
    assert response.json()["events"][-1]["data"] == {"from": "low", "to": "urgent"}
    ticket.refresh_from_db()
    assert ticket.priority == "urgent"


def test_patch_status_along_an_allowed_transition(
    agent_api: APIClient, open_ticket: Callable[..., Ticket], agent: Any
) -> None:
    ticket = open_ticket()

    response = _patch(agent_api, ticket, {"status": "resolved"})

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "resolved"
    assert body["resolved_at"] is not None
    assert body["events"][-1]["kind"] == "status_changed"
    assert body["events"][-1]["data"] == {"from": "new", "to": "resolved"}
    assert body["events"][-1]["actor"]["id"] == agent.pk
    ticket.refresh_from_db()
    assert ticket.status == "resolved"


def test_patch_status_out_of_closed_is_409_and_writes_nothing(
    agent_api: APIClient, open_ticket: Callable[..., Ticket]
) -> None:
    ticket = open_ticket()
    services.ticket_close(ticket=ticket, actor=None)
    before = _db_snapshot()

    response = _patch(agent_api, ticket, {"status": "open"})

    assert response.status_code == 409
    error = _error(response)
    assert error["code"] == "invalid_transition"
    assert error["message"] == f"HD-{ticket.pk} cannot go from closed to open."
    assert _db_snapshot() == before


def test_patch_unknown_status_is_400(
    agent_api: APIClient, open_ticket: Callable[..., Ticket]
) -> None:
    ticket = open_ticket()

    response = _patch(agent_api, ticket, {"status": "done"})

    assert response.status_code == 400
    assert list(_error(response)["fields"]) == ["status"]


def test_patch_assignee_to_an_agent_of_the_tier(
    agent_api: APIClient, open_ticket: Callable[..., Ticket], agent: Any
) -> None:
    ticket = open_ticket(tier_level=1)

    response = _patch(agent_api, ticket, {"assignee": agent.pk})

    assert response.status_code == 200
    assert response.json()["assignee"]["id"] == agent.pk
    assert response.json()["events"][-1]["kind"] == "assigned"
    ticket.refresh_from_db()
    assert ticket.assignee == agent


@pytest.mark.parametrize("who", ["tier2_agent", "admin_user", "customer_user"])
def test_patch_assignee_outside_the_tier_is_400_and_writes_nothing(
    agent_api: APIClient,
    open_ticket: Callable[..., Ticket],
    request: pytest.FixtureRequest,
    who: str,
) -> None:
    """Another tier's agent, an admin without an agent profile, a customer: none may work it."""
    ticket = open_ticket(tier_level=1)
    user = request.getfixturevalue(who)
    before = _db_snapshot()

    response = _patch(agent_api, ticket, {"assignee": user.pk})

    assert response.status_code == 400
    assert _error(response)["code"] == "assignee_not_in_tier"
    assert _db_snapshot() == before


def test_patch_assignee_to_an_unknown_user_is_400(
    agent_api: APIClient, open_ticket: Callable[..., Ticket]
) -> None:
    ticket = open_ticket()
    before = _db_snapshot()

    response = _patch(agent_api, ticket, {"assignee": 999_999})

    assert response.status_code == 400
    assert _error(response) == {"code": "unknown_user", "message": "There is no user 999999."}
    assert _db_snapshot() == before


def test_patch_assignee_null_unassigns(
    agent_api: APIClient, open_ticket: Callable[..., Ticket], agent: Any
) -> None:
    ticket = open_ticket(tier_level=1)
    services.ticket_assign(ticket=ticket, assignee=agent, actor=agent)

    response = _patch(agent_api, ticket, {"assignee": None})

    assert response.status_code == 200
    assert response.json()["assignee"] is None
    assert response.json()["events"][-1]["kind"] == "unassigned"
    ticket.refresh_from_db()
    assert ticket.assignee is None


@pytest.mark.parametrize(
    ("status", "data", "code"),
    [
        pytest.param(
            "resolved",
            {"priority": "urgent", "status": "pending_customer"},
            "invalid_transition",
            id="priority-then-bad-status",
        ),
        pytest.param(
            "new",
            {"subject": "Renamed", "priority": "high", "assignee": "tier2_agent"},
            "assignee_not_in_tier",
            id="subject-priority-then-bad-assignee",
        ),
    ],
)
def test_patch_is_all_or_nothing(
    agent_api: APIClient,
    open_ticket: Callable[..., Ticket],
    tier2_agent: Any,
    status: str,
    data: dict[str, Any],
    code: str,
) -> None:
    ticket = open_ticket(tier_level=1, priority="low")
    if status != "new":
        services.ticket_change_status(ticket=ticket, status=status, actor=None)
    if data.get("assignee") == "tier2_agent":
        data = {**data, "assignee": tier2_agent.pk}
    before = _db_snapshot()

    response = _patch(agent_api, ticket, data)

    assert response.status_code in (400, 409)
    assert _error(response)["code"] == code
    assert _db_snapshot() == before


def test_patch_several_fields_at_once(
    agent_api: APIClient, open_ticket: Callable[..., Ticket], agent: Any
) -> None:
    ticket = open_ticket(tier_level=1, priority="low")

    response = _patch(
        agent_api,
        ticket,
        {"subject": "Both", "priority": "high", "assignee": agent.pk, "status": "on_hold"},
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["subject"], body["priority"], body["assignee"]["id"], body["status"]) == (
        "Both",
        "high",
        agent.pk,
        "on_hold",
    )
    assert _events(ticket)[-4:] == [
        "subject_changed",
        "priority_changed",
        "assigned",
        "status_changed",
    ]


# --- Replies ---------------------------------------------------------------------------------


def _reply(client: APIClient, ticket: Ticket, data: dict[str, Any]) -> Any:
    return client.post(f"{_detail(ticket.pk)}replies/", data, format="json")


def test_reply_is_a_pending_outbound_message(
    agent_api: APIClient, open_ticket: Callable[..., Ticket], agent: Any
) -> None:
    ticket = open_ticket()

    response = _reply(agent_api, ticket, {"text": "Have you tried turning it off and on?"})

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "outbound"
    assert body["channel"] == "email"
    assert body["delivery_status"] == "pending"
    assert body["body_text"] == "Have you tried turning it off and on?"
    assert body["author"] == {"type": "agent", "id": agent.pk, "name": agent.get_full_name()}
    message = Message.objects.get(pk=body["id"])
    assert (message.ticket_id, message.kind, message.delivery_status) == (
        ticket.pk,
        "outbound",
        "pending",
    )
    ticket.refresh_from_db()
    assert ticket.status == "open"
    assert ticket.first_responded_at is not None
    assert "replied" in _events(ticket)


@pytest.mark.parametrize(
    ("opened_on", "expected"),
    [
        pytest.param({"channel": Channel.EMAIL}, "email", id="email"),
        pytest.param(
            {"channel": Channel.SMS, "sender_kind": ContactKind.PHONE, "sender": "+14155550177"},
            "sms",
            id="sms",
        ),
        pytest.param({"channel": Channel.WEB}, "email", id="web-form-answers-by-email"),
        pytest.param({"channel": Channel.API}, "email", id="api-answers-by-email"),
    ],
)
def test_reply_channel_defaults_to_the_customers_channel(
    agent_api: APIClient,
    open_ticket: Callable[..., Ticket],
    opened_on: dict[str, Any],
    expected: str,
) -> None:
    ticket = open_ticket(**opened_on)

    response = _reply(agent_api, ticket, {"text": "Hello"})

    assert response.status_code == 201, response.content
    assert response.json()["channel"] == expected


def test_reply_channel_follows_the_customers_last_message(
    agent_api: APIClient,
    open_ticket: Callable[..., Ticket],
    inbound: Callable[..., InboundMessage],
) -> None:
    ticket = open_ticket(channel=Channel.SMS, sender_kind=ContactKind.PHONE, sender="+14155550178")
    services.customer_add_contact_point(
        customer=ticket.customer, kind=ContactKind.EMAIL, value="moved@example.com"
    )
    services.ticket_add_inbound(ticket=ticket, inbound=inbound(sender="moved@example.com"))

    response = _reply(agent_api, ticket, {"text": "Got your mail"})

    assert response.status_code == 201, response.content
    assert response.json()["channel"] == "email"


def test_reply_by_sms_without_a_phone_number_is_400_and_writes_nothing(
    agent_api: APIClient, open_ticket: Callable[..., Ticket]
) -> None:
    ticket = open_ticket()
    before = _db_snapshot()

    response = _reply(agent_api, ticket, {"text": "Texting you", "channel": "sms"})

    assert response.status_code == 400
    assert _error(response)["code"] == "unreachable_channel"
    assert _db_snapshot() == before


def test_reply_by_sms_to_a_customer_with_a_phone(
    agent_api: APIClient, open_ticket: Callable[..., Ticket]
) -> None:
    ticket = open_ticket()
    services.customer_add_contact_point(
        customer=ticket.customer, kind=ContactKind.PHONE, value="+14155550179"
    )

    response = _reply(agent_api, ticket, {"text": "Texting you", "channel": "sms"})

    assert response.status_code == 201
    assert response.json()["channel"] == "sms"


@pytest.mark.parametrize("channel", ["web", "api"])
def test_reply_is_never_queued_on_a_channel_that_cannot_deliver(
    agent_api: APIClient, open_ticket: Callable[..., Ticket], channel: str
) -> None:
    ticket = open_ticket(channel=Channel(channel))

    response = _reply(agent_api, ticket, {"text": "Hello", "channel": channel})

    assert response.status_code in (201, 400)
    assert not Message.objects.filter(kind="outbound", channel=channel).exists()


@pytest.mark.parametrize("status", ["pending_customer", "resolved", "on_hold"])
def test_reply_sets_the_status_asked_for(
    agent_api: APIClient, open_ticket: Callable[..., Ticket], status: str
) -> None:
    ticket = open_ticket()

    response = _reply(agent_api, ticket, {"text": "Over to you", "status": status})

    assert response.status_code == 201
    ticket.refresh_from_db()
    assert ticket.status == status


def test_reply_to_a_closed_ticket_is_409_and_writes_nothing(
    agent_api: APIClient, open_ticket: Callable[..., Ticket]
) -> None:
    ticket = open_ticket()
    services.ticket_close(ticket=ticket, actor=None)
    before = _db_snapshot()

    response = _reply(agent_api, ticket, {"text": "Too late"})

    assert response.status_code == 409
    assert _error(response)["code"] == "ticket_closed"
    assert _db_snapshot() == before


@pytest.mark.parametrize(
    "data", [{"text": ""}, {"text": "   "}, {}], ids=["empty", "blank", "none"]
)
def test_reply_without_text_is_400_and_writes_nothing(
    agent_api: APIClient, open_ticket: Callable[..., Ticket], data: dict[str, Any]
) -> None:
    ticket = open_ticket()
    before = _db_snapshot()

    response = _reply(agent_api, ticket, data)

    assert response.status_code == 400
    assert list(_error(response)["fields"]) == ["text"]
    assert _db_snapshot() == before


def test_reply_html_is_sanitised(agent_api: APIClient, open_ticket: Callable[..., Ticket]) -> None:
    ticket = open_ticket()

    response = _reply(
        agent_api,
        ticket,
        {
            "text": "Try this",
            "html": '<p onclick="steal()">Try <b>this</b></p><script>alert("x")</script>',
        },
    )

    assert response.status_code == 201
    stored = Message.objects.get(pk=response.json()["id"]).body_html
    assert response.json()["body_html"] == stored
    assert "<b>this</b>" in stored
    assert "<script" not in stored
    assert "alert" not in stored
    assert "onclick" not in stored


# --- Notes ------------------------------------------------------------------------------------


def _note(client: APIClient, ticket: Ticket, text: str) -> Any:
    return client.post(f"{_detail(ticket.pk)}notes/", {"text": text}, format="json")


def test_note_is_internal(
    agent_api: APIClient, open_ticket: Callable[..., Ticket], agent: Any
) -> None:
    ticket = open_ticket()

    response = _note(agent_api, ticket, "Customer sounds upset; be gentle.")

    assert response.status_code == 201
    body = response.json()
    assert body["kind"] == "note"
    assert body["delivery_status"] == ""
    assert body["author"]["id"] == agent.pk
    assert not Message.objects.filter(kind="outbound").exists()
    ticket.refresh_from_db()
    assert ticket.status == "new"
    assert ticket.first_responded_at is None
    assert _events(ticket)[-1] == "note_added"
    detail = agent_api.get(_detail(ticket.pk)).json()
    assert [m["kind"] for m in detail["messages"]] == ["inbound", "note"]


def test_note_on_a_closed_ticket_is_allowed(
    agent_api: APIClient, open_ticket: Callable[..., Ticket]
) -> None:
    ticket = open_ticket()
    services.ticket_close(ticket=ticket, actor=None)

    response = _note(agent_api, ticket, "Closed as a duplicate of a phone call.")

    assert response.status_code == 201
    assert response.json()["kind"] == "note"
    ticket.refresh_from_db()
    assert ticket.status == "closed"


def test_empty_note_is_400_and_writes_nothing(
    agent_api: APIClient, open_ticket: Callable[..., Ticket]
) -> None:
    ticket = open_ticket()
    before = _db_snapshot()

    response = _note(agent_api, ticket, " ")

    assert response.status_code == 400
    assert list(_error(response)["fields"]) == ["text"]
    assert _db_snapshot() == before


# --- Tiers --------------------------------------------------------------------------------------


def _move(client: APIClient, ticket: Ticket, data: dict[str, Any]) -> Any:
    return client.post(f"{_detail(ticket.pk)}tier/", data, format="json")


def test_escalate_with_reason_and_handoff_note(
    agent_api: APIClient, open_ticket: Callable[..., Ticket], agent: Any
) -> None:
    ticket = open_ticket(tier_level=1)

    response = _move(
        agent_api,
        ticket,
        {"tier": 2, "reason": "Needs database access", "handoff_note": "Logs attached."},
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["tier"] == 2
    event = body["events"][-1]
    assert event["kind"] == "escalated"
    assert event["actor"]["id"] == agent.pk
    assert event["data"] == {
        "from": 1,
        "to": 2,
        "reason": "Needs database access",
        "handoff_note": "Logs attached.",
    }
    ticket.refresh_from_db()
    assert ticket.tier.level == 2


def test_deescalate(tier2_api: APIClient, open_ticket: Callable[..., Ticket]) -> None:
    ticket = open_ticket(tier_level=2)

    response = _move(tier2_api, ticket, {"tier": 1, "reason": "Routine", "handoff_note": "Easy."})

    assert response.status_code == 200
    assert response.json()["tier"] == 1
    assert response.json()["events"][-1]["kind"] == "deescalated"
    assert response.json()["events"][-1]["data"]["from"] == 2


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({"tier": 2, "handoff_note": "n"}, ["reason"]),
        ({"tier": 2, "reason": "r"}, ["handoff_note"]),
        ({"tier": 2, "reason": " ", "handoff_note": " "}, ["handoff_note", "reason"]),
        ({"reason": "r", "handoff_note": "n"}, ["tier"]),
        ({"tier": 4, "reason": "r", "handoff_note": "n"}, ["tier"]),
    ],
)
def test_tier_move_with_missing_input_is_400_and_writes_nothing(
    agent_api: APIClient,
    open_ticket: Callable[..., Ticket],
    data: dict[str, Any],
    fields: list[str],
) -> None:
    ticket = open_ticket(tier_level=1)
    before = _db_snapshot()

    response = _move(agent_api, ticket, data)

    assert response.status_code == 400
    assert _error(response)["code"] == "invalid"
    assert sorted(_error(response)["fields"]) == fields
    assert _db_snapshot() == before


def test_tier_move_to_the_same_tier_is_400(
    agent_api: APIClient, open_ticket: Callable[..., Ticket]
) -> None:
    ticket = open_ticket(tier_level=1)
    before = _db_snapshot()

    response = _move(agent_api, ticket, {"tier": 1, "reason": "r", "handoff_note": "n"})

    assert response.status_code == 400
    assert _error(response)["code"] == "same_tier"
    assert _db_snapshot() == before


def test_tier_move_unassigns_an_agent_not_in_the_new_tier(
    agent_api: APIClient, open_ticket: Callable[..., Ticket], agent: Any
) -> None:
    ticket = open_ticket(tier_level=1)
    services.ticket_assign(ticket=ticket, assignee=agent, actor=None)

    response = _move(agent_api, ticket, {"tier": 2, "reason": "r", "handoff_note": "n"})

    assert response.status_code == 200
    assert response.json()["assignee"] is None
    assert response.json()["events"][-1]["data"]["unassigned"] == agent.pk
    ticket.refresh_from_db()
    assert ticket.assignee is None


def test_tier_move_keeps_an_agent_of_both_tiers(
    agent_api: APIClient, open_ticket: Callable[..., Ticket]
) -> None:
    both = AgentFactory(username="agent12", tiers=[1, 2])
    ticket = open_ticket(tier_level=1)
    services.ticket_assign(ticket=ticket, assignee=both, actor=None)

    response = _move(agent_api, ticket, {"tier": 2, "reason": "r", "handoff_note": "n"})

    assert response.status_code == 200
    assert response.json()["assignee"]["id"] == both.pk


# --- Merging ------------------------------------------------------------------------------------


def _merge(client: APIClient, source: Ticket, into: int) -> Any:
    return client.post(f"{_detail(source.pk)}merge/", {"into": into}, format="json")


def test_merge_moves_the_messages_and_closes_the_source(
    agent_api: APIClient, open_ticket: Callable[..., Ticket], agent: Any
) -> None:
    source = open_ticket(sender="ann@example.com", text="First copy")
    services.ticket_reply(ticket=source, actor=agent, text="Answer on the copy")
    target = open_ticket(sender="ann@example.com", text="Second copy")

    response = _merge(agent_api, source, target.pk)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == target.pk
    assert sorted(m["body_text"] for m in body["messages"]) == [
        "Answer on the copy",
        "First copy",
        "Second copy",
    ]
    assert body["events"][-1]["kind"] == "merged_from"
    assert body["events"][-1]["data"] == {"source": source.pk, "messages": 2}
    source.refresh_from_db()
    assert (source.status, source.merged_into_id) == ("closed", target.pk)
    assert source.closed_at is not None
    assert not source.messages.exists()
    assert _events(source)[-2:] == ["merged_into", "status_changed"]
    merged = agent_api.get(_detail(source.pk)).json()
    assert (merged["status"], merged["merged_into"]) == ("closed", target.pk)


def test_merge_into_itself_is_400(agent_api: APIClient, open_ticket: Callable[..., Ticket]) -> None:
    ticket = open_ticket()
    before = _db_snapshot()

    response = _merge(agent_api, ticket, ticket.pk)

    assert response.status_code == 400
    assert _error(response)["code"] == "same_ticket"
    assert _db_snapshot() == before


def test_merging_an_already_merged_ticket_is_409(
    agent_api: APIClient, open_ticket: Callable[..., Ticket]
) -> None:
    source, first, second = (open_ticket(sender="ann@example.com") for _ in range(3))
    services.ticket_merge(source=source, target=first, actor=None)
    before = _db_snapshot()

    response = _merge(agent_api, source, second.pk)

    assert response.status_code == 409
    assert _error(response)["code"] == "ticket_merged"
    assert _db_snapshot() == before


def test_merge_into_a_merged_ticket_is_409(
    agent_api: APIClient, open_ticket: Callable[..., Ticket]
) -> None:
    gone, kept, other = (open_ticket(sender="ann@example.com") for _ in range(3))
    services.ticket_merge(source=gone, target=kept, actor=None)

    response = _merge(agent_api, other, gone.pk)

    assert response.status_code == 409
    assert _error(response)["code"] == "ticket_merged"


def test_merge_into_an_unknown_ticket_is_404(
    agent_api: APIClient, open_ticket: Callable[..., Ticket]
) -> None:
    ticket = open_ticket()

    response = _merge(agent_api, ticket, 999_999)

    assert response.status_code == 404
    ticket.refresh_from_db()
    assert ticket.merged_into_id is None


# --- Tags, and fields the API does not know -------------------------------------------------


def test_tags_are_set_shown_and_filtered_by(
    agent_api: APIClient, open_ticket: Callable[..., Ticket]
) -> None:
    vpn, other = open_ticket(subject="VPN"), open_ticket(subject="Printer")
    response = agent_api.patch(_detail(vpn.pk), {"tags": ["VPN", "outage"]}, format="json")
    assert response.status_code == 200 and response.json()["tags"] == ["outage", "vpn"]
    agent_api.patch(_detail(other.pk), {"tags": ["outage"]}, format="json")
    assert [t["tags"] for t in agent_api.get(TICKETS).json()["results"]] == [
        ["outage"], ["outage", "vpn"],
    ]  # fmt: skip
    assert _ids(agent_api.get(TICKETS, {"tag": "vpn"})) == [vpn.pk]
    assert _ids(agent_api.get(f"{TICKETS}?tag=outage&tag=vpn")) == [vpn.pk]
    assert sorted(_ids(agent_api.get(TICKETS, {"tag": "outage"}))) == sorted([vpn.pk, other.pk])
    response = agent_api.patch(_detail(vpn.pk), {"tags": []}, format="json")
    assert response.json()["tags"] == []
    bad = agent_api.patch(_detail(vpn.pk), {"tags": ["<script>"]}, format="json")
    assert bad.status_code == 400 and _error(bad)["code"] == "invalid_tag"


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("patch", "", {"tagz": ["vpn"], "priority": "high"}),
        ("post", "replies/", {"text": "Hello", "cc": ["boss@example.com"]}),
        ("post", "notes/", {"text": "n", "pinned": True}),
    ],
)
def test_fields_the_api_does_not_know_are_refused_and_change_nothing(
    agent_api: APIClient, open_ticket: Callable[..., Ticket], method: str, path: str, data: Any
) -> None:
    ticket = open_ticket()
    before = _db_snapshot()
    response = getattr(agent_api, method)(f"{_detail(ticket.pk)}{path}", data, format="json")
    assert response.status_code == 400
    unknown = next(name for name in data if name not in ("priority", "text"))
    assert _error(response)["fields"] == {unknown: ["Unknown field."]}
    assert _db_snapshot() == before


def test_query_parameters_the_list_does_not_know_are_refused(agent_api: APIClient) -> None:
    response = agent_api.get(TICKETS, {"tags": "vpn"})
    assert response.status_code == 400 and "tags" in _error(response)["fields"]
    assert agent_api.get(TICKETS, {"page_size": 5}).status_code == 200


def test_a_reply_posted_twice_with_one_idempotency_key_goes_out_once(agent_api, open_ticket):
    ticket = open_ticket(tier_level=1, sender="grace@example.com")
    url = f"/api/v1/tickets/{ticket.pk}/replies/"
    key = {"HTTP_IDEMPOTENCY_KEY": "3f2b8c1e-5d4a-4e8b-9c7d-1a2b3c4d5e6f"}

    first = agent_api.post(url, {"text": "Restart the router."}, format="json", **key)
    again = agent_api.post(url, {"text": "Restart the router."}, format="json", **key)
    other = agent_api.post(url, {"text": "Restart the router."}, format="json")

    assert first.status_code == again.status_code == other.status_code == 201
    assert again.json()["id"] == first.json()["id"] != other.json()["id"]
    assert ticket.messages.filter(kind="outbound").count() == 2


def test_a_note_posted_twice_with_one_idempotency_key_is_written_once(agent_api, open_ticket):
    ticket = open_ticket(tier_level=1)
    url = f"/api/v1/tickets/{ticket.pk}/notes/"
    key = {"HTTP_IDEMPOTENCY_KEY": "note-1"}

    agent_api.post(url, {"text": "Checked the logs."}, format="json", **key)
    agent_api.post(url, {"text": "Checked the logs."}, format="json", **key)

    assert ticket.messages.filter(kind="note").count() == 1


def test_an_idempotency_key_too_long_to_keep_is_a_clear_400(agent_api, open_ticket):
    ticket = open_ticket(tier_level=1)

    response = agent_api.post(
        f"/api/v1/tickets/{ticket.pk}/replies/",
        {"text": "Hi"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k" * 41,
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_idempotency_key"
    assert not ticket.messages.filter(kind="outbound").exists()
