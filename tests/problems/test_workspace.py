"""Problems in the agent workspace, through HTTP: from a ticket's page, from a queue, from a
spike, and the problem's own page (notes, known issue, solving)."""

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tickets import services
from tickets.catalog.services import service_save
from tickets.models import (
    EventKind,
    KnownIssue,
    MessageKind,
    Problem,
    Product,
    Spike,
    Ticket,
    TicketStatus,
)
from tickets.problems import services as problems

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent_client(client: Any, agent: Any) -> Any:
    client.force_login(agent)
    return client


def _messages(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_an_agent_says_what_a_ticket_is_about_and_opens_a_problem_from_it(
    agent_client: Any, open_ticket: Any
) -> None:
    ticket = open_ticket(subject="Router keeps rebooting")
    router = Product.objects.create(name="Router X2")
    service = service_save(
        service=None, product=router, customer=ticket.customer, identifier="RX-1", actor=None
    )
    page = agent_client.get(f"/agent/tickets/{ticket.pk}/").content.decode()
    assert f'value="service:{service.pk}"' in page and "Router X2 RX-1" in page

    agent_client.post(f"/agent/tickets/{ticket.pk}/about/", {"about": f"service:{service.pk}"})
    response = agent_client.post(
        f"/agent/tickets/{ticket.pk}/problem/", {"title": "Router X2 firmware 4.1"}, follow=True
    )

    ticket.refresh_from_db()
    assert (ticket.product, ticket.service) == (router, service)
    problem = Problem.objects.get()
    assert ticket.problem == problem and problem.product == router
    assert "Opened a problem with this ticket linked." in _messages(response)
    page = response.content.decode()
    assert f"{problem.reference} Router X2 firmware 4.1" in page
    assert "About: Router X2 RX-1" in page  # the history says it


def test_a_product_not_theirs_and_a_bad_choice_are_refused(
    agent_client: Any, open_ticket: Any
) -> None:
    ticket, other = open_ticket(), open_ticket()
    product = Product.objects.create(name="TV box")
    theirs = service_save(
        service=None, product=product, customer=other.customer, identifier="TV-9", actor=None
    )
    response = agent_client.post(
        f"/agent/tickets/{ticket.pk}/about/", {"about": f"service:{theirs.pk}"}, follow=True
    )
    assert any("is not a service of" in m for m in _messages(response))
    response = agent_client.post(
        f"/agent/tickets/{ticket.pk}/about/", {"about": "service:999999"}, follow=True
    )
    assert "Choose one of the customer's services or a product." in _messages(response)
    ticket.refresh_from_db()
    assert ticket.service is None and ticket.product is None


def test_ticked_tickets_are_linked_to_a_problem_from_a_queue(
    agent_client: Any, agent: Any, open_ticket: Any
) -> None:
    tickets = [open_ticket() for _ in range(3)]
    closed = open_ticket()
    services.ticket_close(ticket=closed, actor=agent)
    problem = problems.problem_create(title="Mail delays", actor=agent)
    assert f"PRB-{problem.pk} Mail delays" in agent_client.get("/agent/queue/all/").content.decode()

    response = agent_client.post(
        "/agent/bulk/",
        {
            "action": "problem",
            "problem": problem.pk,
            "tickets": [t.pk for t in [*tickets, closed]],
            "next": "/agent/queue/all/",
        },
        follow=True,
    )

    said = _messages(response)
    assert "Done for 3 tickets." in said
    assert f"{closed.reference}: not linked, it is closed." in said
    assert set(problem.incidents.values_list("pk", flat=True)) == {t.pk for t in tickets}


def test_a_spike_becomes_a_problem_in_one_click(agent_client: Any, open_ticket: Any) -> None:
    tickets = [open_ticket() for _ in range(5)]
    spike = Spike.objects.create(
        key="w:down+internet", label="words down, internet",
        ticket_ids=[t.pk for t in tickets], seen=5, usual=0.2,
    )  # fmt: skip
    page = agent_client.get("/agent/problems/").content.decode()
    assert "5 tickets</strong> alike (words down, internet)" in page

    response = agent_client.post(f"/agent/spikes/{spike.pk}/problem/", follow=True)

    problem = Problem.objects.get()
    assert response.redirect_chain[-1][0] == f"/agent/problems/{problem.pk}/"
    assert problem.incidents.count() == 5
    page = agent_client.get("/agent/problems/").content.decode()
    assert f'id="spike-{spike.pk}"' not in page, "a spike made a problem is no longer offered"
    assert "Many tickets alike: words down, internet" in page


def test_a_problem_page_takes_notes_publishes_a_known_issue_and_solves(
    agent_client: Any,
    agent: Any,
    open_ticket: Any,
    celery_eager: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    tickets = [open_ticket(sender_name=f"Customer {n}") for n in range(3)]
    problem = problems.problem_create(title="Fibre outage", actor=agent, tickets=tickets)
    url = f"/agent/problems/{problem.pk}/"
    fibre = Product.objects.create(name="Fibre")

    agent_client.post(f"{url}note/", {"text": "Upstream provider says 2 hours."})
    response = agent_client.post(
        f"{url}known-issue/",
        {
            "issue-title": "Fibre outage in Leeds",
            "issue-summary": "Fibre lines in Leeds are down; engineers are on it.",
            "issue-products": [fibre.pk],
            "issue-regions": "Leeds, Bradford",
        },
        follow=True,
    )
    assert any(m.startswith("Published") for m in _messages(response))
    issue = KnownIssue.objects.get()
    assert issue.is_current and issue.regions == ["Bradford", "Leeds"]
    page = response.content.decode()
    assert "Upstream provider says 2 hours." in page and "3 tickets linked, <span" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(
            f"{url}solve/", {"answer": "Hello {{ customer.first_name }}, it is fixed."}, follow=True
        )

    assert f"{problem.reference} solved: its 3 open tickets are being" in _messages(response)[0]
    for ticket in tickets:
        ticket.refresh_from_db()
        assert ticket.status == TicketStatus.RESOLVED
        answer = ticket.messages.filter(kind=MessageKind.OUTBOUND).get()
        assert answer.body_text.startswith(f"Hello {ticket.customer.name.split()[0]}, it is fixed.")
    issue.refresh_from_db()
    assert not issue.is_current, "solving ends the known issue"
    page = agent_client.get(url).content.decode()
    assert "3 tickets answered and resolved." in page


def test_bad_input_on_a_problem_page_says_so_and_changes_nothing(
    agent_client: Any, agent: Any
) -> None:
    problem = problems.problem_create(title="Outage", actor=agent)
    url = f"/agent/problems/{problem.pk}/"

    assert agent_client.post(f"{url}solve/", {"answer": ""}).status_code == 400
    assert agent_client.post(f"{url}known-issue/", {"issue-title": "x"}).status_code == 400
    response = agent_client.post(f"{url}link/", {"references": "HD-999999, nonsense"}, follow=True)
    assert "Not a ticket: nonsense." in _messages(response)[0]
    problem.refresh_from_db()
    assert problem.is_open and not KnownIssue.objects.exists()
    assert not Ticket.objects.filter(problem=problem).exists()


def test_problem_pages_are_for_staff_only(client: Any, customer_user: Any, agent: Any) -> None:
    problem = problems.problem_create(title="Outage", actor=agent)
    client.force_login(customer_user)
    assert client.get(f"/agent/problems/{problem.pk}/").status_code == 403
    assert client.post(f"/agent/problems/{problem.pk}/solve/", {"answer": "x"}).status_code == 403
    problem.refresh_from_db()
    assert problem.is_open


def test_the_problem_list_and_page_cost_the_same_queries_for_3_or_30_tickets(
    agent_client: Any, agent: Any, open_ticket: Any
) -> None:
    problem = problems.problem_create(title="Outage", actor=agent)

    def queries(n: int) -> tuple[int, int]:
        tickets = [open_ticket() for _ in range(n)]
        problems.problem_link(problem=problem, tickets=tickets, actor=agent)
        problems.problem_create(title=f"Another {n}", actor=agent, tickets=tickets[:1])
        counts = []
        for url in ("/agent/problems/", f"/agent/problems/{problem.pk}/"):
            agent_client.get(url)
            with CaptureQueriesContext(connection) as captured:
                assert agent_client.get(url).status_code == 200
            counts.append(len(captured))
        return counts[0], counts[1]

    assert queries(3) == queries(27)


def test_the_history_of_a_ticket_says_it_was_linked_and_answered(
    agent_client: Any, agent: Any, open_ticket: Any
) -> None:
    ticket = open_ticket()
    problem = problems.problem_create(title="Outage", actor=agent, tickets=[ticket])
    assert ticket.events.filter(kind=EventKind.PROBLEM_LINKED).exists()
    page = agent_client.get(f"/agent/tickets/{ticket.pk}/").content.decode()
    assert f"Linked to problem {problem.reference}: Outage" in page


def test_an_agent_stops_showing_a_known_issue_and_a_second_stop_says_why(
    agent_client: Any, agent: Any
) -> None:
    from tickets.problems import known_issues

    problem = problems.problem_create(title="Outage", actor=agent)
    known_issues.known_issue_publish(
        problem=problem, actor=agent, title="Mail delayed", summary="Up to an hour."
    )
    url = f"/agent/problems/{problem.pk}/known-issue/end/"

    response = agent_client.post(url, follow=True)

    assert "The known issue is no longer shown." in _messages(response)
    assert not KnownIssue.objects.get().is_current
    assert "has no known issue published" in _messages(agent_client.post(url, follow=True))[0]
    assert known_issues.current() == ()


@pytest.mark.parametrize(
    "title", ["x" * 201, "", "Outage\x00"], ids=["too long", "blank", "NUL character"]
)
def test_a_refused_new_problem_comes_back_with_what_was_typed(
    agent_client: Any, title: str
) -> None:
    response = agent_client.post(
        "/agent/problems/new/",
        {"title": title, "region": "Leeds", "public_explanation": "Payments fail since 9:00."},
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "A new problem needs a title (up to 200 characters)." in page
    assert "Payments fail since 9:00.</textarea>" in page and 'value="Leeds"' in page
    assert not Problem.objects.exists()
