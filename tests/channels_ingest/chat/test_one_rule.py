"""Who writes in a live chat, at every door: the console's socket refuses anyone but the
agent holding the chat, and so do the ticket page's reply form and the API, which send an
answer into the chat when the customer is in one."""

import pytest

from tests.conftest import browser
from tests.factories import AgentFactory
from tickets.models import ChatSession, MessageKind
from tickets.services import chat as chats

pytestmark = pytest.mark.django_db


@pytest.fixture
def chat(db) -> ChatSession:
    return chats.chat_start(
        name="Grace Hopper", email="grace@example.com", text="VPN drops", client_id="c1"
    )


def _answers(chat: ChatSession) -> list[str]:
    return list(
        chat.ticket.messages.filter(kind=MessageKind.OUTBOUND, is_automatic=False).values_list(
            "body_text", flat=True
        )
    )


def test_a_colleague_cannot_write_in_a_chat_another_agent_holds_from_the_ticket_page(agent, chat):
    chats.chat_accept(chat_id=chat.pk, agent=agent)
    bob = AgentFactory(username="bob", first_name="Bob")

    page = browser(bob).post(
        f"/agent/tickets/{chat.ticket.pk}/reply/", {"text": "Bob here", "channel": "chat"}
    )
    assert page.status_code == 400
    assert "Only the agent holding this chat" in page.content.decode()
    assert _answers(chat) == []  # nothing reached the customer

    # The holder answers there as on the console.
    browser(agent).post(
        f"/agent/tickets/{chat.ticket.pk}/reply/", {"text": "Alice here", "channel": "chat"}
    )
    assert _answers(chat) == ["Alice here"]


def test_a_waiting_chat_is_accepted_before_anyone_writes_in_it(agent, chat, agent_api):
    # Answered from the ticket page or the API while it still waits in the queue, the
    # customer read an answer from nobody the chat named, and another agent could accept it.
    page = browser(agent).post(
        f"/agent/tickets/{chat.ticket.pk}/reply/", {"text": "Hi", "channel": "chat"}
    )
    assert page.status_code == 400
    assert "accept the chat first" in page.content.decode()
    answer = agent_api.post(
        f"/api/v1/tickets/{chat.ticket.pk}/replies/", {"text": "Hi", "channel": "chat"}
    )
    assert answer.status_code in (400, 403, 409), answer.content
    assert _answers(chat) == []
    chat.refresh_from_db()
    assert chat.status == "waiting"
