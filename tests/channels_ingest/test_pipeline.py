"""Store first, process after: failures are visible and retried; the sweep re-drives."""

from datetime import timedelta

import pytest
from django.utils import timezone

from channels_ingest import pipeline, tasks
from channels_ingest.models import InboundItem, InboundStatus
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

RAW = b"Message-ID: <p1@example.com>\r\nFrom: pat@example.com\r\nSubject: Hi\r\n\r\nHello\r\n"


def broken_parser(payload: bytes) -> None:
    raise RuntimeError("bug in a parser")


def store(raw: bytes = RAW) -> InboundItem:
    item, created = pipeline.receive(
        channel="email",
        source="test",
        key="<p1@example.com>",
        payload=raw,
        content_type="message/rfc822",
        enqueue=False,
    )
    assert created
    return item


def test_processing_turns_the_item_into_a_ticket_once():
    item = store()
    pipeline.process(item.pk)
    pipeline.process(item.pk)  # a redelivered task does nothing more
    item.refresh_from_db()
    assert (item.status, item.outcome, item.attempts) == (InboundStatus.PROCESSED, "new", 1)
    assert item.ticket == Ticket.objects.get()


def test_our_failure_is_recorded_and_can_be_retried_from_the_admin(
    monkeypatch, admin_client, celery_eager, django_capture_on_commit_callbacks
):
    item = store()
    monkeypatch.setitem(pipeline.PARSERS, "email", f"{__name__}.broken_parser")
    pipeline.process(item.pk)
    item.refresh_from_db()
    assert item.status == InboundStatus.FAILED
    assert item.error == "RuntimeError: bug in a parser"
    assert not Ticket.objects.exists()

    listing = admin_client.get("/admin/channels_ingest/inbounditem/?status__exact=failed")
    assert "bug in a parser" in listing.content.decode()

    monkeypatch.setitem(pipeline.PARSERS, "email", "channels_ingest.email.parse.parse_email")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/channels_ingest/inbounditem/",
            {"action": "retry", "_selected_action": [item.pk]},
        )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.status == InboundStatus.PROCESSED
    assert Ticket.objects.count() == 1


def test_worker_died_before_processing_then_the_sweep_redrives(celery_eager):
    item = store()  # stored and acknowledged, but its task never ran
    assert tasks.sweep_inbound.apply().get() == 0  # too recent to be called lost
    InboundItem.objects.filter(pk=item.pk).update(received_at=timezone.now() - timedelta(minutes=5))
    assert tasks.sweep_inbound.apply().get() == 1
    item.refresh_from_db()
    assert item.status == InboundStatus.PROCESSED


def test_rejections_are_final_and_not_swept():
    item = store(b"Message-ID: <p1@example.com>\r\nSubject: no sender\r\n\r\nx\r\n")
    pipeline.process(item.pk)
    item.refresh_from_db()
    assert item.status == InboundStatus.REJECTED
    assert "sender" in item.error
    InboundItem.objects.filter(pk=item.pk).update(received_at=timezone.now() - timedelta(hours=1))
    assert pipeline.sweep() == 0


def test_broker_down_when_storing_loses_nothing(monkeypatch, django_capture_on_commit_callbacks):
    def no_broker(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.process_inbound, "delay", no_broker)
    with django_capture_on_commit_callbacks(execute=True):
        _, created = pipeline.receive(
            channel="email",
            source="test",
            key="<p1@example.com>",
            payload=RAW,
            content_type="message/rfc822",
        )
    assert created
    assert InboundItem.objects.get().status == InboundStatus.RECEIVED  # the sweep will come


def test_the_sweep_takes_the_oldest_first_in_batches(settings, monkeypatch):
    settings.HELPDESK_INBOUND_STALE_SECONDS = 60
    monkeypatch.setattr(pipeline, "BATCH_SIZE", 2)
    now = timezone.now()
    items = []
    for n, age in enumerate([61, 300, 30, 120, 90]):
        raw = RAW.replace(b"<p1@", f"<p{n}@".encode()).replace(b"pat@", f"pat{n}@".encode())
        item, _ = pipeline.receive(
            channel="email",
            source="test",
            key=f"<p{n}@example.com>",
            payload=raw,
            content_type="message/rfc822",
            enqueue=False,
        )
        InboundItem.objects.filter(pk=item.pk).update(received_at=now - timedelta(seconds=age))
        items.append(item.pk)

    assert pipeline.sweep(now=now, max_batches=1) == 2  # one batch: the two oldest
    processed = InboundItem.objects.filter(status=InboundStatus.PROCESSED)
    assert set(processed.values_list("pk", flat=True)) == {items[1], items[3]}
    assert pipeline.sweep(now=now) == 2  # the rest that is stale, however many batches
    assert InboundItem.objects.get(pk=items[2]).status == InboundStatus.RECEIVED  # too recent


def test_a_worker_that_starts_sweeps_at_once(celery_eager):
    """A worker that starts may replace one that died holding items: it need not wait for
    beat (the broker redelivers a dead worker's tasks only after its visibility timeout)."""
    from celery.signals import worker_ready

    item = store()
    InboundItem.objects.filter(pk=item.pk).update(received_at=timezone.now() - timedelta(hours=1))

    worker_ready.send(sender=None)

    item.refresh_from_db()
    assert item.status == InboundStatus.PROCESSED
