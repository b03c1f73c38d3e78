"""A live chat's ticket merged into the customer's other ticket (the same problem, asked by
email earlier): the conversation goes on, on the ticket kept, with its whole history, once."""

import pytest
from asgiref.sync import sync_to_async

from tests.channels_ingest.chat.test_protocol import agent_socket, customer, receive_until, start
from tests.conftest import _client_for
from tickets import services
from tickets.inbound import InboundMessage
from tickets.models import Channel, ChatSession, ContactKind, Message, Ticket
from tickets.services import chat as chats

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.asyncio,
    pytest.mark.usefixtures("websockets"),
]


def _email_ticket() -> Ticket:
    inbound = InboundMessage(
        channel=Channel.EMAIL,
        sender_kind=ContactKind.EMAIL,
        sender="grace@example.com",
        sender_name="Grace Hopper",
        subject="VPN",
        text="My VPN drops, since Tuesday",
        external_id="<vpn-1@example.com>",
    )
    return services.ticket_open(inbound=inbound, tier_level=1).ticket


def _merge_by_api(agent, source: Ticket, target: Ticket) -> int:
    answer = _client_for(agent).post(
        f"/api/v1/tickets/{source.pk}/merge/", {"into": target.pk}, format="json"
    )
    return answer.status_code


async def test_the_chat_goes_on_on_the_ticket_it_was_merged_into(online_agent):
    older = await sync_to_async(_email_ticket)()
    socket = await customer()
    await socket.receive_json_from(timeout=5)
    session = await start(socket)
    chat = await sync_to_async(ChatSession.objects.select_related("ticket").get)()
    await sync_to_async(chats.chat_accept)(chat_id=chat.pk, agent=online_agent)
    await receive_until(socket, "state")
    agent = await agent_socket(online_agent)
    await agent.send_json_to({"type": "chat.join", "chat": chat.pk})
    await agent.send_json_to({"type": "ping"})
    await receive_until(agent, "pong")  # joined

    assert await sync_to_async(_merge_by_api)(online_agent, chat.ticket, older) == 200

    # The customer writes on, the agent answers: both land on the ticket kept.
    await socket.send_json_to({"type": "message", "client_id": "c-2", "text": "Any news?"})
    assert (await receive_until(socket, "ack"))["client_id"] == "c-2"
    await agent.send_json_to(
        {"type": "chat.message", "chat": chat.pk, "client_id": "a-1", "text": "Looking now"}
    )
    assert (await receive_until(agent, "chat.ack"))["client_id"] == "a-1"
    texts = Message.objects.filter(ticket=older).order_by("id").values_list("body_text", flat=True)
    assert await sync_to_async(list)(texts) == [
        "My VPN drops, since Tuesday",
        "My VPN drops",
        "Any news?",
        "Looking now",
    ]
    # A reload shows the whole conversation, once (the email is not part of it).
    await socket.disconnect()
    again = await customer(session["token"])
    restored = await receive_until(again, "session")
    assert [m["text"] for m in restored["messages"]] == ["My VPN drops", "Any news?", "Looking now"]
    await again.disconnect()
    await agent.disconnect()
