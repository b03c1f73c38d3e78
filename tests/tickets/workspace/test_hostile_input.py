"""The workspace's doors as a careless or hostile agent uses them: forged ids past a 64-bit
column, NUL characters (which PostgreSQL can neither store nor compare) in what is typed or
searched. Each is a clear refusal or an empty result, never a server error, and nothing is
written."""

import pytest
from django.contrib.auth.models import User

from tickets.models import CustomerNote, Problem, ProblemEvent, Ticket
from tickets.problems import services as problems

pytestmark = pytest.mark.django_db

PAST_64_BITS = "9" * 25


@pytest.fixture
def ticket(open_ticket) -> Ticket:
    return open_ticket(tier_level=1, subject="Printer jams")


def test_a_queue_filtered_by_an_assignee_id_past_any_column_is_a_clear_400(agent_client):
    for view in ("mine", "all"):
        response = agent_client.get(f"/agent/queue/{view}/", {"assignee": PAST_64_BITS})

        assert response.status_code == 400
        assert "assignee" in response.context["form"].errors


def test_the_mention_list_passes_over_a_nul_character(agent_client, agent: User):
    response = agent_client.get("/agent/mentions/", {"q": f"{agent.username[:3]}\x00"})

    assert response.status_code == 200
    assert agent.username in [found["username"] for found in response.json()["results"]]


def test_the_organization_search_passes_over_a_nul_character(agent_client):
    response = agent_client.get("/agent/organizations/", {"q": "acme\x00"})

    assert response.status_code == 200


def test_a_customer_note_holding_a_nul_character_is_refused(agent_client, ticket):
    url = f"/agent/customers/{ticket.customer_id}/notes/"

    response = agent_client.post(url, {"text": "Prefers calls\x00"}, follow=True)

    assert response.status_code == 200
    assert "NUL character" in response.content.decode()
    assert not CustomerNote.objects.exists()


def test_a_problem_opened_from_the_ticket_page_with_a_nul_in_its_title_is_refused(
    agent_client, ticket
):
    url = f"/agent/tickets/{ticket.pk}/problem/"

    response = agent_client.post(url, {"title": "Printers\x00 down"}, follow=True)

    assert response.status_code == 200
    assert "NUL character" in response.content.decode()
    assert not Problem.objects.exists()


def test_a_problem_title_too_long_typed_on_the_ticket_page_is_refused_not_cut(agent_client, ticket):
    url = f"/agent/tickets/{ticket.pk}/problem/"

    response = agent_client.post(url, {"title": "Printers down " * 20}, follow=True)

    assert "at most 200 characters; this one has 279" in response.content.decode()
    assert not Problem.objects.exists()


def test_a_problem_note_holding_a_nul_character_is_refused(agent_client, agent, ticket):
    problem = problems.problem_create(title="Printers down", actor=agent, tickets=[ticket])
    notes_before = ProblemEvent.objects.filter(problem=problem).count()

    response = agent_client.post(
        f"/agent/problems/{problem.pk}/note/", {"text": "Vendor\x00 called"}, follow=True
    )

    assert response.status_code == 200
    assert "NUL character" in response.content.decode()
    assert ProblemEvent.objects.filter(problem=problem).count() == notes_before
