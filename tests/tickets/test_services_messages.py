"""Opening tickets, adding inbound messages, replies and notes (tickets.services.messages)."""

import re

import pytest
from django.utils import timezone

from tickets import services
from tickets.errors import Conflict, InvalidInput
from tickets.inbound import InboundAttachment, IngestOutcome
from tickets.models import (
    Channel,
    ContactKind,
    ContactPoint,
    Customer,
    DeliveryStatus,
    EventKind,
    Message,
    MessageKind,
    Ticket,
    TicketEvent,
    TicketStatus,
)

pytestmark = pytest.mark.django_db


def kinds(ticket: Ticket) -> list[str]:
    return list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))


def test_open_creates_customer_ticket_message_and_events(inbound):
    result = services.ticket_open(
        inbound=inbound(sender="Jane.Doe@Example.COM", sender_name="Jane Doe", subject="Help")
    )

    assert result.outcome == IngestOutcome.NEW
    ticket = Ticket.objects.get()
    assert ticket.reference == f"HD-{ticket.pk}"
    assert (ticket.subject, ticket.status, ticket.priority) == ("Help", "new", "normal")
    assert ticket.tier.level == 0  # every new ticket enters tier 0, self-service
    assert ticket.customer.name == "Jane Doe"
    contact = ContactPoint.objects.get()
    assert (contact.kind, contact.value) == ("email", "jane.doe@example.com")
    message = Message.objects.get()
    assert (message.kind, message.channel, message.author_customer) == (
        MessageKind.INBOUND,
        Channel.EMAIL,
        ticket.customer,
    )
    assert kinds(ticket) == [EventKind.CREATED, EventKind.MESSAGE_RECEIVED]


def test_same_address_in_any_case_is_the_same_customer(inbound):
    first = services.ticket_open(inbound=inbound(sender="sam@example.com"))
    second = services.ticket_open(inbound=inbound(sender="SAM@example.com"))

    assert first.ticket.customer_id == second.ticket.customer_id
    assert Customer.objects.count() == 1
    assert Ticket.objects.count() == 2


def test_phone_numbers_are_normalised_to_one_customer(inbound):
    sms = dict(channel=Channel.SMS, sender_kind=ContactKind.PHONE)
    first = services.ticket_open(inbound=inbound(sender="(415) 555-0123", **sms))
    second = services.ticket_open(inbound=inbound(sender="+1 415 555 0123", **sms))

    assert first.ticket.customer_id == second.ticket.customer_id
    assert ContactPoint.objects.get().value == "+14155550123"


def test_redelivered_message_is_stored_once(inbound):
    message = inbound(external_id="<same@example.com>")
    first = services.ticket_open(inbound=message)
    again = services.ticket_open(inbound=message)

    assert again.outcome == IngestOutcome.DUPLICATE
    assert again.ticket.pk == first.ticket.pk
    assert (Ticket.objects.count(), Message.objects.count()) == (1, 1)


def test_same_external_id_on_another_channel_is_a_different_message(inbound):
    services.ticket_open(inbound=inbound(external_id="abc"))
    other = services.ticket_open(
        inbound=inbound(
            external_id="abc",
            channel=Channel.SMS,
            sender_kind=ContactKind.PHONE,
            sender="+14155550100",
        )
    )
    assert other.outcome == IngestOutcome.NEW
    assert Message.objects.count() == 2


def test_subject_is_derived_from_text_when_missing(inbound):
    words = " ".join(f"word{i}" for i in range(20))
    result = services.ticket_open(inbound=inbound(subject="", text=words))
    assert result.ticket.subject == " ".join(f"word{i}" for i in range(12)) + " …"


@pytest.mark.parametrize(
    "overrides, code",
    [
        ({"text": "   ", "html": ""}, "empty_message"),
        ({"sender": "not an address"}, "invalid_email"),
        ({"channel": "pigeon"}, "invalid_channel"),
    ],
)
def test_invalid_inbound_is_refused_and_nothing_is_written(inbound, overrides, code):
    with pytest.raises(InvalidInput) as error:
        services.ticket_open(inbound=inbound(**overrides))
    assert error.value.code == code
    assert (Ticket.objects.count(), Customer.objects.count(), Message.objects.count()) == (0, 0, 0)


def test_unknown_tier_is_refused(inbound):
    with pytest.raises(InvalidInput, match="no tier 7"):
        services.ticket_open(inbound=inbound(), tier_level=7)
    assert not Ticket.objects.exists()


def test_html_is_sanitised_and_attachments_stored(inbound):
    result = services.ticket_open(
        inbound=inbound(
            html='<p onclick="steal()">Hi<script>alert(1)</script> '
            '<a href="javascript:x">x</a></p>',
            attachments=(InboundAttachment("log.txt", "text/plain", b"line 1\nline 2\n"),),
        )
    )
    message = result.message
    assert "script" not in message.body_html
    assert "onclick" not in message.body_html
    assert "javascript" not in message.body_html
    assert "<p>Hi" in message.body_html
    attachment = message.attachments.get()
    assert (attachment.filename, attachment.content_type, attachment.size) == (
        "log.txt",
        "text/plain",
        14,
    )
    assert attachment.file.read() == b"line 1\nline 2\n"


def test_add_inbound_threads_and_reopens_waiting_ticket(open_ticket, inbound, agent):
    ticket = open_ticket()
    customer_email = ticket.customer.contact_points.get().value
    services.ticket_reply(ticket=ticket, actor=agent, text="Try this", status="pending_customer")

    result = services.ticket_add_inbound(
        ticket=ticket, inbound=inbound(sender=customer_email, text="Did not help")
    )

    assert result.outcome == IngestOutcome.THREADED
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert ticket.messages.filter(kind=MessageKind.INBOUND).count() == 2
    reopened = TicketEvent.objects.filter(ticket=ticket, kind=EventKind.STATUS_CHANGED).last()
    assert reopened.data == {"from": "pending_customer", "to": "open", "reason": "customer replied"}
    assert reopened.actor is None and reopened.actor_label == "system"


def test_add_inbound_reopens_resolved_ticket(open_ticket, inbound):
    ticket = open_ticket()
    services.ticket_resolve(ticket=ticket, actor=None)
    services.ticket_add_inbound(ticket=ticket, inbound=inbound())
    ticket.refresh_from_db()
    assert (ticket.status, ticket.resolved_at) == (TicketStatus.OPEN, None)


def test_add_inbound_to_closed_ticket_is_refused(open_ticket, inbound):
    ticket = open_ticket()
    services.ticket_close(ticket=ticket, actor=None)
    with pytest.raises(Conflict) as error:
        services.ticket_add_inbound(ticket=ticket, inbound=inbound())
    assert error.value.code == "ticket_closed"
    assert ticket.messages.count() == 1


def test_reply_stores_pending_outbound_message_and_first_response(open_ticket, agent):
    ticket = open_ticket()
    now = timezone.now()

    message = services.ticket_reply(ticket=ticket, actor=agent, text="On it", now=now)

    assert (message.kind, message.channel, message.delivery_status, message.author_user) == (
        MessageKind.OUTBOUND,
        Channel.EMAIL,
        DeliveryStatus.PENDING,
        agent,
    )
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN  # a new ticket is open once answered
    assert ticket.first_responded_at == now
    replied = TicketEvent.objects.get(ticket=ticket, kind=EventKind.REPLIED)
    assert replied.actor == agent and replied.data["message"] == message.pk


def test_second_reply_keeps_first_response_time(open_ticket, agent):
    ticket = open_ticket()
    first = services.ticket_reply(ticket=ticket, actor=agent, text="One")
    services.ticket_reply(ticket=ticket, actor=agent, text="Two")
    ticket.refresh_from_db()
    assert ticket.first_responded_at == first.created_at


def test_reply_can_set_status(open_ticket, agent):
    ticket = open_ticket()
    services.ticket_reply(ticket=ticket, actor=agent, text="Fixed", status="resolved")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED
    assert ticket.resolved_at is not None


def test_reply_goes_to_last_inbound_channel(open_ticket, inbound, agent):
    ticket = open_ticket()
    services.customer_add_contact_point(
        customer=ticket.customer, kind=ContactKind.PHONE, value="+14155550199"
    )
    services.ticket_add_inbound(
        ticket=ticket,
        inbound=inbound(channel=Channel.SMS, sender_kind=ContactKind.PHONE, sender="+14155550199"),
    )
    message = services.ticket_reply(ticket=ticket, actor=agent, text="Texting you back")
    assert message.channel == Channel.SMS


def test_web_form_tickets_are_answered_by_email(open_ticket, agent):
    ticket = open_ticket(channel=Channel.WEB)
    assert services.ticket_reply(ticket=ticket, actor=agent, text="Hi").channel == Channel.EMAIL


def test_reply_on_channel_the_customer_cannot_receive_is_refused(open_ticket, agent):
    ticket = open_ticket()
    with pytest.raises(InvalidInput) as error:
        services.ticket_reply(ticket=ticket, actor=agent, text="Hi", channel=Channel.SMS)
    assert error.value.code == "unreachable_channel"
    assert not ticket.messages.filter(kind=MessageKind.OUTBOUND).exists()


def test_agent_cannot_reply_to_closed_ticket(open_ticket, agent):
    ticket = open_ticket()
    services.ticket_close(ticket=ticket, actor=agent)
    with pytest.raises(Conflict) as error:
        services.ticket_reply(ticket=ticket, actor=agent, text="Hello?")
    assert error.value.code == "ticket_closed"
    assert not TicketEvent.objects.filter(ticket=ticket, kind=EventKind.REPLIED).exists()


def test_empty_reply_is_refused(open_ticket, agent):
    with pytest.raises(InvalidInput):
        services.ticket_reply(ticket=open_ticket(), actor=agent, text="  ")


def test_note_is_internal_and_allowed_on_closed_ticket(open_ticket, agent):
    ticket = open_ticket()
    services.ticket_close(ticket=ticket, actor=agent)
    note = services.ticket_add_note(ticket=ticket, actor=agent, text="Customer called to thank us")
    assert note.kind == MessageKind.NOTE and not note.is_public
    assert note.delivery_status == ""
    assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.NOTE_ADDED).count() == 1
    ticket.refresh_from_db()
    assert ticket.first_responded_at is None  # a note is not a response


def test_priority_and_subject_changes_are_recorded(open_ticket, agent):
    ticket = open_ticket()
    services.ticket_change_priority(ticket=ticket, priority="urgent", actor=agent)
    services.ticket_change_priority(ticket=ticket, priority="urgent", actor=agent)  # no-op
    services.ticket_change_subject(ticket=ticket, subject=" New subject ", actor=agent)
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.subject) == ("urgent", "New subject")
    events = TicketEvent.objects.filter(
        ticket=ticket, kind__in=[EventKind.PRIORITY_CHANGED, EventKind.SUBJECT_CHANGED]
    )
    assert [(e.kind, e.data["to"]) for e in events] == [
        ("priority_changed", "urgent"),
        ("subject_changed", "New subject"),
    ]


def test_invalid_priority_is_refused(open_ticket, agent):
    with pytest.raises(InvalidInput):
        services.ticket_change_priority(ticket=open_ticket(), priority="asap", actor=agent)


@pytest.mark.parametrize("name", ["!!!", "x." + "y" * 140, "../../etc/passwd", "a" * 300 + ".pdf"])
def test_any_attachment_name_is_stored_safely(inbound, name):
    result = services.ticket_open(
        inbound=inbound(attachments=(InboundAttachment(name, "text/plain", b"data"),))
    )
    attachment = result.message.attachments.get()
    assert "/" not in attachment.filename and ".." not in attachment.filename.split("/")
    assert len(attachment.filename) <= 150
    assert attachment.file.read() == b"data"
    # The stored path is ours alone: the sender only picks a short extension.
    assert re.fullmatch(
        r"attachments/\d{4}/\d{2}/\d{2}/[0-9a-f]{32}(\.[a-z0-9]{1,10})?", attachment.file.name
    )
