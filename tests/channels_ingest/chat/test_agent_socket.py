"""The agent's end of live chat on the workspace socket (/ws/agent/), as agents use it:
long answers, and a socket that outlives the agent's access (deactivated, made a light
agent) while a chat is open."""

import pytest
from asgiref.sync import sync_to_async

from tests.channels_ingest.chat.test_protocol import agent_socket, customer, receive_until, start
from tickets.models import ChatSession
from tickets.services import chat as chats

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.asyncio,
    pytest.mark.usefixtures("websockets"),
]


async def _talking(online_agent):
    """A customer's socket and the holding agent's socket, both joined to the chat."""
    socket = await customer()
    await socket.receive_json_from(timeout=5)
    await start(socket)
    chat = await sync_to_async(ChatSession.objects.get)()
    await sync_to_async(chats.chat_accept)(chat_id=chat.pk, agent=online_agent)
    await receive_until(socket, "state")
    agent = await agent_socket(online_agent)
    await agent.send_json_to({"type": "chat.join", "chat": chat.pk})
    return socket, agent, chat


async def test_a_long_answer_reaches_the_customer(online_agent):
    # The console allows 2,000 characters; an answer of 1,500 (with line breaks, which the
    # frame carries escaped) reached nobody and stayed "sending…" for ever.
    socket, agent, chat = await _talking(online_agent)
    text = "\n".join(
        ["Try these steps, one after the other:"] + [f"{n}. " + "x" * 70 for n in range(20)]
    )
    assert 1400 < len(text) <= 2000
    await agent.send_json_to(
        {"type": "chat.message", "chat": chat.pk, "client_id": "a-1", "text": text}
    )
    ack = await receive_until(agent, "chat.ack")
    pushed = await receive_until(socket, "message")
    assert pushed["message"]["text"] == text and pushed["message"]["id"] == ack["id"]
    await agent.disconnect()
    await socket.disconnect()
