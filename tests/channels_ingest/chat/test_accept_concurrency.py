"""An agent takes at most their chat limit: two chats accepted by one agent at the same
moment (two tabs, a double click on two queue rows) cannot both pass the count. Each
test holds the first accept's transaction open and checks the second waits (PostgreSQL)."""

from typing import Any

import pytest
from django.test import Client

from tests.concurrency import run_second_while_first_holds
from tickets.models import AgentProfile, ChatSession, ChatStatus
from tickets.services import chat as chats

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _waiting_chat(n: int) -> ChatSession:
    return chats.chat_start(
        name=f"Customer {n}", email=f"c{n}@example.com", text="VPN drops", client_id=f"c{n}"
    )


def test_two_chats_accepted_at_once_by_an_agent_with_room_for_one(agent: Any) -> None:
    AgentProfile.objects.filter(user=agent).update(max_chats=1, is_available=True)
    first, second = _waiting_chat(1), _waiting_chat(2)
    tabs = [Client(), Client()]
    for tab in tabs:
        tab.force_login(agent)

    run_second_while_first_holds(
        lambda: tabs[0].post(f"/agent/chats/{first.pk}/accept/"),
        lambda: tabs[1].post(f"/agent/chats/{second.pk}/accept/"),
        lock="transactionid",
    )

    held = ChatSession.objects.filter(agent=agent, status=ChatStatus.ACTIVE)
    assert list(held.values_list("pk", flat=True)) == [first.pk]
    second.refresh_from_db()
    assert second.status == ChatStatus.WAITING and second.agent is None
    told = tabs[1].get("/agent/chats/").content.decode()
    assert "already has 1 chat(s), the most they take at once (1)." in told
