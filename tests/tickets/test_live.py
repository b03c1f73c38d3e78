"""The workspace's WebSocket (/ws/agent/): live queues, presence and notifications."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from django.test import Client

from helpdesk.asgi import application
from tests.factories import AgentFactory
from tickets import services
from tickets.models import Notification, Ticket

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.asyncio,
    pytest.mark.usefixtures("websockets"),
]


def cookie_for(user) -> bytes:
    client = Client()
    if user is not None:
        client.force_login(user)
    session = client.cookies.get("sessionid")
    return f"sessionid={session.value}".encode() if session else b""


async def connect(user, origin: bytes = b"http://localhost") -> WebsocketCommunicator:
    cookie = await sync_to_async(cookie_for)(user)
    headers = [(b"origin", origin)] + ([(b"cookie", cookie)] if cookie else [])
    return WebsocketCommunicator(application, "/ws/agent/", headers=headers)


async def test_anonymous_and_customers_are_refused(customer_user):
    for user in (None, customer_user):
        socket = await connect(user)
        connected, code = await socket.connect()
        assert not connected
        assert code == 4403


async def test_a_foreign_origin_is_refused(agent):
    socket = await connect(agent, origin=b"https://evil.example")
    connected, _ = await socket.connect()
    assert not connected


async def test_agents_hear_about_every_ticket_change(agent, open_ticket):
    socket = await connect(agent)
    assert (await socket.connect())[0]
    assert await socket.receive_json_from() == {"type": "unread", "count": 0}

    ticket = await sync_to_async(open_ticket)()

    # The changes of a moment reach a socket together: of a ticket it does not show, the
    # one of them (its queues refresh either way).
    message = await socket.receive_json_from(timeout=3)
    assert (message["type"], message["ticket"], message["actor"]) == (
        "ticket.changed",
        ticket.pk,
        None,
    )
    assert message["kind"] in {"created", "message_received"}
    assert await socket.receive_nothing(timeout=1.5)
    await socket.disconnect()


async def test_a_socket_showing_a_ticket_hears_each_of_its_changes(agent, open_ticket):
    ticket = await sync_to_async(open_ticket)()
    socket = await connect(agent)
    assert (await socket.connect())[0]
    await socket.receive_json_from()  # unread count
    await socket.send_json_to({"type": "watch", "ticket": ticket.pk})

    await sync_to_async(services.ticket_add_note)(ticket=ticket, actor=agent, text="Looked.")
    await sync_to_async(services.ticket_change_priority)(ticket=ticket, priority="high", actor=None)

    heard = [await socket.receive_json_from(timeout=3) for _ in range(2)]
    assert {(m["ticket"], m["kind"], m["actor"]) for m in heard} == {
        (ticket.pk, "note_added", agent.pk),
        (ticket.pk, "priority_changed", None),
    }
    await socket.disconnect()


async def test_two_agents_on_one_ticket_see_each_other_viewing_typing_and_leaving(
    agent, open_ticket
):
    ticket = await sync_to_async(open_ticket)()
    bob = await sync_to_async(AgentFactory)(username="bob", first_name="Bob", last_name="B")
    alice_socket, bob_socket = await connect(agent), await connect(bob)
    for socket in (alice_socket, bob_socket):
        assert (await socket.connect())[0]
        await socket.receive_json_from()  # unread count

    await alice_socket.send_json_to({"type": "watch", "ticket": ticket.pk})
    await bob_socket.send_json_to({"type": "watch", "ticket": ticket.pk})

    seen_by_alice = await alice_socket.receive_json_from(timeout=2)
    assert (seen_by_alice["name"], seen_by_alice["state"]) == ("Bob B", "viewing")
    seen_by_bob = await bob_socket.receive_json_from(timeout=2)  # Alice answers the newcomer
    assert (seen_by_bob["user"], seen_by_bob["state"]) == (agent.pk, "viewing")

    await bob_socket.send_json_to({"type": "typing", "ticket": ticket.pk})
    assert (await alice_socket.receive_json_from(timeout=2))["state"] == "typing"

    await bob_socket.disconnect()
    assert (await alice_socket.receive_json_from(timeout=2))["state"] == "left"
    await alice_socket.disconnect()


async def test_watching_needs_a_real_ticket_and_ignores_garbage(agent):
    socket = await connect(agent)
    await socket.connect()
    await socket.receive_json_from()
    for frame in ('{"type": "watch", "ticket": 999999}', "not json at all", "[1, 2]",
                  '{"type": "watch", "ticket": "1"}', "x" * 5000):  # fmt: skip
        await socket.send_to(text_data=frame)
    assert await socket.receive_nothing(timeout=0.3)
    await socket.disconnect()


async def test_an_assignment_reaches_the_assignee_live(agent, admin_user, open_ticket):
    ticket = await sync_to_async(open_ticket)()
    socket = await connect(agent)
    await socket.connect()
    await socket.receive_json_from()

    await sync_to_async(services.ticket_assign)(ticket=ticket, assignee=agent, actor=admin_user)

    received = [await socket.receive_json_from(timeout=2) for _ in range(2)]
    notification = next(m for m in received if m["type"] == "notification")
    assert notification["ticket"] == ticket.pk
    assert ticket.reference in notification["text"]
    await socket.disconnect()
    assert await sync_to_async(Ticket.objects.filter(assignee=agent).count)() == 1


async def test_many_notifications_at_once_reach_an_agent_as_one_summary(agent, open_ticket):
    tickets = [await sync_to_async(open_ticket)() for _ in range(5)]
    socket = await connect(agent)
    await socket.connect()
    assert await socket.receive_json_from() == {"type": "unread", "count": 0}

    from tickets.services.notices import notify_agents_many

    await sync_to_async(notify_agents_many)(
        [([agent.pk], ticket, "sla", f"{ticket.reference} will breach") for ticket in tickets]
    )

    received = []
    while not await socket.receive_nothing(timeout=1.5):
        received.append(await socket.receive_json_from())
    [summary] = [m for m in received if m["type"] == "notification"]  # not five toasts
    assert (summary["count"], summary["ticket"]) == (5, None)
    assert summary["text"] == f"5 new notifications. Latest: {tickets[-1].reference} will breach"
    await socket.disconnect()
    stored = await sync_to_async(list)(
        Notification.objects.filter(user=agent, kind="sla").values_list("ticket_id", "text")
    )
    assert sorted(stored) == sorted((t.pk, f"{t.reference} will breach") for t in tickets)


async def test_sockets_showing_other_tickets_hear_one_frame_and_the_watcher_hears_each(
    agent, open_ticket, monkeypatch
):
    from tickets import consumers

    monkeypatch.setattr(consumers, "TELL_SLICE", 1)  # the hub pauses between every socket
    shown, other = await sync_to_async(open_ticket)(), await sync_to_async(open_ticket)()
    mates = [await sync_to_async(AgentFactory)(username=f"mate-{n}") for n in range(3)]
    watcher, *bystanders = [await connect(user) for user in (agent, *mates)]
    for socket in (watcher, *bystanders):
        assert (await socket.connect())[0]
        await socket.receive_json_from()  # unread count
    await watcher.send_json_to({"type": "watch", "ticket": shown.pk})
    await watcher.receive_nothing(timeout=1.5)  # the tickets' own creation pushes

    await sync_to_async(services.ticket_add_note)(ticket=shown, actor=agent, text="Looked.")
    await sync_to_async(services.ticket_change_priority)(ticket=other, priority="high", actor=None)

    heard = [await watcher.receive_json_from(timeout=3) for _ in range(2)]
    assert [(m["ticket"], m["kind"]) for m in heard] == [
        (shown.pk, "note_added"),
        (other.pk, "priority_changed"),
    ]
    for socket in bystanders:
        frame = await socket.receive_json_from(timeout=3)
        assert (frame["ticket"], frame["kind"]) == (other.pk, "priority_changed")
        assert await socket.receive_nothing(timeout=0.5)
    for socket in (watcher, *bystanders):
        await socket.disconnect()
