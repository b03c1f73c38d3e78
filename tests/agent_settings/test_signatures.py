"""Each channel's signature under the agent's replies on it: email, SMS, web; none where
the agent set none."""

from typing import Any

import pytest
from django.core import mail

from tests.agent_settings.conftest import settings_form
from tickets import services
from tickets.models import Channel, ContactKind, Message, MessageKind

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed(agent_client: Any) -> Any:
    response = agent_client.post(
        "/agent/settings/",
        settings_form(
            signature="Al Frontline\nAcme Support",
            sms_signature="-Al, Acme",
            web_signature="Al, Acme web desk",
        ),
    )
    assert response.status_code == 302
    return agent_client


def _reply_through_the_page(client: Any, ticket: Any, text: str, capture: Any) -> Message:
    with capture(execute=True):
        response = client.post(f"/agent/tickets/{ticket.pk}/reply/", {"text": text})
    assert response.status_code == 302
    return Message.objects.filter(ticket=ticket, kind=MessageKind.OUTBOUND).latest("id")


def test_an_email_reply_carries_the_email_signature(
    signed: Any, open_ticket: Any, celery_eager: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = open_ticket(sender="ann@example.com")
    message = _reply_through_the_page(
        signed, ticket, "Please restart it.", django_capture_on_commit_callbacks
    )
    assert message.body_text == "Please restart it.\n\nAl Frontline\nAcme Support"
    [sent] = mail.outbox
    assert sent.body.startswith("Please restart it.\n\nAl Frontline\nAcme Support\n\n-- \n")
    assert "Al Frontline<br>Acme Support" in sent.alternatives[0][0]


def test_an_sms_reply_carries_the_short_sms_signature(
    signed: Any, open_ticket: Any, celery_eager: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from channels_ingest.sms import backends

    backends.outbox.clear()
    ticket = open_ticket(
        channel=Channel.SMS, sender_kind=ContactKind.PHONE, sender="+447700900123",
        external_id="SM-sig-1", text="Router dead",
    )  # fmt: skip
    _reply_through_the_page(signed, ticket, "Power-cycle it.", django_capture_on_commit_callbacks)
    assert [sms.body for sms in backends.outbox] == ["Power-cycle it. -Al, Acme"]
    backends.outbox.clear()


def test_a_web_form_ticket_gets_the_web_signature(
    signed: Any, open_ticket: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = open_ticket(channel=Channel.WEB, sender="ann@example.com")
    message = _reply_through_the_page(signed, ticket, "Done.", django_capture_on_commit_callbacks)
    assert message.channel == Channel.EMAIL
    assert message.body_text == "Done.\n\nAl, Acme web desk"


def test_notes_and_agents_without_a_signature_add_nothing(agent: Any, open_ticket: Any) -> None:
    ticket = open_ticket(sender="ann@example.com")
    reply = services.ticket_reply(ticket=ticket, actor=agent, text="Plain.")
    assert reply.body_text == "Plain."
    agent.agent_profile.signature = "Al"
    agent.agent_profile.save()
    assert services.ticket_reply(ticket=ticket, actor=agent, text="Signed.").body_text == (
        "Signed.\n\nAl"
    )
    note = services.ticket_add_note(ticket=ticket, actor=agent, text="Internal.")
    assert note.body_text == "Internal."
    automatic = services.ticket_reply(ticket=ticket, actor=None, text="From the desk.")
    assert automatic.body_text == "From the desk."


def test_lines_of_a_live_chat_carry_no_signature_but_a_reply_on_chat_does(
    agent: Any, agent_client: Any
) -> None:
    from tickets.services import chat as chats

    agent.agent_profile.chat_signature = "Al, Acme chat"
    agent.agent_profile.save()
    chat = chats.chat_start(name="Ann", email="ann@example.com", text="Hi", client_id="c-9")
    chats.chat_accept(chat_id=chat.pk, agent=agent)
    line = chats.chat_agent_message(chat_id=chat.pk, agent=agent, client_id="a-1", text="Hello")
    assert line.body_text == "Hello"
    reply = services.ticket_reply(ticket=chat.ticket, actor=agent, text="Summary", channel="chat")
    assert reply.body_text == "Summary\n\nAl, Acme chat"
