"""Store first, process after: every inbound door ends here, then in tickets.services.

receive() runs inside the request (or poll, or command) that acknowledges the payload,
so nothing acknowledged is ever lost; process() turns it into a ticket message after
commit, and sweep() re-drives whatever a dead worker left behind.
"""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from channels_ingest.errors import Rejected
from channels_ingest.models import InboundItem, InboundStatus
from tickets import services
from tickets.errors import DomainError
from tickets.inbound import InboundMessage

logger = logging.getLogger(__name__)

# channel -> parser: payload bytes -> InboundMessage (raises Rejected for the sender's faults)
PARSERS = {
    "email": "channels_ingest.email.parse.parse_email",
    "sms": "channels_ingest.sms.parse.parse_sms",
    "phone": "channels_ingest.voice.parse.parse_call",
}
# Stored but not processed for this long means the worker that should have done it died.
STALE_AFTER = timedelta(minutes=2)
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
                payload=payload,
                content_type=content_type,
            )
            if enqueue:
                transaction.on_commit(lambda: _enqueue(item.pk))
    except IntegrityError:
        stored = InboundItem.objects.filter(channel=channel, idempotency_key=key).first()
        if stored is None:
            raise
        return stored, False
    return item, True


def _enqueue(item_id: int) -> None:
    from channels_ingest.tasks import process_inbound

    try:
        process_inbound.delay(item_id)
    except Exception:
        # The broker is down: the item is stored, and the sweep will pick it up.
        logger.exception("could not queue inbound item %s; the sweep will retry", item_id)


def process(item_id: int, *, now: datetime | None = None) -> InboundItem | None:
    """Parse and ingest one stored item; safe to call twice or concurrently.

    The sender's faults end as REJECTED, ours as FAILED with the error (visible to
    admins, retried from the admin). Database trouble propagates so the task retries.
    """
    with transaction.atomic():
        item = (
            InboundItem.objects.select_for_update(skip_locked=True)
            .filter(pk=item_id, status__in=[InboundStatus.RECEIVED, InboundStatus.FAILED])
            .first()
        )
        if item is None:
            return None  # already done, or another worker holds it
        item.attempts += 1
        try:
            with transaction.atomic():
                result = services.ticket_ingest(inbound=parse(item))
        except (Rejected, DomainError) as refusal:
            reason = refusal.reason if isinstance(refusal, Rejected) else refusal.message
            logger.info("inbound item %s rejected: %s", item.pk, reason)
            item.status, item.error = InboundStatus.REJECTED, reason
        except DatabaseError:
            raise
        except Exception as error:  # ours: record it for the admins and move on
            logger.exception("inbound item %s failed", item.pk)
            item.status, item.error = InboundStatus.FAILED, f"{type(error).__name__}: {error}"
        else:
            item.status, item.error = InboundStatus.PROCESSED, ""
            item.outcome = result.outcome
            item.ticket_id, item.message_id = result.ticket.pk, result.message.pk
        item.processed_at = now or timezone.now()
        item.save(update_fields=_PROCESSED_FIELDS)  # not the payload: it can be megabytes
    return item


def parse(item: InboundItem) -> InboundMessage:
    parser: Callable[[bytes], InboundMessage] = import_string(PARSERS[item.channel])
    return parser(bytes(item.payload))


def sweep(*, now: datetime | None = None) -> list[int]:
    """Ids of items stored but never processed (a worker died); the caller re-queues them."""
    cutoff = (now or timezone.now()) - STALE_AFTER
    return list(
        InboundItem.objects.filter(
            status=InboundStatus.RECEIVED, received_at__lt=cutoff
        ).values_list("pk", flat=True)[:1000]
    )


def retry(item_ids: list[int]) -> int:
    """Admin action: put failed items back in line."""
    count = InboundItem.objects.filter(pk__in=item_ids, status=InboundStatus.FAILED).update(
        status=InboundStatus.RECEIVED, error=""
    )
    for item_id in item_ids:
        transaction.on_commit(partial(_enqueue, item_id))
    return count
