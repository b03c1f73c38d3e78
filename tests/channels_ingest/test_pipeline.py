"""Store first, process after: failures are visible and retried; the sweep re-drives."""

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from channels_ingest import pipeline, tasks
from channels_ingest.models import InboundItem, InboundStatus
from knowledge.search import thesaurus
from tests.channels_ingest import conversations
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

RAW = b"Message-ID: <p1@example.com>\r\nFrom: pat@example.com\r\nSubject: Hi\r\n\r\nHello\r\n"


def broken_parser(payload: bytes) -> None:
    raise RuntimeError("bug in a parser")


def store(raw: bytes = RAW) -> InboundItem:
    return conversations.store(raw)


def store_another(key: str, sender: str) -> InboundItem:
    """RAW again, under another Message-ID and from another sender."""
    raw = RAW.replace(b"<p1@example.com>", key.encode()).replace(b"pat@", f"{sender}@".encode())
    return store(raw)


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
        item = store_another(f"<p{n}@example.com>", f"pat{n}")
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


def test_a_message_too_long_for_the_search_index_is_cut_not_lost():
    """A text-search vector over 1 MB is refused by PostgreSQL, and the message with it."""
    import random
    import string

    words = random.Random(1).choices(string.ascii_lowercase, k=9 * 120_000)
    text = " ".join("".join(words[i : i + 9]) for i in range(0, len(words), 9))
    item = store(RAW.replace(b"Hello", text.encode()))

    pipeline.process(item.pk)

    item.refresh_from_db()
    assert item.status == InboundStatus.PROCESSED, item.error
    body = item.message.body_text
    assert body.startswith(text[:1000])
    assert body.endswith(
        "[Cut here: the message is longer than this. The whole message is in its original.]"
    )
    assert item.message.original  # where the rest is


def test_a_message_that_keeps_failing_holds_up_no_other_and_is_given_up(monkeypatch):
    """An error that repeats for one message (here a deadlock, every time) is retried like
    an outage, but the sweep goes on with the others, and after GIVE_UP_AFTER tries the
    message is failed, for the admins."""
    import psycopg

    from tickets import services

    real_one, real_many = services.ticket_ingest, services.ticket_ingest_many

    def deadlocked(inbounds):
        if any(inbound.external_id == "<poison@example.com>" for inbound in inbounds):
            raise psycopg.errors.DeadlockDetected("deadlock detected")

    monkeypatch.setattr(
        services, "ticket_ingest", lambda **kw: deadlocked([kw["inbound"]]) or real_one(**kw)
    )
    monkeypatch.setattr(
        services, "ticket_ingest_many", lambda ins, **kw: deadlocked(ins) or real_many(ins, **kw)
    )
    hour_ago = timezone.now() - timedelta(hours=1)
    keys = ["<aa@example.com>", "<poison@example.com>", "<zz@example.com>"]
    for n, key in enumerate(keys):
        item = store_another(key, f"p{n}")
        InboundItem.objects.filter(pk=item.pk).update(received_at=hour_ago)

    assert pipeline.sweep() == 2
    poison = InboundItem.objects.get(idempotency_key="<poison@example.com>")
    assert (poison.status, poison.attempts) == (InboundStatus.RECEIVED, 1)
    assert poison.error.startswith("Waiting to be retried after DeadlockDetected")
    for _ in range(pipeline.GIVE_UP_AFTER - 1):  # alone, it looks like an outage: raised
        with pytest.raises(psycopg.errors.DeadlockDetected):
            pipeline.sweep()
    poison.refresh_from_db()
    assert poison.status == InboundStatus.FAILED
    assert poison.error.startswith("Gave up after 10 attempts, the last ending in Deadlock")
    assert pipeline.sweep() == 0  # failed: for the admins now, not the sweep


def test_a_task_takes_the_items_waiting_longest_in_one_batch():
    """A webhook's task is a wake-up: with a backlog it takes up to a batch of the oldest
    items together, and the tasks of the items it took find nothing left to do."""
    items = []
    for n in range(5):
        items.append(store_another(f"<w{n}@example.com>", f"pat{n}"))

    assert tasks.process_inbound.apply(args=[items[3].pk]).get() == 5
    assert [tasks.process_inbound.apply(args=[i.pk]).get() for i in items] == [0] * 5
    assert set(InboundItem.objects.values_list("status", flat=True)) == {InboundStatus.PROCESSED}
    assert Ticket.objects.count() == 5


@pytest.mark.parametrize(
    ("case", "most"),
    [
        # claim, conversation locks, duplicate, references to it, contact; customer and
        # contact, ticket, its metrics, message, both events, the notice; the item
        ("from a new address", 13),
        ("from a known address", 11),
        # claim, waiting parents, locks, duplicate, what it answers, references to it,
        # sender's contact, ticket lock; ticket, message, event; the item
        ("an answer", 12),
        # claim, locks, duplicate, contact; customer and contact, ticket, its metrics,
        # message, both events, the notice; the item
        ("a text from a new number", 12),
        # claim, locks, duplicate, contact, their recent ticket, ticket lock; ticket,
        # message, event; the item
        ("a text on the sender's ticket", 10),
    ],
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # as in the worker
def test_a_message_alone_costs_a_few_statements(case, most, settings):
    """What the task of a lone webhook does, customer notices on, the set-up read already."""
    settings.HELPDESK_CUSTOMER_NOTICES = settings.HELPDESK_SPIKES = True
    raw = conversations.raw_email
    pipeline.process(conversations.store(raw("warm", sender="known@example.com")).pk)
    # Of the set-up, the synonyms too (spike detection reads new tickets' words with them;
    # the warm email is dated long ago, so it is not read as arriving now).
    thesaurus.current()
    if case == "an answer":
        pipeline.process(conversations.store(raw("q", sender="ann@example.com")).pk)
    if case == "a text on the sender's ticket":
        pipeline.process(_store_text("SM-FIRST", "+14155550111", "My router reboots.").pk)
    item = {
        "from a new address": lambda: conversations.store(raw("n", sender="new@example.com")),
        "from a known address": lambda: conversations.store(
            raw("k", sender="known@example.com", subject="Other")
        ),
        "an answer": lambda: conversations.store(
            raw("a", sender="ann@example.com", answers=("q",))
        ),
        "a text from a new number": lambda: _store_text("SM-NEW", "+14155550122", "No signal."),
        "a text on the sender's ticket": lambda: _store_text(
            "SM-AGAIN", "+14155550111", "Still rebooting."
        ),
    }[case]()
    with CaptureQueriesContext(connection) as queries:
        pipeline.process(item.pk)
    item.refresh_from_db()
    threaded = case in ("an answer", "a text on the sender's ticket")
    assert item.outcome == ("threaded" if threaded else "new"), (item.status, item.error)
    statements = [q["sql"] for q in queries if q["sql"] not in ("BEGIN", "COMMIT")]
    assert len(statements) <= most, "\n".join(s[:120] for s in statements)


def _store_text(sid: str, sender: str, body: str) -> InboundItem:
    """A Twilio inbound-SMS delivery, stored as its webhook stores it."""
    payload = urlencode({"MessageSid": sid, "From": sender, "To": "+14155559999", "Body": body})
    item, created = pipeline.receive(
        channel="sms",
        source="test",
        key=sid,
        payload=payload.encode(),
        content_type="application/x-www-form-urlencoded",
        enqueue=False,
    )
    assert created
    return item


def _queued_wake_ups() -> int:
    from helpdesk.celery import app

    with app.connection_for_write() as connection:
        return int(connection.default_channel.queue_declare("ingest", passive=True).message_count)


def test_items_stored_while_a_wake_up_waits_queue_no_other(django_capture_on_commit_callbacks):
    """Under load a worker is woken once per batch, not once per webhook."""
    from helpdesk.celery import app

    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge("ingest")
    for n in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            pipeline.receive(
                channel="email",
                source="test",
                key=f"<wake{n}@example.com>",
                payload=conversations.raw_email(f"wake{n}", sender=f"w{n}@example.com"),
                content_type="message/rfc822",
            )
    assert _queued_wake_ups() == 1
    pipeline.woken()  # the wake-up starts: what is stored now needs one of its own
    with django_capture_on_commit_callbacks(execute=True):
        pipeline.receive(
            channel="email",
            source="test",
            key="<wake3@example.com>",
            payload=conversations.raw_email("wake3", sender="w3@example.com"),
            content_type="message/rfc822",
        )
    assert _queued_wake_ups() == 2
    assert tasks.process_inbound.apply(args=[0]).get() == 4  # one takes them all
    assert tasks.process_inbound.apply(args=[0]).get() == 0
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge("ingest")
