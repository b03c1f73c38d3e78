"""Light agents and problems, on every door: they read problems and note on them; opening,
changing, linking, unlinking and solving them, their known issues and spikes are for those
who work tickets. The problem services ask tickets.policy, so a door that forgets to ask
(a bulk action, a command, a task) cannot let them through."""

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.conftest import browser
from tests.factories import AgentFactory, LightAgentFactory
from tickets.errors import NotAllowed
from tickets.models import (
    KnownIssue,
    Problem,
    ProblemEvent,
    ProblemEventKind,
    ProblemStatus,
    Spike,
    Ticket,
    TicketEvent,
)
from tickets.problems import known_issues, spikes
from tickets.problems import services as problems

pytestmark = pytest.mark.django_db

REFUSED = "Light agents read tickets and write internal notes; they may not"


@pytest.fixture(autouse=True)
def _afresh() -> None:
    known_issues.forget()  # the current known issues are kept per process


@pytest.fixture
def light(db: None) -> Any:
    return LightAgentFactory(username="lia", tiers=[1])


@pytest.fixture
def ticket(open_ticket: Callable[..., Ticket]) -> Ticket:
    return open_ticket(tier_level=1)


@pytest.fixture
def linked(open_ticket: Callable[..., Ticket]) -> Ticket:
    return open_ticket(tier_level=1, subject="Line down")


@pytest.fixture
def outage(linked: Ticket) -> Problem:
    """An open problem, published as a known issue, with one ticket linked."""
    problem = problems.problem_create(title="Fibre outage", actor=None, tickets=[linked])
    known_issues.known_issue_publish(
        problem=problem, actor=None, title="Fibre down", summary="We are on it."
    )
    return problem


@pytest.fixture
def spike(ticket: Ticket) -> Spike:
    return Spike.objects.create(
        key="w:down+internet", label="words down, internet", ticket_ids=[ticket.pk], seen=5,
        usual=0.2,
    )  # fmt: skip


def written(problem: Problem) -> list[str]:
    """What was done to the problem and its tickets since it was set up, notes aside."""
    kinds = ProblemEvent.objects.filter(problem=problem).exclude(
        kind__in=[ProblemEventKind.CREATED, ProblemEventKind.LINKED, ProblemEventKind.PUBLISHED]
    )
    ticket_kinds = TicketEvent.objects.filter(
        actor__isnull=False, kind__in=["problem_linked", "problem_unlinked"]
    )
    return sorted(
        [*kinds.values_list("kind", flat=True), *ticket_kinds.values_list("kind", flat=True)]
    )


def unchanged(problem: Problem, linked: Ticket, ticket: Ticket, spike: Spike) -> None:
    problem.refresh_from_db()
    assert (problem.title, problem.status) == ("Fibre outage", ProblemStatus.INVESTIGATING)
    assert Problem.objects.count() == 1
    assert KnownIssue.objects.get(problem=problem).ended_at is None
    assert Ticket.objects.get(pk=linked.pk).problem_id == problem.pk
    assert Ticket.objects.get(pk=ticket.pk).problem_id is None
    spike.refresh_from_db()
    assert spike.dismissed_at is None and spike.problem_id is None
    assert written(problem) == []


def test_the_workspace_refuses_light_agents_all_but_notes(light, outage, linked, ticket, spike):
    client = browser(light)
    posts = [
        ("/agent/problems/new/", {"title": "VPN is down"}),
        (f"/agent/problems/{outage.pk}/edit/", {"title": "Renamed", "status": "identified"}),
        (f"/agent/problems/{outage.pk}/link/", {"references": ticket.reference}),
        (f"/agent/problems/{outage.pk}/known-issue/", {"title": "T", "summary": "S"}),
        (f"/agent/problems/{outage.pk}/known-issue/end/", {}),
        (f"/agent/problems/{outage.pk}/solve/", {"answer": "Fixed."}),
        (f"/agent/tickets/{linked.pk}/problem/", {"unlink": "1"}),
        (f"/agent/tickets/{ticket.pk}/problem/", {"problem": outage.pk}),
        (f"/agent/spikes/{spike.pk}/problem/", {}),
        (f"/agent/spikes/{spike.pk}/dismiss/", {}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    unchanged(outage, linked, ticket, spike)

    noted = client.post(f"/agent/problems/{outage.pk}/note/", {"text": "Seen in Leeds too"})
    assert noted.status_code == 302
    assert ProblemEvent.objects.get(problem=outage, kind=ProblemEventKind.NOTE).actor == light


def test_the_api_refuses_light_agents_all_but_notes(light, outage, linked, ticket):
    client = APIClient()
    client.force_authenticate(light)
    problem = f"/api/v1/problems/{outage.pk}/"
    calls = [
        client.post("/api/v1/problems/", {"title": "VPN is down"}, format="json"),
        client.patch(problem, {"title": "Renamed"}, format="json"),
        client.post(f"{problem}link/", {"tickets": [ticket.pk]}, format="json"),
        client.post(f"/api/v1/tickets/{linked.pk}/unlink-problem/"),
        client.post(f"{problem}solve/", {"answer": "Fixed."}, format="json"),
        client.put(f"{problem}known-issue/", {"title": "T", "summary": "S"}, format="json"),
        client.delete(f"{problem}known-issue/"),
    ]
    for response in calls:
        assert response.status_code == 403, response.request["PATH_INFO"]
        assert (
            "Light agents read tickets and write internal notes"
            in response.json()["error"]["message"]
        )
    spike = Spike.objects.create(key="k", label="l", ticket_ids=[], seen=1, usual=0)
    unchanged(outage, linked, ticket, spike)
    # Refused in the reader's language, as the API's other refusals are.
    german = client.post("/api/v1/problems/", {"title": "VPN"}, HTTP_ACCEPT_LANGUAGE="de")
    assert german.status_code == 403
    assert "Light-Agenten" in german.json()["error"]["message"]

    # Notes on a problem, as on a ticket, are for everyone on staff: the workspace has
    # always taken a light agent's; the API refused them.
    noted = client.post(f"{problem}notes/", {"text": "Seen in Leeds too"}, format="json")
    assert noted.status_code == 201
    assert noted.json()["text"] == "Seen in Leeds too"


def test_a_bulk_action_links_no_ticket_for_a_light_agent(light, outage, ticket):
    response = browser(light).post(
        "/agent/bulk/",
        {"tickets": [ticket.pk], "action": "problem", "problem": outage.pk, "next": "/agent/"},
        follow=True,
    )
    said = [str(m) for m in response.context["messages"]]
    assert said == [f"{REFUSED} link tickets to problems."]
    assert Ticket.objects.get(pk=ticket.pk).problem_id is None


def test_a_bulk_action_links_tickets_for_an_agent(outage, ticket):
    agent = AgentFactory(username="arne", tiers=[1])
    browser(agent).post(
        "/agent/bulk/",
        {"tickets": [ticket.pk], "action": "problem", "problem": outage.pk, "next": "/agent/"},
    )
    assert Ticket.objects.get(pk=ticket.pk).problem_id == outage.pk


def test_the_services_refuse_a_light_agent_whatever_the_door(light, outage, linked, ticket, spike):
    calls = {
        "open problems": lambda: problems.problem_create(title="VPN is down", actor=light),
        "change problems": lambda: problems.problem_change(
            problem=outage, actor=light, title="Renamed"
        ),
        "link tickets to problems": lambda: problems.problem_link(
            problem=outage, tickets=[ticket], actor=light
        ),
        "unlink tickets from problems": lambda: problems.problem_unlink(ticket=linked, actor=light),
        "solve problems": lambda: problems.problem_solve(
            problem=outage, actor=light, answer="Fixed."
        ),
        "publish known issues": lambda: known_issues.known_issue_publish(
            problem=outage, actor=light, title="Fibre down", summary="Still on it."
        ),
        "take down known issues": lambda: known_issues.known_issue_end(problem=outage, actor=light),
        "dismiss spikes": lambda: spikes.spike_dismiss(spike=spike, actor=light),
    }
    for doing, call in calls.items():
        with pytest.raises(NotAllowed) as refused:
            call()
        assert refused.value.message == f"{REFUSED} {doing}.", doing
    with pytest.raises(NotAllowed):
        spikes.spike_problem(spike=spike, actor=light)
    unchanged(outage, linked, ticket, spike)

    problems.problem_note(problem=outage, actor=light, text="Seen in Leeds too")
    assert ProblemEvent.objects.filter(problem=outage, kind=ProblemEventKind.NOTE).exists()
