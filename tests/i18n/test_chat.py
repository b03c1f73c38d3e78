"""The live chat for a German browser: the server's messages in German, the customer's
language kept from the chat page's Accept-Language."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from django.utils import timezone

from helpdesk.asgi import application
from tests.factories import AgentFactory
from tickets.models import AgentProfile, Customer, Message

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.asyncio,
    pytest.mark.usefixtures("websockets"),
]
HEADERS = [(b"origin", b"http://localhost"), (b"accept-language", b"de-DE,de;q=0.9")]


async def german_customer() -> WebsocketCommunicator:
    socket = WebsocketCommunicator(application, "/ws/chat/", headers=HEADERS)
    assert (await socket.connect())[0]
    assert (await socket.receive_json_from(timeout=5))["type"] == "status"
    return socket


async def test_the_servers_refusals_come_in_the_pages_language(db):
    socket = await german_customer()
    await socket.send_json_to(
        {"type": "start", "name": "Jutta", "email": "jutta@example.de", "text": "Hallo",
         "client_id": "x"}
    )  # fmt: skip
    error = await socket.receive_json_from(timeout=5)
    assert error == {
        "type": "error",
        "code": "offline",
        "message": "Gerade ist niemand online; hinterlassen Sie uns eine Nachricht.",
    }
    await socket.disconnect()


async def test_a_chat_from_a_german_browser_keeps_german_on_the_customer(db):
    def online() -> None:
        agent = AgentFactory(username="alice")
        AgentProfile.objects.filter(user=agent).update(last_seen_at=timezone.now())

    await sync_to_async(online)()
    socket = await german_customer()
    await socket.send_json_to(
        {"type": "start", "name": "Jutta", "email": "jutta@example.de",
         "text": "The printer does not print.", "client_id": "c-1"}
    )  # fmt: skip
    for _ in range(10):
        if (await socket.receive_json_from(timeout=2))["type"] == "ack":
            break
    customer = await sync_to_async(Customer.objects.get)()
    assert customer.language == "de"
    assert await sync_to_async(Message.objects.filter(ticket__customer=customer).exists)()
    await socket.disconnect()
