"""The agents' chat console over HTTP: the queue, taking a chat, passing it on, ending it."""

import re

import pytest

from tests.factories import AgentFactory, CustomerFactory, UserFactory
from tickets import services
from tickets.errors import Conflict
from tickets.models import ChatSession, EventKind, Notification, SLAClock, SLAPolicy
from tickets.services import chat as chats

pytestmark = pytest.mark.django_db


@pytest.fixture
def chat(db) -> ChatSession:
    return chats.chat_start(
        name="Grace Hopper", email="grace@example.com", text="VPN drops", client_id="c1"
    )


def test_permissions(client, chat):
    urls = [("get", "/agent/chats/"), ("get", f"/agent/chats/{chat.pk}/")] + [
        ("post", f"/agent/chats/{chat.pk}/{action}/")
        for action in ("accept", "transfer", "escalate", "end")
    ]
    for method, url in urls:
        assert getattr(client, method)(url).status_code == 302, url
    customer = UserFactory(username="cust")
    CustomerFactory(user=customer)
    client.force_login(customer)
    for method, url in urls:
        assert getattr(client, method)(url).status_code == 403, url
    chat.refresh_from_db()
    assert chat.status == "waiting"


def test_waiting_chats_are_listed_for_their_tier_only(client, agent, chat):
    client.force_login(agent)
    assert "Grace Hopper" in client.get("/agent/chats/").content.decode()
    tier2 = AgentFactory(username="t2", tiers=[2])
    client.force_login(tier2)
    assert "Grace Hopper" not in client.get("/agent/chats/").content.decode()


def test_accept_once_then_the_second_agent_is_told(client, agent, chat):
    client.force_login(agent)
    response = client.post(f"/agent/chats/{chat.pk}/accept/", follow=True)
    assert "Chat accepted" in response.content.decode()
    assert 'id="chat-composer"' in response.content.decode()
    chat.refresh_from_db()
    assert (chat.status, chat.agent, chat.ticket.assignee) == ("active", agent, agent)

    bob = AgentFactory(username="bob", first_name="Bob")
    client.force_login(bob)
    response = client.post(f"/agent/chats/{chat.pk}/accept/", follow=True)
    assert "already taken" in response.content.decode()
    chat.refresh_from_db()
    assert chat.agent == agent


def test_the_chat_limit_per_agent(client, agent):
    agent.agent_profile.max_chats = 1
    agent.agent_profile.save()
    first, second = (
        chats.chat_start(name=f"C{n}", email=f"c{n}@example.com", text="Hi", client_id="x")
        for n in range(2)
    )
    client.force_login(agent)
    client.post(f"/agent/chats/{first.pk}/accept/")
    response = client.post(f"/agent/chats/{second.pk}/accept/", follow=True)
    assert "the most they take at once (1)" in response.content.decode()


def test_transfer_to_a_colleague_who_is_told(client, agent, chat):
    bob = AgentFactory(username="bob", first_name="Bob", last_name="")
    chats.chat_accept(chat_id=chat.pk, agent=agent)
    client.force_login(agent)
    console = client.get(f"/agent/chats/{chat.pk}/").content.decode()
    choices = re.search(r'<select name="agent" id="transfer-agent">(.*?)</select>', console)
    assert choices  # colleagues of the chat's tier, not the agent holding it
    assert f'<option value="{bob.pk}">Bob</option>' in choices[1]
    assert f'value="{agent.pk}"' not in choices[1]
    client.post(f"/agent/chats/{chat.pk}/transfer/", {"agent": bob.pk})
    chat.refresh_from_db()
    assert chat.agent == bob
    assert chat.ticket.events.filter(kind=EventKind.CHAT_TRANSFERRED).exists()
    assert Notification.objects.filter(user=bob, kind="chat_transferred").exists()


def test_escalate_needs_a_handoff_note_and_then_waits_in_the_next_tier(client, agent, chat):
    chats.chat_accept(chat_id=chat.pk, agent=agent)
    client.force_login(agent)
    url = f"/agent/chats/{chat.pk}/escalate/"
    client.post(url, {"tier": 2, "reason": "Network"})
    chat.refresh_from_db()
    assert chat.status == "active"
    client.post(url, {"tier": 2, "reason": "Network", "handoff_note": "MTU?"})
    chat.refresh_from_db()
    assert (chat.status, chat.tier.level, chat.agent) == ("waiting", 2, None)
    tier2 = AgentFactory(username="t2", tiers=[2])
    client.force_login(tier2)
    assert "Grace Hopper" in client.get("/agent/chats/").content.decode()


def test_end_keeps_the_ticket_for_follow_up(client, agent, chat):
    chats.chat_accept(chat_id=chat.pk, agent=agent)
    client.force_login(agent)
    response = client.post(f"/agent/chats/{chat.pk}/end/", follow=True)
    assert "Chat ended" in response.content.decode()
    chat.refresh_from_db()
    assert chat.status == "ended" and chat.ticket.status in ("new", "open")


def test_only_the_holder_ends_or_transfers(client, agent, chat):
    chats.chat_accept(chat_id=chat.pk, agent=agent)
    bob = AgentFactory(username="bob")
    client.force_login(bob)
    response = client.post(f"/agent/chats/{chat.pk}/end/", follow=True)
    assert "Only the agent holding this chat" in response.content.decode()
    chat.refresh_from_db()
    assert chat.status == "active"


def test_a_note_written_in_the_console_returns_to_it(client, agent, chat):
    client.force_login(agent)
    response = client.post(
        f"/agent/tickets/{chat.ticket.pk}/note/",
        {"text": "Knows the MTU trick", "next": f"/agent/chats/{chat.pk}/"},
    )
    assert response["Location"] == f"/agent/chats/{chat.pk}/"
    page = client.get(f"/agent/chats/{chat.pk}/").content.decode()
    assert "Knows the MTU trick" in page
    response = client.post(
        f"/agent/tickets/{chat.ticket.pk}/note/", {"text": "x", "next": "https://evil.example/"}
    )
    assert response["Location"] == f"/agent/tickets/{chat.ticket.pk}/#sent-note"


def test_an_agents_chat_message_costs_a_fixed_number_of_statements(agent, db):
    """The frequent request of a live chat: its statements do not grow with the chat. With
    an SLA policy, as help desks have: each customer message starts a next-response clock,
    which the agent's answer stops."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    SLAPolicy.objects.create(
        name="Chat",
        is_default=True,
        first_response_minutes=2,
        next_response_minutes=2,
        resolution_minutes=480,
    )
    chat = chats.chat_start(
        name="Grace Hopper", email="grace@example.com", text="VPN", client_id="c"
    )
    chats.chat_accept(chat_id=chat.pk, agent=agent)
    counts = []
    for number in range(3):
        chats.chat_customer_message(chat=chat, client_id=f"c-{number}", text="And now?")
        with CaptureQueriesContext(connection) as queries:
            chats.chat_agent_message(
                chat_id=chat.pk, agent=agent, client_id=f"a-{number}", text="Looking."
            )
        counts.append(len(queries))
    # The chat; the ticket locked and its live chat read; the message and its event; the
    # clock stopped and the deadlines read; the ticket and its metrics written once each; the
    # transaction's ends.
    assert counts[1] == counts[2] <= 11, counts
    assert [c.kind for c in SLAClock.objects.filter(ticket=chat.ticket, stopped_at=None)] == [
        "resolution"
    ]
    assert SLAClock.objects.filter(ticket=chat.ticket, kind="next_response").count() == 2


def test_a_customer_message_sent_again_after_the_ticket_closed_gets_the_stored_one(agent, chat):
    first = chats.chat_customer_message(chat=chat, client_id="c-9", text="Thanks, bye")
    services.ticket_close(ticket=chat.ticket, actor=agent)
    again = chats.chat_customer_message(chat=chat, client_id="c-9", text="Thanks, bye")
    assert again.pk == first.pk
    with pytest.raises(Conflict):  # a new message does not reopen a closed ticket
        chats.chat_customer_message(chat=chat, client_id="c-10", text="One more thing")


def test_a_note_sent_twice_from_the_console_is_written_once(client, agent, chat):
    from tickets.models import Message, MessageKind

    client.force_login(agent)
    page = client.get(f"/agent/chats/{chat.pk}/").content.decode()
    action = f"/agent/tickets/{chat.ticket.pk}/note/"
    form = page.split(f'action="{action}"', 1)[1].split("</form>", 1)[0]
    key = re.search(r'name="once" value="([^"]+)"', form)
    assert key, "the console's note form carries no key"
    sent = {"text": "Customer on a hotel network.", "once": key.group(1)}

    client.post(action, {**sent, "next": f"/agent/chats/{chat.pk}/"})
    client.post(action, {**sent, "next": f"/agent/chats/{chat.pk}/"})

    assert Message.objects.filter(ticket=chat.ticket, kind=MessageKind.NOTE).count() == 1
