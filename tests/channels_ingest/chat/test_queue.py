"""The customers waiting in the chat queue: each is told their place as the queue moves,
not only when they connect."""

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from tests.channels_ingest.chat.test_protocol import customer, receive_until
from tickets.models import AgentProfile, ChatSession
from tickets.services import chat as chats

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.asyncio,
    pytest.mark.usefixtures("websockets"),
]


async def _waiting(name: str, email: str) -> tuple:
    socket = await customer()
    await receive_until(socket, "status")
    await socket.send_json_to(
        {"type": "start", "name": name, "email": email, "text": "Hello", "client_id": name}
    )
    session = await receive_until(socket, "session")
    await receive_until(socket, "ack")
    return socket, session


async def test_a_waiting_customer_moves_up_when_the_chat_before_theirs_is_taken(online_agent):
    first, one = await _waiting("Ada", "ada@example.com")
    second, two = await _waiting("Grace", "grace@example.com")
    assert (one["position"], two["position"]) == (1, 2)
    ada = await sync_to_async(ChatSession.objects.get)(name="Ada")

    await sync_to_async(chats.chat_accept)(chat_id=ada.pk, agent=online_agent)
    moved = await receive_until(second, "state")
    assert (moved["state"], moved["position"]) == ("waiting", 1)  # "You are next"
    await first.disconnect()
    await second.disconnect()


async def test_a_waiting_customer_hears_when_nobody_is_online_any_more(online_agent):
    # The agent online when the chat started closed the workspace: the page said "An agent
    # will be with you shortly" for as long as the customer waited. Its heartbeat now
    # brings who is online, so the page can say the answer will come by email.
    socket, _session = await _waiting("Grace", "grace@example.com")
    gone = timezone.now() - timedelta(hours=1)
    await sync_to_async(AgentProfile.objects.update)(last_seen_at=gone)

    await socket.send_json_to({"type": "ping"})
    status = await receive_until(socket, "status")
    assert status["online"] == 0
    await socket.disconnect()


async def test_a_start_sent_again_finds_its_chat_even_when_nobody_is_online_any_more(
    online_agent,
):
    # The chat started, but the connection dropped before the page heard so; by the time it
    # sent the start again, the last agent had gone. It was told "nobody is online", left a
    # message (a second ticket), and its chat waited in the queue with nobody on the page.
    await sync_to_async(chats.chat_start)(
        name="Grace", email="grace@example.com", text="Hello", client_id="grace-1"
    )
    gone = timezone.now() - timedelta(hours=1)
    await sync_to_async(AgentProfile.objects.update)(last_seen_at=gone)

    socket = await customer()
    await receive_until(socket, "status")
    await socket.send_json_to(
        {"type": "start", "name": "Grace", "email": "grace@example.com", "text": "Hello",
         "client_id": "grace-1"}
    )  # fmt: skip
    session = await receive_until(socket, "session")
    assert [m["text"] for m in session["messages"]] == ["Hello"]
    assert (await receive_until(socket, "ack"))["client_id"] == "grace-1"
    assert await sync_to_async(ChatSession.objects.count)() == 1
    await socket.disconnect()
