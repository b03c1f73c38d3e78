"""The agent's end of live chat on the workspace socket (/ws/agent/), as agents use it:
long answers, and a socket that outlives the agent's access (deactivated, made a light
agent) while a chat is open."""

import json

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import Group

from tests.channels_ingest.chat.test_protocol import agent_socket, customer, receive_until, start
from tests.factories import AgentFactory
from tickets.models import ChatSession, Message, MessageKind
from tickets.roles import AGENTS_GROUP, LIGHT_AGENTS_GROUP
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
    await agent.send_json_to({"type": "ping"})
    await receive_until(agent, "pong")  # joined (on SQLite, a join racing a write fails)
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


async def _answer(agent) -> dict:
    """The socket's answer to a chat message: its ack, a refusal, or its closing."""
    while True:
        output = await agent.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            return output
        frame = json.loads(output["text"])
        if frame["type"] in ("chat.ack", "chat.error"):
            return frame


def _deactivate(user) -> None:
    user.is_active = False
    user.save(update_fields=["is_active"])


def _make_light_agent(user) -> None:
    user.groups.remove(Group.objects.get(name=AGENTS_GROUP))
    user.groups.add(Group.objects.get(name=LIGHT_AGENTS_GROUP))


@pytest.mark.parametrize("change", [_deactivate, _make_light_agent])
async def test_an_open_socket_loses_what_the_agent_lost(online_agent, change):
    # Deactivated (or made a light agent) in the team page while their chat console is
    # open: the pages refuse them at once, and so must the socket they opened before.
    socket, agent, chat = await _talking(online_agent)
    await agent.send_json_to(
        {"type": "chat.message", "chat": chat.pk, "client_id": "a-0", "text": "Hi"}
    )
    await receive_until(agent, "chat.ack")
    await receive_until(socket, "message")
    await sync_to_async(change)(online_agent)

    await agent.send_json_to(
        {"type": "chat.message", "chat": chat.pk, "client_id": "a-1", "text": "Still here"}
    )
    assert (await _answer(agent))["type"] in ("websocket.close", "chat.error")
    assert await socket.receive_nothing(timeout=0.5)  # the customer heard nothing
    said = Message.objects.filter(ticket_id=chat.ticket_id, kind=MessageKind.OUTBOUND)
    assert await sync_to_async(list)(said.values_list("body_text", flat=True)) == ["Hi"]
    await socket.disconnect()


async def test_a_deactivated_agents_heartbeat_closes_their_socket(online_agent):
    # The socket also carries the queues and the chats followed: it is closed at the next
    # heartbeat, whatever the agent does.
    socket, agent, _chat = await _talking(online_agent)
    await sync_to_async(_deactivate)(online_agent)
    await agent.send_json_to({"type": "ping"})
    assert await _answer(agent) == {"type": "websocket.close", "code": 4403}
    await socket.disconnect()


async def test_after_a_dropped_connection_the_agent_reads_what_the_customer_wrote_meanwhile(
    online_agent,
):
    # The agent's connection dropped for a moment while the customer kept writing: those
    # messages were pushed to nobody, and the console never showed them (the customer's
    # page asks for what it missed; the console could not).
    socket, agent, chat = await _talking(online_agent)
    await agent.send_json_to(
        {"type": "chat.message", "chat": chat.pk, "client_id": "a-1", "text": "Hi"}
    )
    seen = (await receive_until(agent, "chat.ack"))["id"]
    await agent.disconnect()
    for n in (1, 2):
        await socket.send_json_to(
            {"type": "message", "client_id": f"m-{n}", "text": f"Still there? {n}"}
        )
        await receive_until(socket, "ack")

    again = await agent_socket(online_agent)
    await again.send_json_to({"type": "chat.join", "chat": chat.pk, "after": seen})
    missed = await receive_until(again, "chat.messages")
    assert missed["chat"] == chat.pk
    assert [m["text"] for m in missed["messages"]] == ["Still there? 1", "Still there? 2"]
    await again.disconnect()
    await socket.disconnect()


async def test_only_the_agent_holding_the_chat_tells_the_customer_it_was_read(online_agent):
    # A colleague (a lead looking in) opening the console told the customer "Read" while the
    # agent holding the chat had not seen it.
    socket, agent, chat = await _talking(online_agent)
    await socket.send_json_to({"type": "message", "client_id": "c-2", "text": "Hello?"})
    said = (await receive_until(socket, "ack"))["id"]
    await receive_until(socket, "message")  # its echo (to the customer's other tabs)
    bob = await sync_to_async(AgentFactory)(username="bob")
    colleague = await agent_socket(bob)
    await colleague.send_json_to({"type": "chat.join", "chat": chat.pk})
    await colleague.send_json_to({"type": "chat.read", "chat": chat.pk, "up_to": said})
    await colleague.send_json_to({"type": "ping"})
    await receive_until(colleague, "pong")  # the read was handled
    assert await socket.receive_nothing(timeout=0.5)
    assert (await sync_to_async(ChatSession.objects.get)()).agent_read_up_to == 0

    await agent.send_json_to({"type": "chat.read", "chat": chat.pk, "up_to": said})
    assert (await receive_until(socket, "read"))["up_to"] == said
    await colleague.disconnect()
    await agent.disconnect()
    await socket.disconnect()


async def test_only_the_agent_holding_the_chat_shows_the_customer_they_are_typing(online_agent):
    # A colleague typing a note in the console of a chat they follow showed the customer
    # "The agent is typing…" for an answer that never came.
    socket, agent, chat = await _talking(online_agent)
    bob = await sync_to_async(AgentFactory)(username="bob")
    colleague = await agent_socket(bob)
    await colleague.send_json_to({"type": "chat.join", "chat": chat.pk})
    await colleague.send_json_to({"type": "chat.typing", "chat": chat.pk})
    await colleague.send_json_to({"type": "ping"})
    await receive_until(colleague, "pong")  # the typing was handled
    assert await socket.receive_nothing(timeout=0.5)

    await agent.send_json_to({"type": "chat.typing", "chat": chat.pk})
    assert await receive_until(socket, "typing") == {"type": "typing"}
    await colleague.disconnect()
    await agent.disconnect()
    await socket.disconnect()
