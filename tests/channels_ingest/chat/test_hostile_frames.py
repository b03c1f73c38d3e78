"""The customer's chat socket under frames a page never sends but anyone can: NUL
characters (which PostgreSQL cannot store) and numbers past any message id. Each is
answered as usual, the conversation goes on, and nothing is lost."""

import pytest
from asgiref.sync import sync_to_async

from tests.channels_ingest.chat.test_protocol import (  # noqa: F401 (a fixture)
    customer,
    online_agent,
    receive_until,
    start,
)
from tickets.models import ChatSession, Message, MessageKind, Ticket

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.asyncio,
    # An agent is online, so a chat starts.
    pytest.mark.usefixtures("websockets", "online_agent"),
]


async def _still_talking(socket) -> None:
    """The socket still answers: it was not closed by a crash."""
    await socket.send_json_to({"type": "ping"})
    assert (await receive_until(socket, "pong"))["type"] == "pong"


async def test_nul_characters_in_the_start_form_are_dropped_not_a_crash():
    socket = await customer()
    await socket.receive_json_from(timeout=5)
    await socket.send_json_to(
        {"type": "start", "name": "Grace\x00 Hopper", "email": "grace@example.com",
         "text": "My VPN\x00 drops", "client_id": "c\x00-1"}
    )  # fmt: skip
    session = await receive_until(socket, "session")
    assert [m["text"] for m in session["messages"]] == ["My VPN drops"]
    assert (await receive_until(socket, "ack"))["client_id"] == "c-1"
    chat = await sync_to_async(ChatSession.objects.get)()
    assert chat.name == "Grace Hopper"
    await _still_talking(socket)
    await socket.disconnect()


async def test_a_nul_character_in_a_message_is_dropped_and_the_message_kept():
    socket = await customer()
    await socket.receive_json_from(timeout=5)
    await start(socket)
    for _ in range(2):  # a resend after a dropped connection is still stored once
        await socket.send_json_to({"type": "message", "client_id": "c\x00-2", "text": "Hel\x00lo?"})
        assert (await receive_until(socket, "ack"))["client_id"] == "c-2"
    stored = await sync_to_async(list)(
        Message.objects.filter(kind=MessageKind.INBOUND).values_list("body_text", flat=True)
    )
    assert stored == ["My VPN drops", "Hello?"]
    await _still_talking(socket)
    await socket.disconnect()


async def test_a_message_left_with_nul_characters_opens_its_ticket(settings):
    settings.HELPDESK_CUSTOMER_NOTICES = False
    await sync_to_async(ChatSession.objects.all().delete)()
    from tickets.models import AgentProfile

    await sync_to_async(AgentProfile.objects.update)(last_seen_at=None)  # nobody online
    socket = await customer()
    assert (await socket.receive_json_from(timeout=5))["online"] == 0
    await socket.send_json_to(
        {"type": "leave_message", "name": "Grace\x00", "email": "grace@example.com",
         "text": "Call me\x00 back"}
    )  # fmt: skip
    left = await receive_until(socket, "left_message")
    ticket = await sync_to_async(Ticket.objects.select_related("customer").get)()
    assert left["reference"] == ticket.reference
    assert ticket.customer.name == "Grace"
    body = await sync_to_async(lambda: ticket.messages.get().body_text)()
    assert body == "Call me back"
    await socket.disconnect()


@pytest.mark.parametrize("up_to", [2**63, 2**80, -1])
async def test_a_read_receipt_past_any_message_id_is_ignored(up_to):
    socket = await customer()
    await socket.receive_json_from(timeout=5)
    await start(socket)
    await socket.send_json_to({"type": "read", "up_to": up_to})
    await _still_talking(socket)
    chat = await sync_to_async(ChatSession.objects.get)()
    assert chat.customer_read_up_to == 0
    await socket.disconnect()
