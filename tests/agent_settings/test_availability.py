"""Away agents get no automatic assignments and no chats; the chat page shows who is away."""

from typing import Any

import pytest
from django.utils import timezone

from tests.factories import AgentFactory
from tickets import services
from tickets.errors import Conflict
from tickets.models import AgentProfile, Tier
from tickets.services import chat as chats

pytestmark = pytest.mark.django_db


def _away(client: Any, agent: Any) -> None:
    client.force_login(agent)
    client.post("/agent/settings/availability/", {"availability": "away"})
    assert AgentProfile.objects.get(user=agent).is_available is False


def test_automatic_assignment_skips_an_agent_who_set_away(client: Any, open_ticket: Any) -> None:
    Tier.objects.filter(level=1).update(assignment_mode="round_robin")
    away = AgentFactory(username="a-away", tiers=[1])
    here = AgentFactory(username="b-here", tiers=[1])
    _away(client, away)
    for _ in range(3):
        ticket = open_ticket(tier_level=1)
        services.ticket_route(ticket_id=ticket.pk)
        ticket.refresh_from_db()
        assert ticket.assignee == here


def _waiting_chat() -> Any:
    return chats.chat_start(name="Ann", email="ann@example.com", text="Hello?", client_id="c-1")


def test_an_away_agent_is_offered_no_chat(client: Any, agent: Any) -> None:
    chat = _waiting_chat()
    AgentProfile.objects.filter(user=agent).update(last_seen_at=timezone.now())
    assert chats.chat_availability().online == 1  # the widget says someone is there
    _away(client, agent)
    assert chats.chat_availability().online == 0
    response = client.post(f"/agent/chats/{chat.pk}/accept/", follow=True)
    assert "is away and takes no chats" in response.content.decode()
    chat.refresh_from_db()
    assert chat.agent_id is None
    with pytest.raises(Conflict, match="away"):
        chats.chat_accept(chat_id=chat.pk, agent=agent)


def test_a_chat_is_not_passed_to_an_away_colleague(client: Any, agent: Any) -> None:
    colleague = AgentFactory(username="colleague", first_name="Awayward", tiers=[1])
    chat = _waiting_chat()
    chats.chat_accept(chat_id=chat.pk, agent=agent)
    AgentProfile.objects.filter(user=colleague).update(is_available=False)
    client.force_login(agent)
    page = client.get(f"/agent/chats/{chat.pk}/").content.decode()
    assert f'<option value="{colleague.pk}">' not in page and "Awayward" not in page
    with pytest.raises(Conflict, match="away"):
        chats.chat_transfer(chat_id=chat.pk, to_agent=colleague, actor=agent)


def test_the_chat_page_shows_the_team_available_or_away(client: Any, agent: Any) -> None:
    AgentFactory(username="zed", first_name="Zed", last_name="Away", tiers=[1])
    AgentProfile.objects.filter(user__username="zed").update(is_available=False)
    client.force_login(agent)
    html = client.get("/agent/chats/").content.decode()
    assert "You are <strong>available</strong>" in html
    assert 'Zed Away · <span class="away">away</span>' in html
