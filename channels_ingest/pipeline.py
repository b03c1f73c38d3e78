"""Store first, process after: every inbound door ends here, then in tickets.services.

receive() runs inside the request (or poll, or command) that acknowledges the payload,
so nothing acknowledged is ever lost; process() turns it into a ticket message after
commit, and sweep() re-drives whatever a dead worker left behind.
"""

import itertools
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.module_loading import import_string

from channels_ingest.errors import Rejected
from channels_ingest.models import InboundItem, InboundStatus
from helpdesk.faults import is_transient
from tickets import services
from tickets.errors import DomainError
from tickets.inbound import (
    ConsentResult,
    DeliveryReportResult,
    InboundMessage,
    IngestResult,
    SideReplyResult,
)
from tickets.services._common import bulk_write

logger = logging.getLogger(__name__)

# channel -> parser: payload bytes -> InboundMessage (raises Rejected for the sender's faults)
PARSERS = {
    "email": "channels_ingest.email.parse.parse_email",
    "sms": "channels_ingest.sms.parse.parse_sms",
    "phone": "channels_ingest.voice.parse.parse_call",
}
# "channel:source" -> parser, for a source whose payloads are another kind than its
# channel's usual one (a voicemail, not a call's status).
SOURCE_PARSERS = {
    "phone:twilio-voicemail": "channels_ingest.voice.parse.parse_voicemail",
}
# Items processed together (a mailbox poll, an imported mbox, the sweep): large enough that
# a batch's fixed statements cost little per message, small enough to hold locks briefly.
BATCH_SIZE = 100
# How many generations of waiting parents a message brings into its batch.
_PARENT_GENERATIONS = 5
# Errors an item processed alone may meet before it is taken to be its own, not an outage.
GIVE_UP_AFTER = 10
# Batches one sweep processes at most; the next sweep goes on from there.
SWEEP_MAX_BATCHES = 50
# The mark of a queued wake-up not yet started (see _enqueue); it expires so that a wake-up
# lost with the broker is replaced.
_WAKE_PENDING = "inbound:wake-up-queued"
WAKE_PENDING_SECONDS = 15
# What processing writes back to the item.
_PROCESSED_FIELDS = ["attempts", "status", "error", "outcome", "ticket", "message", "processed_at"]


def receive(
    *,
    channel: str,
    source: str,
    key: str,
    payload: bytes,
    content_type: str,
    enqueue: bool = True,
) -> tuple[InboundItem, bool]:
    """Store a payload once per (channel, key). Returns the item and whether it is new.

    New items are queued for processing when the surrounding transaction commits.
    """
    key = key[:500]
    try:
        # Insert first: a new payload (the usual case) costs one statement, and the unique
        # key turns a redelivery, or a concurrent duplicate, into an IntegrityError.
        with transaction.atomic():
            item = InboundItem.objects.create(
                channel=channel,
                idempotency_key=key,
                source=source[:100],
                payload=b"" if _written_apart(payload) else payload,
                content_type=content_type,
            )
            _write_large_payloads([(item, payload)])
            if enqueue:
                transaction.on_commit(lambda: _enqueue(item.pk))
    except IntegrityError:
        stored = InboundItem.objects.filter(channel=channel, idempotency_key=key).first()
        if stored is None:
            raise
        return stored, False
    return item, True


def receive_many(
    *, channel: str, source: str, payloads: list[tuple[str, bytes]], content_type: str
) -> list[tuple[InboundItem, bool]]:
    """receive() for many payloads (key, bytes) at once: the new ones stored in one statement.
    Not queued: the caller processes them (process_many) or queues them itself."""
    keys = [key[:500] for key, _ in payloads]
    stored = {
        item.idempotency_key: item
        for item in InboundItem.objects.filter(channel=channel, idempotency_key__in=keys).defer(
            "payload"
        )
    }
    new: dict[str, InboundItem] = {}
    for key, (_, payload) in zip(keys, payloads, strict=True):
        if key not in stored and key not in new:
            new[key] = InboundItem(
                channel=channel,
                idempotency_key=key,
                source=source[:100],
                payload=b"" if _written_apart(payload) else payload,
                content_type=content_type,
            )
    payload_of: dict[str, bytes] = {}
    for key, (_, payload) in zip(keys, payloads, strict=True):
        payload_of.setdefault(key, payload)  # the copy its row was made from: the first
    try:
        with transaction.atomic():
            InboundItem.objects.bulk_create(new.values())
            _write_large_payloads([(item, payload_of[key]) for key, item in new.items()])
    except IntegrityError:  # stored concurrently: one by one, each insert deciding
        return [
            receive(
                channel=channel,
                source=source,
                key=key,
                payload=payload,
                content_type=content_type,
                enqueue=False,
            )
            for key, payload in payloads
        ]
    results, seen = [], set()
    for key in keys:
        if key in stored or key in seen:  # stored before, or repeated in this batch
            results.append((stored.get(key) or new[key], False))
        else:
            seen.add(key)
            results.append((new[key], True))
    return results


# Payloads from this size on are written as a binary parameter (PostgreSQL).
LARGE_PAYLOAD_BYTES = 1024 * 1024


def _written_apart(payload: bytes) -> bool:
    return connection.vendor == "postgresql" and len(payload) >= LARGE_PAYLOAD_BYTES


def _write_large_payloads(items: list[tuple[InboundItem, bytes]]) -> None:
    """Large payloads written after their rows, each as one binary parameter.

    Django's PostgreSQL cursors bind client-side: a bytea value is escaped into the SQL
    text, and a 42 MB email took some 180 MB of memory to store that way, against its own
    size bound as a binary parameter of a server-side binding cursor (psycopg's Cursor)."""
    large = [(item, payload) for item, payload in items if _written_apart(payload)]
    if not large:
        return
    import psycopg  # PostgreSQL only

    connection.ensure_connection()
    table = InboundItem._meta.db_table
    # Django's wrapper: a failure is a django.db error (the callers' retry and exit status
    # depend on it) and marks the connection as in error, as through the ORM.
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        for item, payload in large:
            cursor.execute(
                f'UPDATE "{table}" SET payload = %b WHERE id = %s',  # noqa: S608 (our table)
                [payload, item.pk],
            )
            item.payload = payload


T = TypeVar("T")


def batches(items: Iterable[T], size: int = BATCH_SIZE) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def enqueue_many(item_ids: list[int]) -> None:
    """Queue stored items for processing in batches (after they are committed)."""
    from channels_ingest.tasks import process_inbound_batch

    for batch in batches(item_ids):
        try:
            process_inbound_batch.delay(batch)
        except Exception:
            logger.exception("could not queue %s inbound items; the sweep will", len(batch))


def _enqueue(item_id: int) -> None:
    """Wake a worker for a stored item, unless a wake-up is already queued and not yet
    started (it will find this item: the task clears the mark before it looks). Under load
    that is one task per batch, not one per webhook; a wake-up lost with its mark is
    replaced once the mark expires, and the sweep takes what waited meanwhile."""
    from channels_ingest.tasks import process_inbound

    try:
        if not cache.add(_WAKE_PENDING, item_id, timeout=WAKE_PENDING_SECONDS):
            return
    except Exception:  # the cache is down: wake one anyway
        logger.warning("could not mark the inbound wake-up; queueing it", exc_info=True)
    try:
        process_inbound.delay(item_id)
    except Exception:
        # The broker is down: the item is stored, and the sweep will pick it up.
        _forget_wake_up()
        logger.exception("could not queue inbound item %s; the sweep will retry", item_id)


def woken() -> None:
    """Called by a wake-up as it starts, before it looks for waiting items: what is stored
    from now on queues a wake-up of its own."""
    _forget_wake_up()


def _forget_wake_up() -> None:
    try:
        cache.delete(_WAKE_PENDING)
    except Exception:  # expires by itself
        logger.warning("could not clear the inbound wake-up mark", exc_info=True)


def process(item_id: int, *, now: datetime | None = None) -> InboundItem | None:
    """Parse and ingest one stored item; safe to call twice or concurrently.

    The sender's faults end as REJECTED, the message's own as FAILED with the error
    (visible to admins, retried from the admin). An outage (database, Redis, broker)
    leaves the item waiting and propagates, so the task retries it. Stored messages it
    answers that are still waiting are processed with it, before it.
    """
    with _retried_on_outage([item_id], alone=True):
        items = _in_transaction(lambda: _claim([item_id]), now)
    return items[0] if items else None  # none: already done, or another worker holds it


def process_many(item_ids: list[int], *, now: datetime | None = None) -> list[InboundItem]:
    """process() for many stored items at once (a mailbox poll, an imported mbox): parsed
    one by one, ingested together (tickets.services.ticket_ingest_many), in one transaction.

    Items another worker holds or has done are skipped; the others are returned, in order.
    """
    with _retried_on_outage(item_ids):
        return _in_transaction(lambda: _claim(item_ids), now)


def _in_transaction(
    claim: Callable[[], list[InboundItem]], now: datetime | None
) -> list[InboundItem]:
    """Claim items and process them, in one transaction; returns them.

    A lone message is ingested without a savepoint (two statements of a dozen): when it is
    refused or fails on its own, everything is rolled back and the item claimed again, in
    a transaction of its own, to record how it went.
    """
    try:
        # A refusal is kept on the item (for the admins): in the default language.
        with translation.override(settings.LANGUAGE_CODE), transaction.atomic():
            items = claim()
            _process_claimed(items, now)
        return items
    except _AloneFailed as failed:
        with transaction.atomic():
            items = _claim([failed.item_id])
            for item in items:
                _finish(item, failed.error, now)
                item.save(update_fields=_PROCESSED_FIELDS)
        return items


class _AloneFailed(Exception):
    """A message ingested alone was refused, or failed on its own (not an outage)."""

    def __init__(self, item_id: int, error: Exception) -> None:
        super().__init__(str(error))
        self.item_id, self.error = item_id, error


def _process_claimed(items: list[InboundItem], now: datetime | None) -> None:
    """Parse and ingest items this transaction holds, with the waiting items they answer;
    record how each went. A lone message goes the one-message way."""
    parsed = _parsed(items, now)
    parents = _waiting_parents(items, parsed, now)
    parsed = [(item, inbound) for item, inbound in parents if inbound is not None] + parsed
    inbounds = [inbound for _, inbound in parsed]
    if len(inbounds) == 1:
        results: list[Outcome] = [_ingest_alone(parsed[0][0], inbounds[0], now)]
    else:
        results = _ingest_together(inbounds, now)
    for (item, _), result in zip(parsed, results, strict=True):
        _finish(item, result, now)
    written = items + [item for item, _ in parents]
    if len(written) == 1:
        written[0].save(update_fields=_PROCESSED_FIELDS)  # not the payload: can be megabytes
    else:
        bulk_write(written, _PROCESSED_FIELDS)


def _parsed(
    items: list[InboundItem], now: datetime | None
) -> list[tuple[InboundItem, InboundMessage]]:
    """The items that parse, with their messages; the others are finished as failed or
    rejected."""
    return [(item, inbound) for item, inbound in _parse_each(items, now) if inbound is not None]


def _parse_each(
    items: list[InboundItem], now: datetime | None
) -> list[tuple[InboundItem, InboundMessage | None]]:
    """Each item with its message, or None when it did not parse (then finished)."""
    parsed: list[tuple[InboundItem, InboundMessage | None]] = []
    for item in items:
        try:
            parsed.append((item, parse(item)))
        except Exception as error:
            _finish(item, _own_failure(error), now)
            parsed.append((item, None))
    return parsed


def _waiting_parents(
    items: list[InboundItem],
    parsed: list[tuple[InboundItem, InboundMessage]],
    now: datetime | None,
) -> list[tuple[InboundItem, InboundMessage | None]]:
    """Stored emails these messages answer that are still waiting (their task was lost, or
    is behind this one): claimed too, parsed, to be processed first. Their own waiting
    parents too, up to a few generations. One another worker holds is left to it: the
    conversation lock makes whichever goes second see the other."""
    have = {item.idempotency_key for item in items}
    wanted = {ref for _, inbound in parsed for ref in services.late_references(inbound)} - have
    found: list[tuple[InboundItem, InboundMessage | None]] = []
    for _ in range(_PARENT_GENERATIONS):
        if not wanted:
            break
        parents = list(
            InboundItem.objects.select_for_update(skip_locked=True)
            .filter(channel="email", status=InboundStatus.RECEIVED, idempotency_key__in=wanted)
            .order_by("pk")
        )
        have |= {parent.idempotency_key for parent in parents}
        generation = _parse_each(parents, now)
        found = generation + found
        wanted = {
            ref
            for _, inbound in generation
            if inbound is not None
            for ref in services.late_references(inbound)
        }
        wanted -= have
    return found


def _ingest_together(inbounds: list[InboundMessage], now: datetime | None) -> list["Outcome"]:
    try:
        with transaction.atomic():
            return list(services.ticket_ingest_many(inbounds, now=now))
    except Exception as error:
        if is_transient(error):
            raise
        # ours: then each message on its own, so one cannot stop the rest
        logger.exception("batch of %s inbound items failed; ingesting one by one", len(inbounds))
        return [_ingest_one(inbound, now) for inbound in inbounds]


# What ingesting an item came to: a result, a refusal (the sender's fault) or our error.
Outcome = IngestResult | SideReplyResult | DeliveryReportResult | ConsentResult | Exception


def _claim(item_ids: list[int]) -> list[InboundItem]:
    """The items still to process, locked (skipping any another worker holds)."""
    return list(
        InboundItem.objects.select_for_update(skip_locked=True)
        .filter(pk__in=item_ids, status=InboundStatus.RECEIVED)
        .order_by("pk")
    )


def _ingest_one(inbound: InboundMessage, now: datetime | None) -> Outcome:
    try:
        with transaction.atomic():
            return services.ticket_ingest(inbound=inbound, now=now)
    except Exception as error:
        return _own_failure(error)


def _ingest_alone(item: InboundItem, inbound: InboundMessage, now: datetime | None) -> Outcome:
    """_ingest_one without its savepoint: a failure is raised out of the transaction."""
    try:
        return services.ticket_ingest(inbound=inbound, now=now)
    except Exception as error:
        raise _AloneFailed(item.pk, _own_failure(error)) from error


def _own_failure(error: Exception) -> Exception:
    """The error, when it is the message's own (or the sender's); an outage is raised on."""
    if is_transient(error):
        raise error
    return error


@contextmanager
def _retried_on_outage(item_ids: list[int], *, alone: bool = False) -> Iterator[None]:
    """Whatever escapes leaves the items waiting (their transaction rolled back): noted on
    them for the admins, then raised on for the task's retry (and, failing that, the sweep).

    An item processed `alone` that has met an error GIVE_UP_AFTER times while the database
    could note it is not meeting an outage: it is marked failed, for admins to retry.
    """
    try:
        yield
    except Exception as error:
        logger.warning("%s inbound item(s) left for a retry: %s", len(item_ids), _summary(error))
        _note_retry(item_ids, error, give_up=alone)
        raise


def _summary(error: BaseException) -> str:
    """The error's type and first line: a database's DETAIL line can quote personal data."""
    lines = str(error).splitlines()
    return f"{type(error).__name__}: {lines[0][:200] if lines else ''}"


def _note_retry(item_ids: list[int], error: Exception, *, give_up: bool) -> None:
    waiting = InboundItem.objects.filter(pk__in=item_ids, status=InboundStatus.RECEIVED)
    try:
        waiting.update(
            attempts=F("attempts") + 1,
            error=f"Waiting to be retried after {type(error).__name__}: {error}"[:2000],
        )
        if give_up:
            waiting.filter(attempts__gte=GIVE_UP_AFTER).update(
                status=InboundStatus.FAILED,
                error=f"Gave up after {GIVE_UP_AFTER} attempts, the last ending in "
                f"{type(error).__name__}: {error}"[:2000],
                processed_at=timezone.now(),
            )
    except Exception:  # the database is what is down: the retry itself will tell
        logger.warning("could not note the retry on inbound items %s", item_ids[:10])


def _finish(item: InboundItem, outcome: Outcome, now: datetime | None) -> None:
    """Record on the item how it went (not saved)."""
    item.attempts += 1
    if isinstance(outcome, IngestResult):
        item.status, item.error = InboundStatus.PROCESSED, ""
        item.outcome = outcome.outcome
        item.ticket_id, item.message_id = outcome.ticket.pk, outcome.message.pk
    elif isinstance(outcome, SideReplyResult):  # a third party's, in its side conversation
        item.status, item.error = InboundStatus.PROCESSED, ""
        item.outcome, item.ticket_id, item.message_id = "side", outcome.ticket.pk, None
    elif isinstance(outcome, DeliveryReportResult):  # a bounce, on the email it is about
        item.status, item.error = InboundStatus.PROCESSED, ""
        item.outcome, item.ticket_id, item.message_id = outcome.outcome, outcome.ticket.pk, None
    elif isinstance(outcome, ConsentResult):  # a STOP or START, beside its customer
        item.status, item.error = InboundStatus.PROCESSED, ""
        item.outcome, item.ticket_id, item.message_id = outcome.outcome, None, None
    elif isinstance(outcome, (Rejected, DomainError)):
        reason = outcome.reason if isinstance(outcome, Rejected) else outcome.message
        logger.info("inbound item %s rejected: %s", item.pk, reason)
        item.status, item.error = InboundStatus.REJECTED, reason
    else:  # the message's own: record it for the admins and move on
        logger.error("inbound item %s failed", item.pk, exc_info=outcome)
        item.status, item.error = InboundStatus.FAILED, f"{type(outcome).__name__}: {outcome}"
    item.processed_at = now or timezone.now()


def parse(item: InboundItem) -> InboundMessage:
    name = SOURCE_PARSERS.get(f"{item.channel}:{item.source}") or PARSERS[item.channel]
    parser: Callable[[bytes], InboundMessage] = import_string(name)
    return parser(bytes(item.payload))


def process_waiting(*, now: datetime | None = None) -> int:
    """What the task queued for a new item does: process the items waiting longest, up to
    BATCH_SIZE of them, in one batch (one waiting alone: the one-message way). Returns how
    many it took.

    A task is a wake-up, not a claim on its own item: under load one task takes a batch
    (cheaper per message, oldest first) and the tasks of the items it took find less or
    nothing to do; at rest, the task finds its own item alone. Every item stored queues a
    task, so every item is taken by one, or by the sweep if its task was lost.
    """
    return _drain_once(older_than=None, failing=set(), now=now, wake_another=True) or 0


def sweep(*, now: datetime | None = None, max_batches: int = SWEEP_MAX_BATCHES) -> int:
    """Process what was stored but not processed within HELPDESK_INBOUND_STALE_SECONDS (its
    task was lost: a worker killed, the broker restarted empty, a retry given up), oldest
    first, in batches, until none is left or `max_batches` were done. Returns how many.

    It runs on its own queue and processes the items itself, so re-driving lost work never
    waits behind the backlog of the ingest queue. Sweeps running at once share the work
    (each batch skips the items another holds). A batch that fails is taken again item by
    item, so one message that cannot be processed holds up no other.
    """
    stale = timedelta(seconds=settings.HELPDESK_INBOUND_STALE_SECONDS)
    done = 0
    failing: set[int] = set()  # failed item by item in this sweep: left to the next one
    for _ in range(max_batches):
        taken = _drain_once(older_than=(now or timezone.now()) - stale, failing=failing, now=now)
        if taken is None:
            break
        done += taken
    return done


def _drain_once(
    *,
    older_than: datetime | None,
    failing: set[int],
    now: datetime | None,
    wake_another: bool = False,
) -> int | None:
    """One batch of the items waiting longest (stored before `older_than`, if given; not in
    `failing`). Returns how many were processed, None when none was waiting. A batch that
    fails is taken again item by item; a lone item that fails is raised on (an outage, or
    its own error: the task's retry)."""
    claimed: list[int] = []
    waiting = InboundItem.objects.select_for_update(skip_locked=True).filter(
        status=InboundStatus.RECEIVED
    )
    if older_than is not None:
        waiting = waiting.filter(received_at__lt=older_than)

    def claim() -> list[InboundItem]:
        items = list(waiting.exclude(pk__in=failing).order_by("received_at", "pk")[:BATCH_SIZE])
        claimed[:] = [item.pk for item in items]
        if wake_another and len(items) == BATCH_SIZE:
            # More may be waiting: another worker takes the next batch meanwhile.
            _enqueue(items[-1].pk)
        return items

    try:
        _in_transaction(claim, now)
    except Exception as error:
        if len(claimed) <= 1:  # the claim failed (an outage), or one item alone
            _note_retry(claimed, error, give_up=True)
            raise
        logger.warning("a batch of waiting items failed (%s); item by item", _summary(error))
        return _one_by_one(claimed, now, failing)
    return len(claimed) or None


def _one_by_one(item_ids: list[int], now: datetime | None, failing: set[int]) -> int:
    """Each item in a transaction of its own, so one that keeps failing holds up no other
    (it is added to `failing`); when every one fails, that is an outage: raised."""
    done, failed = 0, None
    for item_id in item_ids:
        try:
            if process(item_id, now=now) is not None:
                done += 1
        except Exception as error:  # noted on the item (process)
            failed = error
            failing.add(item_id)
    if failed is not None and not done:
        raise failed
    return done


def retry(item_ids: list[int]) -> int:
    """Admin action: put failed items back in line."""
    count = InboundItem.objects.filter(pk__in=item_ids, status=InboundStatus.FAILED).update(
        status=InboundStatus.RECEIVED, error="", attempts=0
    )
    for item_id in item_ids:
        transaction.on_commit(partial(_enqueue, item_id))
    return count
