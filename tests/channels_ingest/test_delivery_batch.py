"""The batch delivery task (channels_ingest.deliver_messages): what it sends and records is
what each message's own task would, and its database work does not grow with the batch."""

import smtplib

import pytest
from anymail.backends.test import EmailBackend as AnymailTestBackend
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels_ingest import tasks
from channels_ingest.sms import backends as sms_backends
from tickets import services
from tickets.inbound import InboundAttachment
from tickets.models import Channel, DeliveryStatus, EventKind, Message, MessagePart, TicketEvent

pytestmark = pytest.mark.django_db

ANYMAIL_TEST = "anymail.backends.test.EmailBackend"


class RefusingForOne(AnymailTestBackend):
    """The provider, refusing one recipient for good and taking every other message."""

    def send_messages(self, email_messages):
        if any("refused@example.com" in m.to for m in email_messages):
            raise smtplib.SMTPRecipientsRefused({"refused@example.com": (550, b"No such user")})
        return super().send_messages(email_messages)


@pytest.fixture(autouse=True)
def _empty_sms_outbox():
    sms_backends.outbox.clear()
    yield
    sms_backends.outbox.clear()


@pytest.fixture
def pending(open_ticket, agent):
    """`count` pending outbound messages as a batch holds them: emails with a file and a
    copy to a colleague, texts, and automatic notices, on tickets of their own."""

    def make(count: int, tag: str) -> list[Message]:
        messages = []
        for n in range(count):
            if n % 3 == 1:
                ticket = open_ticket(
                    channel=Channel.SMS,
                    sender_kind="phone",
                    sender=f"+1415555{len(tag):02d}{n:02d}",
                    external_id=f"SM{tag}{n}",
                )
                messages.append(services.ticket_reply(ticket=ticket, actor=agent, text=f"Text {n}"))
            elif n % 3 == 2:
                ticket = open_ticket(sender=f"{tag}{n}@example.com")
                notice = services.ticket_send_automatic_reply(ticket=ticket, text="Got it")
                messages.append(notice)
            else:
                ticket = open_ticket(
                    sender=f"{tag}{n}@example.com",
                    external_id=f"<{tag}-{n}@example.com>",
                    cc=((f"colleague{n}@example.com", "Colleague"),),
                )
                file = InboundAttachment(f"steps{n}.txt", "text/plain", b"1. restart\n")
                messages.append(
                    services.ticket_reply(
                        ticket=ticket, actor=agent, text=f"Answer {n}", attachments=(file,)
                    )
                )
        return messages

    return make


def deliver(messages: list[Message]) -> int:
    """Runs the task as the worker does (its result), counting its SQL statements."""
    ids = [m.pk for m in messages]
    with CaptureQueriesContext(connection) as queries:
        assert tasks.deliver_messages.apply(args=[ids], throw=True).get() == 0
    return len(queries)


def test_a_batch_reads_in_the_same_statements_for_3_messages_as_for_20(pending, settings):
    settings.EMAIL_BACKEND = ANYMAIL_TEST
    small = pending(3, "small")  # one of each kind, as in the large one
    large = pending(20, "large")

    statements_for_3 = deliver(small)
    mail.outbox.clear()
    sms_backends.outbox.clear()
    statements_for_20 = deliver(large)

    # The reads are the same; each message sent is recorded at once (one UPDATE each).
    assert statements_for_20 - statements_for_3 <= 20 - 3
    emails = [m for m in large if m.channel == Channel.EMAIL]
    texts = [m for m in large if m.channel == Channel.SMS]
    assert len(mail.outbox) == len(emails) == 13
    assert len(sms_backends.outbox) == len(texts) == 7
    for message in Message.objects.filter(pk__in=[m.pk for m in large]):
        assert message.delivery_status == DeliveryStatus.SENT
        assert message.provider_id  # what the provider's reports will name


def test_each_message_goes_to_its_own_customer_threaded_with_its_file(pending, settings):
    settings.EMAIL_BACKEND = ANYMAIL_TEST
    messages = pending(6, "each")
    deliver(messages)

    by_recipient = {sent.to[0]: sent for sent in mail.outbox}
    first = by_recipient["each0@example.com"]
    assert first.cc == ["colleague0@example.com"]
    assert first.extra_headers["In-Reply-To"] == "<each-0@example.com>"
    assert first.extra_headers["References"] == "<each-0@example.com>"
    assert [a[0] for a in first.attachments] == ["steps0.txt"]
    notice = by_recipient["each2@example.com"]
    assert notice.extra_headers["Auto-Submitted"] == "auto-replied"
    assert notice.attachments == []
    assert sorted(sent.body for sent in sms_backends.outbox) == ["Text 1", "Text 4"]
    texted = {sent.to for sent in sms_backends.outbox}
    assert texted == {m.ticket.customer.contact_points.get().value for m in messages[1::3]}
    # The provider's id of each is recorded: the test backend numbers what it took.
    recorded = {
        m.ticket.customer.contact_points.get().value: m.provider_id
        for m in Message.objects.filter(pk__in=[m.pk for m in messages], channel=Channel.EMAIL)
    }
    for address, sent in by_recipient.items():
        assert recorded[address] == str(sent.anymail_status.message_id)


def test_one_refused_message_fails_alone_and_the_others_go(open_ticket, agent, settings):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingForOne"
    tickets = [open_ticket(sender=f"{name}@example.com") for name in ("ann", "refused", "bob")]
    replies = [services.ticket_reply(ticket=t, actor=agent, text="Try this.") for t in tickets]

    deliver(replies)

    status = dict(
        Message.objects.filter(pk__in=[r.pk for r in replies]).values_list("pk", "delivery_status")
    )
    assert [status[r.pk] for r in replies] == [
        DeliveryStatus.SENT,
        DeliveryStatus.FAILED,
        DeliveryStatus.SENT,
    ]
    assert sorted(sent.to[0] for sent in mail.outbox) == ["ann@example.com", "bob@example.com"]
    failed = TicketEvent.objects.get(kind=EventKind.DELIVERY_FAILED)
    assert failed.ticket_id == tickets[1].pk
    assert failed.data["message"] == replies[1].pk


def test_a_message_sent_already_is_not_sent_again(pending, settings):
    settings.EMAIL_BACKEND = ANYMAIL_TEST
    messages = pending(3, "again")
    deliver(messages[:1])
    deliver(messages)
    assert len(mail.outbox) + len(sms_backends.outbox) == 3


def test_automatic_notices_over_the_hourly_limit_are_held_in_a_batch(open_ticket, settings):
    settings.EMAIL_BACKEND = ANYMAIL_TEST
    settings.HELPDESK_AUTOMATIC_MAIL_PER_HOUR = 2
    tickets = [open_ticket(sender="loop@example.com") for _ in range(3)]
    notices = [services.ticket_send_automatic_reply(ticket=t, text="Got it") for t in tickets]

    deliver(notices)

    statuses = [Message.objects.get(pk=n.pk).delivery_status for n in notices]
    assert statuses == [DeliveryStatus.SENT, DeliveryStatus.SENT, DeliveryStatus.SUPPRESSED]
    assert len(mail.outbox) == 2
    assert TicketEvent.objects.filter(kind=EventKind.DELIVERY_HELD, ticket=tickets[2]).exists()


def test_long_texts_are_recorded_with_every_parts_id_in_a_few_statements_each(open_ticket, agent):
    """A text over 1,600 characters goes out in parts; each part's id is recorded (a report
    on any of them finds the reply) in one insert for all its parts, whatever their count."""

    def long_replies(count: int, tag: str) -> list[Message]:
        replies = []
        for n in range(count):
            ticket = open_ticket(
                channel=Channel.SMS,
                sender_kind="phone",
                sender=f"+1415556{len(tag):02d}{n:02d}",
                external_id=f"SM{tag}{n}",
            )
            text = "step " * (350 * (n + 2))  # 3, 4 and 5 parts
            replies.append(services.ticket_reply(ticket=ticket, actor=agent, text=text))
        return replies

    short = [
        services.ticket_reply(
            ticket=open_ticket(
                channel=Channel.SMS, sender_kind="phone", sender=f"+14155570{n:03d}",
                external_id=f"SMshort{n}",
            ),
            actor=agent,
            text="Short",
        )
        for n in range(3)
    ]  # fmt: skip
    long = long_replies(3, "long")

    statements_short = deliver(short)
    sms_backends.outbox.clear()
    statements_long = deliver(long)

    # Per long text: its UPDATE, one INSERT of its parts, and their savepoint (in a test).
    assert statements_long - statements_short <= 3 * 3
    sent = [sms.provider_id for sms in sms_backends.outbox]
    recorded = [
        part.provider_id
        for reply in long
        for part in MessagePart.objects.filter(message=reply).order_by("position")
    ]
    assert recorded == sent
    assert len(sent) == 3 + 4 + 5
    for reply in Message.objects.filter(pk__in=[r.pk for r in long]):
        assert reply.delivery_status == DeliveryStatus.SENT
        assert reply.provider_id == reply.parts.get(position=1).provider_id
