"""Replies leave after commit, on the customer's channel, with headers that thread back."""

import smtplib
from datetime import timedelta

import pytest
from celery.exceptions import Retry
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.utils import timezone

from channels_ingest import tasks
from tests.channels_ingest.batches import new_ticket_mails
from tickets import addressing, selectors, services
from tickets.models import Channel, DeliveryStatus, EventKind, Message, TicketEvent
from tickets.services.outbound import _enqueue_deliveries

pytestmark = pytest.mark.django_db


class RefusingBackend(EmailBackend):
    """The mail server at the edge of the world, refusing the recipient for good."""

    def send_messages(self, messages):
        raise smtplib.SMTPRecipientsRefused({"ann@example.com": (550, b"No such user")})


class FlakyBackend(EmailBackend):
    """A mail server that is down."""

    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("connection lost")


@pytest.fixture
def ticket(open_ticket):
    return open_ticket(
        sender="Ann@Example.com",
        subject="Printer offline",
        external_id="<q1@ann.example>",
        cc=(("bob@example.com", "Bob"),),
    )


def reply(ticket, agent, capture, **kwargs):
    with capture(execute=True):
        return services.ticket_reply(
            ticket=ticket, actor=agent, text="Restart it, please.", **kwargs
        )


def test_email_reply_is_sent_with_threading_headers(
    ticket, agent, celery_eager, django_capture_on_commit_callbacks
):
    message = reply(ticket, agent, django_capture_on_commit_callbacks)

    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["ann@example.com"]
    assert sent.cc == ["bob@example.com"]
    assert sent.subject == f"Re: Printer offline [{ticket.reference}]"
    assert sent.reply_to == [addressing.reply_address(ticket.pk)]
    assert sent.extra_headers["Message-ID"] == message.external_id
    assert sent.extra_headers["In-Reply-To"] == "<q1@ann.example>"
    assert sent.extra_headers["References"] == "<q1@ann.example>"
    assert "Auto-Submitted" not in sent.extra_headers
    assert sent.alternatives[0][1] == "text/html"
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.SENT
    assert message.provider_id == message.external_id


def test_customer_answer_to_the_sent_reply_threads_back(
    ticket, agent, inbound, celery_eager, django_capture_on_commit_callbacks
):
    reply(ticket, agent, django_capture_on_commit_callbacks)
    sent = mail.outbox[0]
    answer = services.ticket_ingest(
        inbound=inbound(
            sender="ann@example.com",
            subject=sent.subject,
            thread_ids=(sent.extra_headers["Message-ID"],),
        )
    )
    assert answer.ticket.pk == ticket.pk
    # and the second reply references the whole conversation
    second = reply(ticket, agent, django_capture_on_commit_callbacks)
    headers = mail.outbox[1].extra_headers
    assert headers["In-Reply-To"] == answer.message.external_id
    assert headers["References"].split() == [
        "<q1@ann.example>",
        mail.outbox[0].extra_headers["Message-ID"],
        answer.message.external_id,
    ]
    assert headers["Message-ID"] == second.external_id


def test_permanent_failure_is_shown_on_the_ticket(
    ticket, agent, settings, celery_eager, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    message = reply(ticket, agent, django_capture_on_commit_callbacks)
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.FAILED
    assert "refused" in message.delivery_error
    event = TicketEvent.objects.get(ticket=ticket, kind=EventKind.DELIVERY_FAILED)
    assert event.data["message"] == message.pk


def test_transient_failure_stays_pending_and_the_last_retry_gives_up(ticket, agent, settings):
    settings.EMAIL_BACKEND = f"{__name__}.FlakyBackend"
    message = services.ticket_reply(ticket=ticket, actor=agent, text="hello")

    with pytest.raises(Retry):
        tasks.deliver_message.apply(args=[message.pk], throw=True)
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.PENDING

    last = tasks.deliver_message.max_retries
    tasks.deliver_message.apply(args=[message.pk], retries=last, throw=True)
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.FAILED
    assert "unavailable" in message.delivery_error


def test_delivering_twice_sends_once(ticket, agent):
    message = services.ticket_reply(ticket=ticket, actor=agent, text="once")
    tasks.deliver_message.apply(args=[message.pk])
    tasks.deliver_message.apply(args=[message.pk])
    assert len(mail.outbox) == 1


def test_phone_reply_is_a_call_note_and_not_sent(open_ticket, agent):
    ticket = open_ticket(channel=Channel.PHONE, sender_kind="phone", sender="+14155550100")
    message = services.ticket_reply(ticket=ticket, actor=agent, text="Called back, fixed.")
    assert message.delivery_status == DeliveryStatus.NOT_APPLICABLE
    tasks.deliver_message.apply(args=[message.pk])
    assert mail.outbox == []


def test_sweep_requeues_replies_left_pending(ticket, agent, celery_eager):
    message = services.ticket_reply(ticket=ticket, actor=agent, text="lost task")
    Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(hours=1))
    assert tasks.sweep_outbound.apply().get() == 1
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.SENT


def test_automatic_reply_is_marked_and_rate_limited_when_sent(
    open_ticket, settings, celery_eager, django_capture_on_commit_callbacks
):
    settings.HELPDESK_AUTOMATIC_MAIL_PER_HOUR = 2
    tickets = [open_ticket(sender="loop@example.com") for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        sent = [
            services.ticket_send_automatic_reply(ticket=t, subject="Got it", text="Thanks")
            for t in tickets
        ]

    assert len(mail.outbox) == 2
    assert mail.outbox[0].extra_headers["Auto-Submitted"] == "auto-replied"
    assert mail.outbox[0].subject == f"Got it [{tickets[0].reference}]"
    statuses = [Message.objects.get(pk=m.pk).delivery_status for m in sent]
    assert statuses == [DeliveryStatus.SENT, DeliveryStatus.SENT, DeliveryStatus.SUPPRESSED]
    held = Message.objects.get(pk=sent[2].pk)
    assert "more than 2 automatic messages" in held.delivery_error
    first = ticket_first_response(tickets[0])
    assert first is None  # an automatic reply is not a response


def test_a_held_back_notice_is_shown_to_agents_and_never_to_the_customer(
    open_ticket, settings, agent, client, celery_eager, django_capture_on_commit_callbacks
):
    settings.HELPDESK_AUTOMATIC_MAIL_PER_HOUR = 0
    ticket = open_ticket(sender="loop@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_send_automatic_reply(ticket=ticket, subject="Got it", text="Thanks!")
    assert mail.outbox == []

    client.force_login(agent)
    page = client.get(f"/agent/tickets/{ticket.pk}/").content.decode()
    assert "Not sent: more than 0 automatic messages" in page
    thread = selectors.customer_ticket_thread(customer=ticket.customer, ticket_id=ticket.pk)
    assert [m.body_text for m in thread.public_messages] == [ticket.messages.first().body_text]


def ticket_first_response(ticket):
    ticket.refresh_from_db()
    return ticket.first_responded_at


def test_no_automatic_reply_to_automatic_mail(open_ticket):
    ticket = open_ticket(is_automatic=True)
    assert services.ticket_send_automatic_reply(ticket=ticket, text="Got it") is None


def test_a_batch_of_new_tickets_sends_its_notices_in_one_task(
    settings, celery_eager, django_capture_on_commit_callbacks
):
    settings.HELPDESK_CUSTOMER_NOTICES = True
    batch = new_ticket_mails(5, "notice-batch")
    with django_capture_on_commit_callbacks() as queued:
        services.ticket_ingest_many(batch)
    deliveries = [c for c in queued if getattr(c, "func", None) is _enqueue_deliveries]
    assert len(deliveries) == 1
    for callback in queued:
        callback()
    assert sorted(m.to[0] for m in mail.outbox) == [f"reader{n}@example.com" for n in range(5)]
    assert all("We received your request" in m.subject for m in mail.outbox)


def test_the_batch_task_hands_what_it_cannot_send_now_to_a_retrying_task(ticket, agent, settings):
    first = services.ticket_reply(ticket=ticket, actor=agent, text="One.")
    second = services.ticket_reply(ticket=ticket, actor=agent, text="Two.")
    settings.EMAIL_BACKEND = f"{__name__}.FlakyBackend"
    assert tasks.deliver_messages.apply(args=[[first.pk, second.pk]], throw=True).get() == 2
    assert {m.delivery_status for m in Message.objects.filter(pk__in=[first.pk, second.pk])} == {
        DeliveryStatus.PENDING
    }
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    assert tasks.deliver_messages.apply(args=[[first.pk]], throw=True).get() == 0
    first.refresh_from_db()
    assert first.delivery_status == DeliveryStatus.FAILED
