"""Assigning a live chat's ticket passes the chat on with it, at every door (the ticket
page, the API), so the ticket's assignee and the agent the customer talks to are one
person. It is passed on as from the console: by the agent holding it (or an admin), to an
agent with room for another chat; otherwise the assignment is refused and says why."""

from typing import Any

import pytest

from tests.conftest import _client_for, browser
from tests.factories import AgentFactory
from tests.tickets.api_helpers import error_of
from tickets.models import AgentProfile, ChatSession, ChatStatus, EventKind
from tickets.services import chat as chats

pytestmark = pytest.mark.django_db


@pytest.fixture
def held(agent: Any) -> ChatSession:
    """A chat Alice (agent1) holds: she accepted it."""
    chat = chats.chat_start(
        name="Grace Hopper", email="grace@example.com", text="VPN drops", client_id="c1"
    )
    return chats.chat_accept(chat_id=chat.pk, agent=agent)


def _holder_and_assignee(chat: ChatSession) -> tuple[int | None, int | None]:
    chat.refresh_from_db()
    chat.ticket.refresh_from_db()
    return chat.agent_id, chat.ticket.assignee_id


def test_the_holder_assigns_the_ticket_on_its_page_and_the_chat_goes_with_it(
    agent: Any, held: ChatSession
) -> None:
    bob = AgentFactory(username="bob", first_name="Bob")

    browser(agent).post(
        f"/agent/tickets/{held.ticket.pk}/change/", {"field": "assignee", "value": bob.pk}
    )

    assert _holder_and_assignee(held) == (bob.pk, bob.pk)
    assert held.status == ChatStatus.ACTIVE
    assert held.ticket.events.filter(kind=EventKind.CHAT_TRANSFERRED).count() == 1
    console = browser(bob).get(f"/agent/chats/{held.pk}/").content.decode()
    assert "Grace Hopper" in console
    # Bob now speaks for the desk in it; Alice no longer does.
    assert browser(bob).post(
        f"/agent/tickets/{held.ticket.pk}/reply/", {"text": "Bob here", "channel": "chat"}
    ).status_code in (200, 302)
    refused = browser(agent).post(
        f"/agent/tickets/{held.ticket.pk}/reply/", {"text": "Alice here", "channel": "chat"}
    )
    assert "Only the agent holding this chat" in refused.content.decode()


def test_a_colleague_taking_the_ticket_of_a_chat_someone_holds_is_refused_and_told_why(
    agent: Any, held: ChatSession
) -> None:
    bob = AgentFactory(username="bob", first_name="Bob")

    answer = _client_for(bob).patch(
        f"/api/v1/tickets/{held.ticket.pk}/", {"assignee": bob.pk}, format="json"
    )

    assert answer.status_code == 409, answer.content
    error = error_of(answer)
    assert error["code"] == "not_holder"
    assert error["message"] == (
        f"{held.ticket.reference} is in a live chat with {agent.get_full_name()}: "
        "only they (or an admin) can pass the chat on."
    )
    assert _holder_and_assignee(held) == (agent.pk, agent.pk)
    assert not held.ticket.events.filter(kind=EventKind.CHAT_TRANSFERRED).exists()


def test_assigning_to_an_agent_without_room_for_the_chat_is_refused(
    agent: Any, held: ChatSession
) -> None:
    carol = AgentFactory(username="carol", first_name="Carol")
    AgentProfile.objects.filter(user=carol).update(max_chats=0)

    page = browser(agent).post(
        f"/agent/tickets/{held.ticket.pk}/change/",
        {"field": "assignee", "value": carol.pk},
        follow=True,
    )

    assert "the most they take at once (0)" in page.content.decode()
    assert _holder_and_assignee(held) == (agent.pk, agent.pk)
