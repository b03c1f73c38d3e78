"""An outage of something we depend on never costs a customer's message, and never marks
it failed: Redis (cache, broker, channel layer) killed, the database connection cut in the
middle of a transaction. Real servers, real failures; the tasks run as Celery runs them."""

from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from channels_ingest import pipeline, tasks
from channels_ingest.models import InboundItem, InboundStatus
from channels_ingest.sms import backends as sms_backends
from tests.channels_ingest import conversations
from tests.channels_ingest.sms.twilio_helpers import SMS_URL, post, sms_params, twilio_settings
from tests.outages import connection_cut_before, own_redis
from tickets.models import DeliveryStatus, EventKind, Message, MessageKind, Ticket, TicketEvent

__all__ = ["own_redis", "twilio_settings"]

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("twilio_settings"),
]
RAW = (
    b"Message-ID: <cut@example.com>\r\nFrom: Pat <pat@example.com>\r\n"
    b"Subject: Printer\r\n\r\nIt jams.\r\n"
)


@pytest.fixture
def notices(settings):
    settings.HELPDESK_CUSTOMER_NOTICES = True
    sms_backends.outbox.clear()
    yield
    sms_backends.outbox.clear()


def backdate_pending_notices() -> None:
    """As if the outbound sweep's wait (minutes) had passed."""
    Message.objects.filter(is_automatic=True).update(created_at=timezone.now() - timedelta(hours=1))


def test_a_text_received_and_processed_while_redis_is_down_loses_nothing(
    client, own_redis, notices
):
    own_redis.stop()  # cache, broker and channel layer all gone

    response = post(client, SMS_URL, sms_params("SM-OUTAGE-1", "+14155550123", "No signal"))
    assert response.status_code == 200  # stored before answering; its task could not be queued
    item = InboundItem.objects.get()
    assert item.status == InboundStatus.RECEIVED

    InboundItem.objects.filter(pk=item.pk).update(received_at=timezone.now() - timedelta(hours=1))
    tasks.sweep_inbound.apply()  # what beat runs; the live pushes and routing fail after commit

    item.refresh_from_db()
    assert (item.status, item.error) == (InboundStatus.PROCESSED, "")
    ticket = Ticket.objects.get()
    assert list(ticket.messages.values_list("kind", "body_text")) == [
        (MessageKind.INBOUND, "No signal"),
        (MessageKind.OUTBOUND, Message.objects.get(is_automatic=True).body_text),
    ]
    notice = Message.objects.get(is_automatic=True)
    assert notice.delivery_status == DeliveryStatus.PENDING  # it waits; it is not lost
    assert sms_backends.outbox == []

    own_redis.start()
    backdate_pending_notices()
    assert tasks.sweep_outbound.apply().get() == 1  # queued again, on a broker that is back
    tasks.deliver_message.apply(args=[notice.pk])  # what the worker then runs

    notice.refresh_from_db()
    assert notice.delivery_status == DeliveryStatus.SENT
    [sent] = sms_backends.outbox
    assert (sent.to, ticket.reference in sent.body) == ("+14155550123", True)


def test_a_notice_that_cannot_be_sent_while_the_cache_is_down_stays_pending_then_goes(
    client, own_redis, notices
):
    post(client, SMS_URL, sms_params("SM-OUTAGE-2", "+14155550124", "Help, no signal"))
    own_redis.stop()
    tasks.process_inbound.apply(args=[InboundItem.objects.get().pk])
    notice = Message.objects.get(is_automatic=True)

    tasks.deliver_message.apply(args=[notice.pk])  # retried, in vain while the cache is down

    notice.refresh_from_db()
    assert (notice.delivery_status, notice.delivery_error) == (DeliveryStatus.PENDING, "")
    assert not TicketEvent.objects.filter(kind=EventKind.DELIVERY_FAILED).exists()
    own_redis.start()
    tasks.deliver_message.apply(args=[notice.pk])
    notice.refresh_from_db()
    assert notice.delivery_status == DeliveryStatus.SENT
    assert len(sms_backends.outbox) == 1


def store_email(raw: bytes = RAW) -> InboundItem:
    return conversations.store(raw)


def test_a_connection_cut_mid_transaction_leaves_the_item_waiting_not_failed():
    item = store_email()

    with connection_cut_before('INSERT INTO "tickets_message"'), pytest.raises(OperationalError):
        pipeline.process(item.pk)

    item.refresh_from_db()  # a new connection
    assert item.status == InboundStatus.RECEIVED
    assert item.error.startswith("Waiting to be retried after OperationalError")
    assert (Ticket.objects.count(), Message.objects.count()) == (0, 0)  # all rolled back
    assert pipeline.process(item.pk).status == InboundStatus.PROCESSED
    assert (Ticket.objects.count(), Message.objects.count()) == (1, 1)


def test_the_task_retries_after_a_cut_connection_until_it_is_processed():
    item = store_email()

    with connection_cut_before('INSERT INTO "tickets_message"') as cuts:
        tasks.process_inbound.apply(args=[item.pk])  # Celery's own retry, run in place

    assert cuts() == 1
    item.refresh_from_db()
    assert (item.status, item.outcome, item.error) == (InboundStatus.PROCESSED, "new", "")
    assert item.attempts == 2
    assert Message.objects.get().ticket == Ticket.objects.get()


def test_a_cut_connection_in_a_batch_leaves_every_item_waiting():
    first = store_email()
    second = store_email(RAW.replace(b"<cut@", b"<cut2@"))

    with connection_cut_before('INSERT INTO "tickets_message"'), pytest.raises(OperationalError):
        pipeline.process_many([first.pk, second.pk])

    assert set(InboundItem.objects.values_list("status", flat=True)) == {InboundStatus.RECEIVED}
    assert not Ticket.objects.exists()
    assert len(pipeline.process_many([first.pk, second.pk])) == 2
    assert Ticket.objects.count() == 2


def test_the_mta_pipe_accepts_a_message_stored_before_an_outage_cut_its_processing(tmp_path):
    from io import StringIO

    from django.core.management import call_command

    path = tmp_path / "m.eml"
    path.write_bytes(RAW)
    out = StringIO()

    with connection_cut_before('INSERT INTO "tickets_message"'):
        call_command("ingest_email", str(path), stdout=out)  # no SystemExit(75): accepted

    assert out.getvalue().startswith("stored, to be processed after an outage: Waiting")
    item = InboundItem.objects.get()
    assert item.status == InboundStatus.RECEIVED  # the sweep takes it from here
    assert pipeline.sweep(now=timezone.now() + timedelta(hours=1)) == 1
    assert Message.objects.get().body_text.strip() == "It jams."
