"""Light agents read tickets and write internal notes: no door gives them a ticket to work
(a ticket assigned to one would wait on someone who may not answer it). Routing in turn,
the ticket page, the API, a trigger's action and a chat's transfer all pass them over."""

import re
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.conftest import browser
from tests.factories import AgentFactory, LightAgentFactory
from tickets.automation import dispatch
from tickets.automation.manage import trigger_save
from tickets.models import EventKind, Ticket, Tier
from tickets.services import chat as chats
from tickets.tasks import route_ticket

pytestmark = pytest.mark.django_db

REFUSAL = "Light agents read tickets and write internal notes: Lia cannot be assigned tickets."


@pytest.fixture
def light() -> Any:
    return LightAgentFactory(username="lia", first_name="Lia", last_name="", tiers=[1])


@pytest.mark.parametrize("mode", ["round_robin", "least_open"])
def test_routing_passes_over_a_light_agent_of_the_tier(open_ticket, light, mode):
    Tier.objects.filter(level=1).update(assignment_mode=mode)
    ticket = open_ticket(tier_level=1)
    assert route_ticket(ticket.pk) == "no available agent"
    ticket.refresh_from_db()
    assert ticket.assignee is None

    colleague = AgentFactory(username="arne", tiers=[1])
    for _ in range(2):  # in turn, twice: the light agent's turn never comes
        other = open_ticket(tier_level=1)
        route_ticket(other.pk)
        assert Ticket.objects.get(pk=other.pk).assignee == colleague


def test_the_ticket_page_neither_offers_nor_assigns_a_light_agent(open_ticket, agent, light):
    ticket = open_ticket(tier_level=1)
    client = browser(agent)
    page = client.get(f"/agent/tickets/{ticket.pk}/").content.decode()
    choices = re.search(r'id="side-assignee".*?</select>', page, re.S)
    assert choices
    assert f'value="{agent.pk}"' in choices[0]
    assert f'value="{light.pk}"' not in choices[0]

    answer = client.post(
        f"/agent/tickets/{ticket.pk}/change/",
        {"field": "assignee", "value": str(light.pk)},
        follow=True,
    )
    assert REFUSAL in answer.content.decode()
    ticket.refresh_from_db()
    assert ticket.assignee is None
    assert not ticket.events.filter(kind=EventKind.ASSIGNED).exists()


def test_the_api_refuses_to_assign_a_light_agent(open_ticket, agent, light):
    ticket = open_ticket(tier_level=1)
    api = APIClient()
    api.force_authenticate(agent)
    answer = api.patch(f"/api/v1/tickets/{ticket.pk}/", {"assignee": light.pk}, format="json")
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == REFUSAL
    ticket.refresh_from_db()
    assert ticket.assignee is None


def test_a_trigger_cannot_assign_a_light_agent(
    open_ticket, light, celery_eager, django_capture_on_commit_callbacks
):
    dispatch.forget_rules_in_use()
    trigger_save(
        trigger=None,
        name="To Lia",
        events=["ticket.created"],
        conditions=None,
        actions=[{"type": "assign", "value": light.pk}],
        actor=None,
    )
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(tier_level=1)
    ticket.refresh_from_db()
    assert ticket.assignee is None
    [failed] = ticket.events.filter(kind=EventKind.RULE_FAILED)
    assert failed.data["error"] == REFUSAL


def test_a_chat_is_not_transferred_to_a_light_agent(agent, light):
    chat = chats.chat_start(name="Grace", email="grace@example.com", text="Hi", client_id="c1")
    chats.chat_accept(chat_id=chat.pk, agent=agent)
    client = browser(agent)
    console = client.get(f"/agent/chats/{chat.pk}/").content.decode()
    choices = re.search(r'<select name="agent" id="transfer-agent">(.*?)</select>', console, re.S)
    assert f'value="{light.pk}"' not in (choices[1] if choices else "")

    client.post(f"/agent/chats/{chat.pk}/transfer/", {"agent": light.pk})
    chat.refresh_from_db()
    assert chat.agent == agent
