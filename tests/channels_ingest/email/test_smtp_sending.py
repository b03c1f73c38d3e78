"""Mail goes out through a real SMTP server (aiosmtpd): a batch of notices shares one
session with it, and a message the server turns away for now is sent again on its own
while the rest of the batch goes on."""

from collections.abc import Iterator

import pytest

from tests.channels_ingest.batches import new_ticket_mails
from tests.mail_server import MailServer, running_mail_server
from tickets import services
from tickets.models import DeliveryStatus, Message, MessageKind

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp_server(settings) -> Iterator[MailServer]:
    with running_mail_server() as mail_server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", mail_server.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.HELPDESK_CUSTOMER_NOTICES = True
        yield mail_server


def _new_tickets(count: int, capture) -> None:
    batch = new_ticket_mails(count, "smtp-batch")
    with capture(execute=True):
        services.ticket_ingest_many(batch)


def _notices() -> list[Message]:
    return list(Message.objects.filter(kind=MessageKind.OUTBOUND).order_by("pk"))


def test_a_batch_of_notices_goes_out_in_one_smtp_session(
    smtp_server, celery_eager, django_capture_on_commit_callbacks
):
    _new_tickets(6, django_capture_on_commit_callbacks)

    assert sorted(to for to, _subject in smtp_server.received) == [
        f"reader{n}@example.com" for n in range(6)
    ]
    assert all("We received your request" in subject for _to, subject in smtp_server.received)
    assert smtp_server.sessions == 1
    assert {m.delivery_status for m in _notices()} == {DeliveryStatus.SENT}


def test_a_message_turned_away_for_now_is_sent_again_and_the_batch_goes_on(
    smtp_server, celery_eager, django_capture_on_commit_callbacks
):
    smtp_server.refuse_once = {"reader1@example.com"}

    _new_tickets(4, django_capture_on_commit_callbacks)

    delivered = [to for to, _subject in smtp_server.received]
    assert sorted(delivered) == [f"reader{n}@example.com" for n in range(4)]
    assert delivered.count("reader1@example.com") == 1
    assert {m.delivery_status for m in _notices()} == {DeliveryStatus.SENT}
    # The batch's session, the retry's own, and the batch's fresh one after the refusal.
    assert smtp_server.sessions == 3


def test_an_agents_reply_goes_out_over_smtp(
    smtp_server, celery_eager, django_capture_on_commit_callbacks, open_ticket, agent
):
    ticket = open_ticket(sender="ann@example.com", subject="Printer offline")
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.ticket_reply(ticket=ticket, actor=agent, text="Restart it, please.")

    [(to, subject)] = smtp_server.received
    assert to == "ann@example.com" and subject.startswith("Re: Printer offline")
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.SENT


def test_a_connection_dropped_mid_batch_is_opened_again_and_each_message_goes_once(
    smtp_server, celery_eager, django_capture_on_commit_callbacks
):
    smtp_server.drop_once = {"reader1@example.com"}

    _new_tickets(4, django_capture_on_commit_callbacks)

    delivered = [to for to, _subject in smtp_server.received]
    assert sorted(delivered) == [f"reader{n}@example.com" for n in range(4)]
    assert {m.delivery_status for m in _notices()} == {DeliveryStatus.SENT}
    # The batch's session, the dropped one's retry's own, and the batch's new one.
    assert smtp_server.sessions == 3


def test_a_recipient_the_server_refuses_for_now_is_tried_again_not_failed(
    smtp_server, celery_eager, django_capture_on_commit_callbacks
):
    smtp_server.busy_once = {"reader2@example.com"}

    _new_tickets(3, django_capture_on_commit_callbacks)

    delivered = [to for to, _subject in smtp_server.received]
    assert sorted(delivered) == [f"reader{n}@example.com" for n in range(3)]
    assert {m.delivery_status for m in _notices()} == {DeliveryStatus.SENT}
