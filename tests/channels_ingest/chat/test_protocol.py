"""Live chat over real WebSockets (Channels' communicator): the protocol of
docs/chat-protocol.md for the customer (/ws/chat/) and the agent (/ws/agent/)."""

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from django.core import mail
from django.test import Client
from django.utils import timezone

from channels_ingest.chat.consumers import TOKENS
from helpdesk.asgi import application
from tests.factories import AgentFactory
from tickets.errors import Conflict
from tickets.models import (
    AgentProfile,
    Channel,
    ChatSession,
    EventKind,
    Message,
    MessageKind,
    Ticket,
)
from tickets.services import chat as chats

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.asyncio,
    pytest.mark.usefixtures("websockets"),
]
ORIGIN = (b"origin", b"http://localhost")


@pytest.fixture(autouse=True)
def _customer_notices(websockets):
    websockets.HELPDESK_CUSTOMER_NOTICES = True


@pytest.fixture
def online_agent(db):
    agent = AgentFactory(username="alice", first_name="Alice")
    AgentProfile.objects.filter(user=agent).update(last_seen_at=timezone.now())
    return agent


async def customer(token: str = "", origin=ORIGIN) -> WebsocketCommunicator:
    path = f"/ws/chat/?token={token}" if token else "/ws/chat/"
    socket = WebsocketCommunicator(application, path, headers=[origin])
    connected, _ = await socket.connect()
    assert connected
    return socket


async def agent_socket(user) -> WebsocketCommunicator:
    def cookie() -> bytes:
        client = Client()
        client.force_login(user)
        return f"sessionid={client.cookies['sessionid'].value}".encode()

    socket = WebsocketCommunicator(
        application, "/ws/agent/", headers=[ORIGIN, (b"cookie", await sync_to_async(cookie)())]
    )
    assert (await socket.connect())[0]
    assert (await socket.receive_json_from(timeout=5))["type"] == "unread"
    return socket


async def receive_until(socket: WebsocketCommunicator, kind: str) -> dict:
    for _ in range(10):
        message = await socket.receive_json_from(timeout=2)
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind}")


async def start(socket: WebsocketCommunicator, text: str = "My VPN drops") -> dict:
    await socket.send_json_to(
        {"type": "start", "name": "Grace Hopper", "email": "grace@example.com",
         "text": text, "client_id": "c-1"}
    )  # fmt: skip
    session = await receive_until(socket, "session")
    ack = await receive_until(socket, "ack")
    assert ack["client_id"] == "c-1"
    return session


async def test_nobody_online_means_leave_a_message_answered_by_email(db, celery_eager):
    socket = await customer()
    assert await socket.receive_json_from(timeout=5) == {
        "type": "status",
        "online": 0,
        "wait_seconds": 60,
    }
    await socket.send_json_to(
        {"type": "start", "name": "Grace", "email": "grace@example.com", "text": "Hi",
         "client_id": "x"}
    )  # fmt: skip
    assert (await socket.receive_json_from(timeout=5))["code"] == "offline"

    await socket.send_json_to(
        {"type": "leave_message", "name": "Grace", "email": "grace@example.com",
         "text": "My VPN drops every few minutes since the update of Tuesday, on the office "
                 "Wi-Fi only, never at home"}
    )  # fmt: skip
    left = await socket.receive_json_from(timeout=5)
    ticket = await sync_to_async(Ticket.objects.get)()
    assert left == {"type": "left_message", "reference": ticket.reference}
    # Its first words, never one cut short.
    assert ticket.subject == (
        "Chat message: My VPN drops every few minutes since the update of Tuesday, on …"
    )
    assert ticket.channel == Channel.WEB  # answered by email
    assert not await sync_to_async(ChatSession.objects.exists)()
    assert any("grace@example.com" in m.to for m in mail.outbox)  # "we received it"
    await socket.disconnect()


LEFT = {"type": "leave_message", "name": "Grace", "email": "grace@example.com",
        "text": "Please call me back about my invoice", "client_id": "left-1"}  # fmt: skip


async def test_a_left_message_sent_again_opens_one_ticket(db, celery_eager):
    # A double click, then a retry on a new connection after the first one dropped.
    first = await customer()
    await receive_until(first, "status")
    await first.send_json_to(LEFT)
    await first.send_json_to(LEFT)
    answers = [await receive_until(first, "left_message") for _ in range(2)]
    await first.disconnect()
    again = await customer()
    await receive_until(again, "status")
    await again.send_json_to(LEFT)
    answers.append(await receive_until(again, "left_message"))
    await again.disconnect()

    ticket = await sync_to_async(Ticket.objects.get)()
    # The same confirmation each time, one ticket with one message, one "we received it".
    assert answers == [{"type": "left_message", "reference": ticket.reference}] * 3
    assert await sync_to_async(Message.objects.filter(kind=MessageKind.INBOUND).count)() == 1
    assert [m.to for m in mail.outbox] == [["grace@example.com"]]

    # Another message (a new client id) is another ticket; so is the same id from another
    # sender, who is never told someone else's ticket.
    other = await customer()
    await receive_until(other, "status")
    await other.send_json_to({**LEFT, "client_id": "left-2", "text": "And my password"})
    second = await receive_until(other, "left_message")
    await other.send_json_to({**LEFT, "email": "ada@example.com"})
    third = await receive_until(other, "left_message")
    await other.disconnect()
    tickets = await sync_to_async(list)(Ticket.objects.order_by("pk"))
    assert [t.reference for t in tickets] == [
        ticket.reference,
        second["reference"],
        third["reference"],
    ]


async def test_start_opens_a_chat_ticket_and_a_resent_message_is_stored_once(online_agent):
    socket = await customer()
    status = await socket.receive_json_from(timeout=5)
    assert status["online"] == 1
    session = await start(socket)

    assert session["state"] == "waiting" and session["position"] == 1
    assert [m["text"] for m in session["messages"]] == ["My VPN drops"]
    ticket = await sync_to_async(Ticket.objects.select_related("tier").get)()
    assert (ticket.channel, ticket.tier.level) == ("chat", 1)

    for _ in range(2):  # the second is a resend after a dropped connection
        await socket.send_json_to({"type": "message", "client_id": "c-2", "text": "Hello?"})
        ack = await receive_until(socket, "ack")
        assert ack["client_id"] == "c-2"
    count = await sync_to_async(Message.objects.filter(body_text="Hello?").count)()
    assert count == 1
    await socket.disconnect()


async def test_reconnect_with_the_token_restores_the_conversation(online_agent):
    socket = await customer()
    await socket.receive_json_from(timeout=5)
    session = await start(socket)
    await socket.disconnect()

    again = await customer(session["token"])
    await again.receive_json_from(timeout=5)  # status
    restored = await again.receive_json_from(timeout=5)
    assert restored["type"] == "session"
    assert [m["client_id"] for m in restored["messages"]] == ["c-1"]
    await again.send_json_to({"type": "sync", "after": restored["messages"][-1]["id"]})
    assert await again.receive_json_from(timeout=5) == {"type": "messages", "messages": []}
    await again.disconnect()


async def test_a_forged_token_is_refused_with_4403():
    socket = WebsocketCommunicator(application, "/ws/chat/?token=1:forged", headers=[ORIGIN])
    assert (await socket.connect())[0]
    assert await socket.receive_output(timeout=2) == {"type": "websocket.close", "code": 4403}


async def test_a_resent_start_finds_the_chat_it_opened(online_agent):
    first, second = await customer(), await customer()
    for socket in (first, second):
        await socket.receive_json_from(timeout=5)
    one, two = await start(first), await start(second)
    assert await sync_to_async(ChatSession.objects.count)() == 1
    assert len(two["messages"]) == 1
    # Tokens are signed with the time, so they differ when a second passed between the two.
    assert TOKENS.value(two["token"]) == TOKENS.value(one["token"]) is not None
    await first.disconnect()
    await second.disconnect()


async def test_a_foreign_origin_is_refused():
    socket = WebsocketCommunicator(
        application, "/ws/chat/", headers=[(b"origin", b"https://evil.example")]
    )
    assert not (await socket.connect())[0]


async def test_agent_and_customer_talk_live_with_typing_and_read_receipts(online_agent):
    socket = await customer()
    await socket.receive_json_from(timeout=5)
    await start(socket)
    chat = await sync_to_async(ChatSession.objects.get)()
    agent = await agent_socket(online_agent)
    await agent.send_json_to({"type": "chat.join", "chat": chat.pk})

    await sync_to_async(chats.chat_accept)(chat_id=chat.pk, agent=online_agent)
    state = await receive_until(socket, "state")
    assert (state["state"], state["agent"]) == ("active", "Alice")

    await agent.send_json_to(
        {"type": "chat.message", "chat": chat.pk, "client_id": "a-1", "text": "Hi Grace!"}
    )
    ack = await receive_until(agent, "chat.ack")
    message = await receive_until(socket, "message")
    assert message["message"]["text"] == "Hi Grace!" and message["message"]["from"] == "agent"
    assert message["message"]["id"] == ack["id"]

    await socket.send_json_to({"type": "typing"})
    assert (await receive_until(agent, "chat.typing"))["chat"] == chat.pk
    await agent.send_json_to({"type": "chat.typing", "chat": chat.pk})
    assert await receive_until(socket, "typing") == {"type": "typing"}

    await socket.send_json_to({"type": "read", "up_to": ack["id"]})
    assert (await receive_until(agent, "chat.read"))["up_to"] == ack["id"]

    await socket.send_json_to({"type": "message", "client_id": "c-9", "text": "Thanks"})
    pushed = await receive_until(agent, "chat.message")
    assert pushed["message"]["text"] == "Thanks" and pushed["message"]["from"] == "customer"
    await socket.disconnect()
    await agent.disconnect()


async def test_only_the_holding_agent_may_write(online_agent):
    socket = await customer()
    await socket.receive_json_from(timeout=5)
    await start(socket)
    chat = await sync_to_async(ChatSession.objects.get)()
    bob = await sync_to_async(AgentFactory)(username="bob")
    await sync_to_async(chats.chat_accept)(chat_id=chat.pk, agent=online_agent)

    intruder = await agent_socket(bob)
    await intruder.send_json_to(
        {"type": "chat.message", "chat": chat.pk, "client_id": "b-1", "text": "Hi"}
    )
    assert (await receive_until(intruder, "chat.error"))["code"] == "not_holder"
    await intruder.disconnect()
    await socket.disconnect()


async def test_end_transcript_and_rating(online_agent, celery_eager):
    socket = await customer()
    await socket.receive_json_from(timeout=5)
    await start(socket)
    chat = await sync_to_async(ChatSession.objects.get)()
    await sync_to_async(chats.chat_accept)(chat_id=chat.pk, agent=online_agent)

    await socket.send_json_to({"type": "end"})
    states = [(await receive_until(socket, "state"))["state"] for _ in range(2)]
    assert states == ["active", "ended"]
    await socket.send_json_to({"type": "transcript"})
    assert (await receive_until(socket, "transcript_sent")) == {"type": "transcript_sent"}
    await socket.send_json_to({"type": "rate", "rating": 5, "comment": "Fast"})
    assert (await receive_until(socket, "rated")) == {"type": "rated"}
    await socket.send_json_to({"type": "message", "client_id": "late", "text": "one more"})
    assert (await receive_until(socket, "error"))["code"] == "ended"
    await socket.disconnect()

    ticket = await sync_to_async(Ticket.objects.get)()
    assert ticket.status in ("new", "open")  # stays open for follow-up by email
    transcript = [m for m in mail.outbox if "transcript" in m.subject]
    assert "My VPN drops" in transcript[0].body
    kinds = await sync_to_async(list)(ticket.events.values_list("kind", flat=True))
    assert {EventKind.CHAT_ACCEPTED, EventKind.CHAT_ENDED, EventKind.RATED} <= set(kinds)
    # The customer left: a later reply goes by email.
    reply = await sync_to_async(chats.ticket_reply)(
        ticket=ticket, actor=online_agent, text="Following up"
    )
    assert reply.channel == Channel.EMAIL


async def test_limits_size_and_rate(online_agent):
    socket = await customer()
    await socket.receive_json_from(timeout=5)
    await start(socket)
    await socket.send_json_to({"type": "message", "client_id": "big", "text": "x" * 2001})
    assert (await receive_until(socket, "error"))["code"] == "too_long"
    for n in range(21):
        await socket.send_json_to({"type": "message", "client_id": f"m{n}", "text": "spam"})
    replies = []
    while not await socket.receive_nothing(timeout=0.5):
        replies.append(await socket.receive_json_from(timeout=5))
    refused = [r for r in replies if r.get("code") == "rate_limited"]
    # 20 messages a minute: the oversized one counted, so 19 went through and 2 did not.
    assert len(refused) == 2
    stored = await sync_to_async(Message.objects.filter(body_text="spam").count)()
    assert stored == 19
    await socket.disconnect()


async def test_html_stays_text(online_agent):
    socket = await customer()
    await socket.receive_json_from(timeout=5)
    session = await start(socket, text="<img src=x onerror=alert(1)>")
    assert session["messages"][0]["text"] == "<img src=x onerror=alert(1)>"  # shown as text
    stored = await sync_to_async(Message.objects.get)(kind=MessageKind.INBOUND)
    assert stored.body_html == ""
    await socket.disconnect()


async def test_two_agents_accepting_at_once_one_wins(online_agent):
    socket = await customer()
    await socket.receive_json_from(timeout=5)
    await start(socket)
    chat = await sync_to_async(ChatSession.objects.get)()
    bob = await sync_to_async(AgentFactory)(username="bob")
    await sync_to_async(chats.chat_accept)(chat_id=chat.pk, agent=online_agent)
    with pytest.raises(Conflict, match="already taken"):
        await sync_to_async(chats.chat_accept)(chat_id=chat.pk, agent=bob)
    await socket.disconnect()


async def test_a_silent_customer_page_ends_the_chat(online_agent):
    socket = await customer()
    await socket.receive_json_from(timeout=5)
    await start(socket)
    await socket.disconnect()
    later = timezone.now() + timedelta(minutes=6)
    assert await sync_to_async(chats.chat_sweep_abandoned)(now=later) == 1
    chat = await sync_to_async(ChatSession.objects.get)()
    assert (chat.status, chat.ended_by) == ("ended", "timeout")


async def test_a_transfer_reaches_the_customer_and_the_new_agent_takes_over(online_agent):
    socket = await customer()
    await socket.receive_json_from(timeout=5)
    await start(socket)
    chat = await sync_to_async(ChatSession.objects.get)()
    bob = await sync_to_async(AgentFactory)(username="bob", first_name="Bob")
    await sync_to_async(chats.chat_accept)(chat_id=chat.pk, agent=online_agent)
    await receive_until(socket, "state")

    await sync_to_async(chats.chat_transfer)(chat_id=chat.pk, to_agent=bob, actor=online_agent)
    state = await receive_until(socket, "state")
    assert (state["state"], state["agent"]) == ("active", "Bob")

    bob_socket = await agent_socket(bob)
    await bob_socket.send_json_to({"type": "chat.join", "chat": chat.pk})
    await bob_socket.send_json_to(
        {"type": "chat.message", "chat": chat.pk, "client_id": "b-1", "text": "Bob here"}
    )
    await receive_until(bob_socket, "chat.ack")
    assert (await receive_until(socket, "message"))["message"]["name"] == "Bob"
    await bob_socket.disconnect()
    await socket.disconnect()
