"""API v1 problems and known issues: listing with counts, opening, changing, notes, linking
and unlinking tickets, solving, the known issue; what a ticket is about; the public list
of current known issues. A refused request writes nothing."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.factories import AgentFactory, EmailContactFactory
from tests.tickets.api_helpers import db_snapshot as _db_snapshot
from tests.tickets.api_helpers import error_of as _error
from tickets import services
from tickets.catalog.services import service_save, ticket_set_about
from tickets.models import (
    EventKind,
    KnownIssue,
    MessageKind,
    Problem,
    ProblemEventKind,
    ProblemSource,
    ProblemStatus,
    Product,
    Service,
    Ticket,
    TicketStatus,
)
from tickets.problems import known_issues
from tickets.problems import services as problems

pytestmark = pytest.mark.django_db

PROBLEMS = "/api/v1/problems/"
FIX_AT = datetime(2030, 5, 6, 14, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _afresh() -> None:
    known_issues.forget()  # the current known issues are kept per process


def _url(problem: Problem, action: str = "") -> str:
    return f"{PROBLEMS}{problem.pk}/{action + '/' if action else ''}"


@pytest.fixture
def fibre(db: None) -> Product:
    return Product.objects.create(name="Fibre")


@pytest.fixture
def outage(agent: Any, open_ticket: Callable[..., Ticket]) -> Problem:
    """An open problem with two tickets linked, one of them resolved."""
    tickets = [open_ticket(subject="No internet"), open_ticket(subject="Line down")]
    services.ticket_resolve(ticket=tickets[1], actor=agent)
    return problems.problem_create(title="Fibre outage", actor=agent, tickets=tickets)


# --- Listing -------------------------------------------------------------------------------


def test_list_shows_problems_newest_first_with_their_ticket_counts(
    agent_api: APIClient, agent: Any, outage: Problem, fibre: Product
) -> None:
    quiet = problems.problem_create(title="Mail delays", actor=agent, product=fibre)
    known_issues.known_issue_publish(
        problem=outage, actor=agent, title="Fibre outage", summary="Lines are down."
    )

    response = agent_api.get(PROBLEMS)

    assert response.status_code == 200, response.content
    rows = response.json()["results"]
    assert [r["id"] for r in rows] == [quiet.pk, outage.pk]
    assert rows[1] == {
        "id": outage.pk,
        "reference": f"PRB-{outage.pk}",
        "title": "Fibre outage",
        "status": "investigating",
        "source": "agent",
        "external_key": "",
        "owner": {"id": agent.pk, "username": "agent1", "name": agent.get_full_name()},
        "product": None,
        "region": "",
        "linked_tickets": 2,
        "open_tickets": 1,
        "known_issue_published": True,
        "created_at": rows[1]["created_at"],
        "updated_at": rows[1]["updated_at"],
        "solved_at": None,
    }
    assert rows[0]["product"] == {"id": fibre.pk, "name": "Fibre"}
    assert (rows[0]["linked_tickets"], rows[0]["known_issue_published"]) == (0, False)


def test_list_filters_by_status_and_source(
    agent_api: APIClient, agent: Any, outage: Problem
) -> None:
    solved = problems.problem_create(title="Old", actor=agent)
    problems.problem_solve(problem=solved, actor=agent, answer="Fixed.")
    found = problems.problem_create(
        title="Found", actor=None, source=ProblemSource.MONITORING, external_key="k"
    )
    problems.problem_change(problem=found, actor=agent, status=ProblemStatus.IDENTIFIED)

    def ids(**query: Any) -> list[int]:
        response = agent_api.get(PROBLEMS, query)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [found.pk, solved.pk, outage.pk]
    assert ids(status="") == [found.pk, solved.pk, outage.pk]
    assert ids(status="open") == [found.pk, outage.pk]
    assert ids(status="solved") == [solved.pk]
    assert ids(status="identified") == [found.pk]
    assert ids(source="monitoring") == [found.pk]
    assert ids(status="open", source="agent") == [outage.pk]
    for bad in ({"status": "closed"}, {"source": "pager"}, {"owner": "me"}):
        assert _error(agent_api.get(PROBLEMS, bad))["code"] == "invalid"


def test_list_pages_by_cursor(agent_api: APIClient, agent: Any) -> None:
    made = [problems.problem_create(title=f"Problem {n}", actor=agent) for n in range(5)]

    first = agent_api.get(PROBLEMS, {"page_size": 3}).json()
    second = agent_api.get(first["next"]).json()

    ids = [r["id"] for r in first["results"] + second["results"]]
    assert ids == [p.pk for p in reversed(made)]


def _count_queries(client: APIClient, url: str) -> int:
    client.get(url)  # warm-up
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(queries.captured_queries)


def test_list_and_detail_cost_the_same_queries_for_few_or_many(
    agent_api: APIClient, agent: Any, open_ticket: Callable[..., Ticket], fibre: Product
) -> None:
    main = problems.problem_create(title="Main", actor=agent)

    def grow(n: int) -> tuple[int, int]:
        tickets = [open_ticket() for _ in range(n)]
        problems.problem_link(problem=main, tickets=tickets, actor=agent)
        for i in range(n):
            other = problems.problem_create(
                title=f"Other {i}", actor=agent, product=fibre, tickets=tickets[i : i + 1]
            )
            problems.problem_note(problem=main, actor=agent, text=f"Note {i}")
            if i % 2:
                known_issues.known_issue_publish(
                    problem=other, actor=agent, title="Known", summary="Told.", products=[fibre]
                )
        return _count_queries(agent_api, PROBLEMS), _count_queries(agent_api, _url(main))

    assert grow(2) == grow(20)


# --- Opening and changing ------------------------------------------------------------------


def test_open_a_problem_with_tickets(
    agent_api: APIClient, agent: Any, open_ticket: Callable[..., Ticket], fibre: Product
) -> None:
    lead = AgentFactory(username="lead", tiers=[2])
    linked, closed = open_ticket(), open_ticket()
    services.ticket_close(ticket=closed, actor=agent)

    response = agent_api.post(
        PROBLEMS,
        {
            "title": "  Fibre   outage ",
            "public_explanation": "Lines in Leeds are down.",
            "product": fibre.pk,
            "region": "Leeds",
            "owner": lead.pk,
            "tickets": [linked.pk, closed.pk],
            "note": "Seen by three agents.",
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    problem = Problem.objects.get()
    assert body["id"] == problem.pk
    assert (body["title"], body["owner"]["id"], body["product"]["id"]) == (
        "Fibre outage", lead.pk, fibre.pk
    )  # fmt: skip
    assert (body["region"], body["public_explanation"]) == ("Leeds", "Lines in Leeds are down.")
    assert [t["id"] for t in body["tickets"]] == [linked.pk]
    assert (body["linked_tickets"], body["open_tickets"]) == (1, 1)
    assert [(e["kind"], e["text"]) for e in body["events"]] == [
        ("created", "Seen by three agents."),
        ("linked", linked.reference),
    ]
    assert body["known_issue"] is None and body["solved_by"] is None
    closed.refresh_from_db()
    assert closed.problem_id is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "Outage", "product": 999_999}, "product"),
        ({"title": "Outage", "owner": 999_999}, "owner"),
        ({"title": "Outage", "tickets": "all"}, "tickets"),
        ({"title": "Outage", "status": "solved"}, "status"),
        ({"title": "Outage", "external_key": "k"}, "external_key"),
    ],
)
def test_open_refuses_bad_input_and_writes_nothing(
    agent_api: APIClient, body: dict[str, Any], field: str
) -> None:
    before = _db_snapshot()

    response = agent_api.post(PROBLEMS, body, format="json")

    assert response.status_code == 400
    assert field in _error(response)["fields"]
    assert _db_snapshot() == before


def test_a_customer_cannot_own_a_problem(agent_api: APIClient, customer_user: Any) -> None:
    response = agent_api.post(
        PROBLEMS, {"title": "Outage", "owner": customer_user.pk}, format="json"
    )

    assert response.status_code == 400
    assert _error(response)["fields"]["owner"] == ["The owner must be an agent or an admin."]
    assert not Problem.objects.exists()


def test_change_a_problem(agent_api: APIClient, outage: Problem, fibre: Product) -> None:
    response = agent_api.patch(
        _url(outage),
        {"status": "identified", "product": fibre.pk, "owner": None, "region": "North"},
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["product"]["name"], body["owner"], body["region"]) == (
        "identified", "Fibre", None, "North"
    )  # fmt: skip
    assert body["events"][-1]["kind"] == "changed"
    assert body["events"][-1]["data"] == {
        "status": "identified", "product": "Fibre", "owner": "", "region": "North"
    }  # fmt: skip


def test_a_solved_problem_cannot_be_changed_and_status_solved_is_not_a_change(
    agent_api: APIClient, agent: Any, outage: Problem
) -> None:
    refused = agent_api.patch(_url(outage), {"status": "solved"}, format="json")
    assert refused.status_code == 400
    assert "status" in _error(refused)["fields"]
    problems.problem_solve(problem=outage, actor=agent, answer="Fixed.")
    before = _db_snapshot()

    response = agent_api.patch(_url(outage), {"title": "New"}, format="json")

    assert response.status_code == 409
    assert _error(response)["code"] == "problem_solved"
    assert _db_snapshot() == before


def test_notes(agent_api: APIClient, agent: Any, outage: Problem) -> None:
    response = agent_api.post(_url(outage, "notes"), {"text": " Upstream: 2 h. "}, format="json")

    assert response.status_code == 201, response.content
    assert {k: v for k, v in response.json().items() if k in ("kind", "text")} == {
        "kind": "note",
        "text": "Upstream: 2 h.",
    }
    assert response.json()["actor"]["id"] == agent.pk
    assert agent_api.post(_url(outage, "notes"), {"text": ""}, format="json").status_code == 400


# --- Linking -------------------------------------------------------------------------------


def test_link_says_what_was_linked_already_refused_and_missing(
    agent_api: APIClient, agent: Any, outage: Problem, open_ticket: Callable[..., Ticket]
) -> None:
    new, closed = open_ticket(), open_ticket()
    services.ticket_close(ticket=closed, actor=agent)
    already = outage.incidents.order_by("pk").first()
    assert already is not None

    response = agent_api.post(
        _url(outage, "link"),
        {"tickets": [new.pk, closed.pk, already.pk, 999_999, new.pk]},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json() == {
        "linked": [{"id": new.pk, "reference": new.reference}],
        "already": 1,
        "refused": {closed.reference: "it is closed"},
        "missing": [999_999],
    }
    new.refresh_from_db()
    assert new.problem_id == outage.pk
    assert new.events.filter(kind=EventKind.PROBLEM_LINKED).exists()


def test_link_to_a_solved_problem_is_409(
    agent_api: APIClient, agent: Any, outage: Problem, open_ticket: Callable[..., Ticket]
) -> None:
    problems.problem_solve(problem=outage, actor=agent, answer="Fixed.")
    ticket = open_ticket()
    before = _db_snapshot()

    response = agent_api.post(_url(outage, "link"), {"tickets": [ticket.pk]}, format="json")

    assert response.status_code == 409
    assert _db_snapshot() == before


def test_link_needs_tickets(agent_api: APIClient, outage: Problem) -> None:
    for body in ({}, {"tickets": []}, {"tickets": [0]}, {"tickets": ["HD-1"]}):
        response = agent_api.post(_url(outage, "link"), body, format="json")
        assert response.status_code == 400, body


def test_unlink_a_ticket(agent_api: APIClient, outage: Problem) -> None:
    ticket = outage.incidents.order_by("pk").first()
    assert ticket is not None

    response = agent_api.post(f"/api/v1/tickets/{ticket.pk}/unlink-problem/")

    assert response.status_code == 200, response.content
    assert response.json()["problem"] is None
    assert response.json()["events"][-1]["kind"] == "problem_unlinked"
    again = agent_api.post(f"/api/v1/tickets/{ticket.pk}/unlink-problem/")
    assert again.status_code == 409
    assert _error(again)["code"] == "not_linked"


# --- Solving -------------------------------------------------------------------------------


def test_solve_answers_the_open_tickets_in_the_background(
    agent_api: APIClient,
    agent: Any,
    outage: Problem,
    celery_eager: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    known_issues.known_issue_publish(problem=outage, actor=agent, title="Out", summary="Down.")
    waiting = outage.incidents.get(status=TicketStatus.NEW)

    with django_capture_on_commit_callbacks(execute=True):
        response = agent_api.post(_url(outage, "solve"), {"answer": "It is fixed."}, format="json")

    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["status"], body["solution"], body["solved_by"]["id"]) == (
        "solved", "It is fixed.", agent.pk
    )  # fmt: skip
    assert body["known_issue"]["is_current"] is False
    waiting.refresh_from_db()
    assert waiting.status == TicketStatus.RESOLVED
    answer = waiting.messages.get(kind=MessageKind.OUTBOUND)
    assert answer.body_text.startswith("It is fixed.")
    again = agent_api.post(_url(outage, "solve"), {"answer": "Again."}, format="json")
    assert again.status_code == 409


def test_solve_needs_an_answer(agent_api: APIClient, outage: Problem) -> None:
    before = _db_snapshot()

    for body in ({}, {"answer": ""}, {"answer": "  "}):
        assert agent_api.post(_url(outage, "solve"), body, format="json").status_code == 400

    assert _db_snapshot() == before


# --- The known issue -----------------------------------------------------------------------


def test_publish_change_and_end_the_known_issue(
    agent_api: APIClient, api: APIClient, outage: Problem, fibre: Product
) -> None:
    url = _url(outage, "known-issue")
    published = agent_api.put(
        url,
        {
            "title": "Fibre outage in Leeds",
            "summary": "Lines are down; engineers are on it.",
            "products": [fibre.pk],
            "regions": ["Leeds", " Bradford "],
            "expected_fix_at": FIX_AT.isoformat(),
        },
        format="json",
    )

    assert published.status_code == 200, published.content
    body = published.json()
    assert {k: body[k] for k in ("title", "products", "regions", "is_current", "ended_at")} == {
        "title": "Fibre outage in Leeds",
        "products": [{"id": fibre.pk, "name": "Fibre"}],
        "regions": ["Bradford", "Leeds"],
        "is_current": True,
        "ended_at": None,
    }
    public = api.get("/api/v1/known-issues/").json()
    assert public == [
        {
            "id": body["id"],
            "title": "Fibre outage in Leeds",
            "summary": "Lines are down; engineers are on it.",
            "products": ["Fibre"],
            "regions": ["Bradford", "Leeds"],
            "expected_fix_at": "2030-05-06T14:30:00Z",
            "published_at": body["published_at"],
        }
    ]

    changed = agent_api.put(url, {"title": "Fibre outage", "summary": "Fixed by 6."}, format="json")
    assert changed.status_code == 200
    assert KnownIssue.objects.get().products.count() == 0
    assert api.get("/api/v1/known-issues/").json()[0]["title"] == "Fibre outage"

    assert agent_api.delete(url).status_code == 204
    assert api.get("/api/v1/known-issues/").json() == []
    assert _error(agent_api.delete(url))["code"] == "conflict"
    kinds = list(outage.events.values_list("kind", flat=True))
    assert kinds.count(ProblemEventKind.PUBLISHED) == 2
    assert kinds.count(ProblemEventKind.UNPUBLISHED) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"summary": "Down."}, "title"),
        ({"title": "Down"}, "summary"),
        ({"title": "Down", "summary": "Down.", "products": [999_999]}, "products"),
        ({"title": "Down", "summary": "Down.", "regions": "Leeds"}, "regions"),
        ({"title": "Down", "summary": "Down.", "expected_fix_at": "soon"}, "expected_fix_at"),
    ],
)
def test_publish_refuses_bad_input_and_writes_nothing(
    agent_api: APIClient, outage: Problem, body: dict[str, Any], field: str
) -> None:
    before = _db_snapshot()

    response = agent_api.put(_url(outage, "known-issue"), body, format="json")

    assert response.status_code == 400
    assert field in _error(response)["fields"]
    assert _db_snapshot() == before


def test_a_solved_problem_has_nothing_to_publish(
    agent_api: APIClient, agent: Any, outage: Problem
) -> None:
    problems.problem_solve(problem=outage, actor=agent, answer="Fixed.")

    response = agent_api.put(
        _url(outage, "known-issue"), {"title": "Down", "summary": "Down."}, format="json"
    )

    assert response.status_code == 409
    assert not KnownIssue.objects.exists()


def test_known_issues_are_public_and_read_without_a_query(
    api: APIClient, customer_api: APIClient, agent: Any, outage: Problem
) -> None:
    known_issues.known_issue_publish(problem=outage, actor=agent, title="Out", summary="Down.")
    assert [i["title"] for i in api.get("/api/v1/known-issues/").json()] == ["Out"]

    with CaptureQueriesContext(connection) as queries:
        response = api.get("/api/v1/known-issues/")

    assert response.status_code == 200
    assert len(queries.captured_queries) == 0
    assert customer_api.get("/api/v1/known-issues/").status_code == 200
    assert api.post("/api/v1/known-issues/", {}, format="json").status_code == 405
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert api.get("/api/v1/known-issues/").status_code == 401


# --- What a ticket is about ----------------------------------------------------------------


@pytest.fixture
def router(db: None) -> Product:
    return Product.objects.create(name="Router X2")


def _service(ticket: Ticket, product: Product, identifier: str) -> Service:
    return service_save(
        service=None, product=product, actor=None, customer=ticket.customer, identifier=identifier
    )


def test_a_ticket_shows_its_product_service_and_problem(
    agent_api: APIClient, outage: Problem, router: Product
) -> None:
    ticket = outage.incidents.order_by("pk").first()
    assert ticket is not None
    line = _service(ticket, router, "RT-88-1234")
    ticket_set_about(ticket=ticket, service=line, actor=None)

    detail = agent_api.get(f"/api/v1/tickets/{ticket.pk}/").json()
    row = next(
        r for r in agent_api.get("/api/v1/tickets/").json()["results"] if r["id"] == ticket.pk
    )

    for shown in (detail, row):
        assert shown["product"] == {"id": router.pk, "name": "Router X2"}
        assert shown["service"] == {
            "id": line.pk, "identifier": "RT-88-1234", "product": router.pk, "region": ""
        }  # fmt: skip
        assert shown["problem"] == {
            "id": outage.pk, "reference": outage.reference, "title": "Fibre outage",
            "status": "investigating",
        }  # fmt: skip
    customer = agent_api.get(f"/api/v1/customers/{ticket.customer_id}/").json()
    assert customer["tickets"][0]["problem"]["id"] == outage.pk


def test_the_ticket_list_finds_a_problems_incidents(
    agent_api: APIClient, outage: Problem, open_ticket: Callable[..., Ticket]
) -> None:
    open_ticket()

    response = agent_api.get("/api/v1/tickets/", {"problem": outage.pk})

    assert response.status_code == 200
    ids = {row["id"] for row in response.json()["results"]}
    assert ids == set(outage.incidents.values_list("pk", flat=True))


def test_patch_says_what_a_ticket_is_about(
    agent_api: APIClient, open_ticket: Callable[..., Ticket], router: Product, fibre: Product
) -> None:
    ticket = open_ticket()
    line = _service(ticket, router, "RT-1")
    url = f"/api/v1/tickets/{ticket.pk}/"

    def about(body: dict[str, Any]) -> tuple[int | None, int | None]:
        response = agent_api.patch(url, body, format="json")
        assert response.status_code == 200, response.content
        shown = response.json()
        return (
            shown["product"]["id"] if shown["product"] else None,
            shown["service"]["id"] if shown["service"] else None,
        )

    assert about({"service": line.pk}) == (router.pk, line.pk)  # a service sets its product
    assert about({"product": router.pk}) == (router.pk, line.pk)  # of it: the service is kept
    assert about({"service": None}) == (router.pk, None)  # the product is kept
    assert about({"service": line.pk, "priority": "high"}) == (router.pk, line.pk)
    assert about({"product": fibre.pk}) == (fibre.pk, None)  # another product: no service
    assert about({"product": None}) == (None, None)
    events = Ticket.objects.get(pk=ticket.pk).events.filter(kind=EventKind.PRODUCT_SET)
    assert events.count() == 5  # the same again is no change


def test_patch_refuses_a_service_of_another_customer_or_product(
    agent_api: APIClient, open_ticket: Callable[..., Ticket], router: Product, fibre: Product
) -> None:
    ticket = open_ticket()
    theirs = service_save(
        service=None, product=router, actor=None, customer=EmailContactFactory().customer,
        identifier="RT-2",
    )  # fmt: skip
    mine = _service(ticket, router, "RT-3")
    url = f"/api/v1/tickets/{ticket.pk}/"
    before = _db_snapshot()

    cases = [
        ({"service": theirs.pk}, "not_their_service"),
        ({"service": mine.pk, "product": fibre.pk}, "wrong_product"),
        ({"service": 999_999}, "invalid"),
        ({"product": "Fibre"}, "invalid"),
        # One change refused: none of the others is made.
        ({"priority": "urgent", "service": theirs.pk}, "not_their_service"),
    ]
    for body, code in cases:
        response = agent_api.patch(url, body, format="json")
        assert response.status_code == 400, body
        assert _error(response)["code"] == code, body

    assert _db_snapshot() == before
