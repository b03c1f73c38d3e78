"""The live chat for a German browser: the server's messages in German, the customer's
language kept from the chat page's Accept-Language; an agent's refusals in the language of
their My settings."""

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from django.test import Client
from django.utils import timezone

from helpdesk.asgi import application
from tests.factories import AgentFactory
from tickets.models import AgentProfile, ChatSession, Customer, Message, Ticket
from tickets.services import chat as chats

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


async def agent_socket(agent, language: str) -> WebsocketCommunicator:
    """The agent's workspace socket, signed in with `language` chosen in My settings."""

    def cookie() -> bytes:
        AgentProfile.objects.filter(user=agent).update(language=language)
        client = Client()
        client.force_login(agent)
        return f"sessionid={client.cookies['sessionid'].value}".encode()

    headers = [HEADERS[0], (b"accept-language", b"en-US,en;q=0.9")]
    socket = WebsocketCommunicator(
        application, "/ws/agent/", headers=[*headers, (b"cookie", await sync_to_async(cookie)())]
    )
    assert (await socket.connect())[0]
    assert (await socket.receive_json_from(timeout=5))["type"] == "unread"
    return socket


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("de", "Das kann nur der Agent, der diesen Chat führt."),
        ("en", "Only the agent holding this chat can do that."),
        # None chosen: the browser's (English here), as on the workspace's pages.
        ("", "Only the agent holding this chat can do that."),
    ],
)
async def test_an_agents_chat_refusal_comes_in_the_agents_language(db, language, said):
    def taken_by_alice() -> ChatSession:
        alice = AgentFactory(username="alice")
        AgentProfile.objects.filter(user=alice).update(last_seen_at=timezone.now())
        chat = chats.chat_start(
            name="Jutta", email="jutta@example.de", text="Hallo", client_id="c-1", language="de"
        )
        chats.chat_accept(chat_id=chat.pk, agent=alice)
        return chat

    chat = await sync_to_async(taken_by_alice)()
    bob = await sync_to_async(AgentFactory)(username="bob")
    socket = await agent_socket(bob, language)
    await socket.send_json_to(
        {"type": "chat.message", "chat": chat.pk, "client_id": "b-1", "text": "Hallo"}
    )
    for _ in range(10):
        frame = await socket.receive_json_from(timeout=2)
        if frame["type"] == "chat.error":
            break
    assert frame == {"type": "chat.error", "chat": chat.pk, "code": "not_holder", "message": said}
    assert not await sync_to_async(Message.objects.filter(author_user=bob).exists)()
    await socket.disconnect()


async def test_many_notifications_at_once_are_summed_up_in_the_agents_language(db):
    from tickets.services.notices import Said, notify_agents_many

    def tickets_and_agent() -> tuple[list[Ticket], Any]:
        made = [
            chats.chat_start(
                name="Jutta", email=f"jutta{n}@example.de", text="Hallo", client_id=f"c-{n}"
            ).ticket
            for n in range(5)
        ]
        return made, AgentFactory(username="jonas")

    tickets, jonas = await sync_to_async(tickets_and_agent)()
    socket = await agent_socket(jonas, "de")
    await sync_to_async(notify_agents_many)(
        [
            (
                [jonas.pk],
                ticket,
                "sla",
                Said("%(reference)s: the customer wrote", {"reference": ticket.reference}),
            )
            for ticket in tickets
        ]
    )
    received = []
    while not await socket.receive_nothing(timeout=1.5):
        received.append(await socket.receive_json_from())
    [summary] = [m for m in received if m["type"] == "notification"]
    latest = tickets[-1].reference
    assert summary["text"] == (
        f"5 neue Benachrichtigungen. Die neueste: {latest}: Der Kunde hat geschrieben"
    )
    await socket.disconnect()
