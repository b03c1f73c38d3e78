"""Outbound messages after they are written: queue them for sending, record what happened.

Sending itself is a channel's job (channels_ingest); the domain only knows that a pending
message must be delivered after commit, by the task named in HELPDESK_DELIVERY_TASK (or,
for many at once, HELPDESK_DELIVERY_BATCH_TASK).
"""

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from helpdesk.ratelimit import count_hit
from tickets.addressing import new_message_id
from tickets.models import (
    Channel,
    ContactKind,
    ContactPoint,
    DeliveryStatus,
    Message,
    MessageKind,
    Ticket,
)
from tickets.outbound_selectors import ConversationRow, conversations_of, latest_inbound
from tickets.services import sending_claims, undeliverable
from tickets.services.delivery import message_mark_suppressed

logger = logging.getLogger(__name__)

# Channels whose replies are sent by a provider; a reply "on the phone" is a call note.
DELIVERED_CHANNELS = {Channel.EMAIL, Channel.SMS, Channel.CHAT}


# What deliveries_together collects in this thread (None: each is queued by itself).
_together = threading.local()
# Messages one delivery task sends at most.
DELIVERY_BATCH = 100


@contextmanager
def deliveries_together() -> Iterator[None]:
    """Within it, the messages scheduled for delivery are queued when the transaction
    commits as one task per DELIVERY_BATCH of them (HELPDESK_DELIVERY_BATCH_TASK), not one
    task each: a batch of new tickets, each with its notice, is one publish to the broker
    and one task, not a hundred. What is collected is dropped if the block fails (its
    writes roll back with the transaction); a message a savepoint within it rolled back is
    found missing by the task, and skipped."""
    if getattr(_together, "ids", None) is not None:
        yield  # collected by the enclosing block
        return
    ids: list[int] = []
    _together.ids = ids
    try:
        yield
    finally:
        _together.ids = None
    if ids:
        transaction.on_commit(partial(_enqueue_deliveries, ids))


def _enqueue_deliveries(message_ids: list[int]) -> None:
    for start in range(0, len(message_ids), DELIVERY_BATCH):
        batch = message_ids[start : start + DELIVERY_BATCH]
        try:
            import_string(settings.HELPDESK_DELIVERY_BATCH_TASK).delay(batch)
        except Exception:
            logger.exception("could not queue delivery of %s messages", len(batch))


def schedule_delivery(message_id: int) -> None:
    """Queue the sending task when the current transaction commits."""
    collected = getattr(_together, "ids", None)
    if collected is not None:
        collected.append(message_id)
        return

    def enqueue() -> None:
        try:
            import_string(settings.HELPDESK_DELIVERY_TASK).delay(message_id)
        except Exception:
            # The broker is down: the message stays pending and the outbound sweep retries.
            logger.exception("could not queue delivery of message %s", message_id)

    transaction.on_commit(enqueue)


def pending_deliveries(*, older_than: datetime, now: datetime | None = None) -> list[int]:
    """Messages still pending after their task should have run (e.g. the broker was down),
    oldest first, up to 500 a sweep (through their own small index, message_pending_idx);
    not those a worker is sending now (claimed, the claim not run out)."""
    return list(
        Message.objects.filter(
            sending_claims.unclaimed(now or timezone.now()),
            kind=MessageKind.OUTBOUND,
            delivery_status=DeliveryStatus.PENDING,
            created_at__lt=older_than,
        )
        .order_by("created_at", "id")
        .values_list("pk", flat=True)[:500]
    )


def messages_claim_for_sending(
    *, message_ids: Sequence[int], now: datetime, until: datetime
) -> tuple[str, int]:
    """Claim, for the caller to send until `until`, those of the messages that are outbound,
    still pending and held by no other worker process; returns the claim's token and how
    many it took (tickets.outbound_selectors reads them by the token). One statement for
    the batch (tickets.services.sending_claims)."""
    rows = Message.objects.filter(pk__in=list(message_ids), kind=MessageKind.OUTBOUND)
    return sending_claims.claim_for_sending(rows, now=now, until=until)


def messages_release_claim(*, message_ids: Sequence[int], claim: str) -> None:
    """Give back the claim on those of the messages the caller could not send (they stay
    pending, for a retry to claim at once); another worker's claim is left alone."""
    rows = Message.objects.filter(pk__in=list(message_ids))
    sending_claims.release_claim(rows, claim=claim)


def ticket_send_automatic_reply(
    *,
    ticket: Ticket,
    text: str,
    subject: str = "",
    now: datetime | None = None,
    answering: Message | None = None,
) -> Message | None:
    """An automatic message to the customer (e.g. "we received your request"), by text
    message if they wrote by SMS, else by email. `answering`: the customer's message it
    answers, when the caller has it (else their latest is read).

    Never sent in answer to automatic mail. Written as pending, in the caller's
    transaction and without asking anything but the database: the hourly limit per address
    (so that two help desks, or an auto-responder, cannot mail each other forever) is
    checked when it is sent (`automatic_reply_allowed`), so an outage of the cache delays
    the notice and never costs the customer's message it answers.
    """
    message = automatic_reply_row(
        ticket=ticket, text=text, subject=subject, now=now, answering=answering
    )
    if message is not None:
        message.save(force_insert=True)
        schedule_delivery(message.pk)
    return message


def automatic_reply_row(
    *,
    ticket: Ticket,
    text: str,
    subject: str = "",
    now: datetime | None = None,
    answering: Message | None = None,
) -> Message | None:
    """ticket_send_automatic_reply's message, not yet written (nor scheduled), or None."""
    latest = answering or (
        ticket.messages.filter(kind=MessageKind.INBOUND).order_by("-created_at").first()
    )
    if latest is None or latest.is_automatic:
        return None
    channel, address = _automatic_destination(ticket, latest)
    if not address:
        return None
    return Message(
        ticket=ticket,
        kind=MessageKind.OUTBOUND,
        channel=channel,
        subject=subject[:255],
        body_text=text,
        is_automatic=True,
        external_id=new_message_id(ticket.pk) if channel == Channel.EMAIL else None,
        delivery_status=DeliveryStatus.PENDING,
        created_at=now or timezone.now(),
    )


def automatic_reply_allowed(
    *,
    message: Message,
    now: datetime | None = None,
    conversation: list[ConversationRow] | None = None,
    flagged: dict[str, ContactPoint] | None = None,
) -> bool:
    """Whether an automatic message may be sent now. One over its address's hourly limit is
    marked SUPPRESSED (never sent, shown to agents) and False is returned. `conversation`
    and `flagged`: its ticket's and the batch's flagged addresses, when read for a batch
    (tickets.outbound_selectors; else read here).

    Counts in the cache, once per message (a retried send is not counted again): an outage
    of it raises, and the sending task retries. An email to an address flagged undeliverable
    (it hard-bounced, or its owner marked our mail as spam) is held back the same way.
    """
    held = undeliverable.flagged_destination(message, conversation, flagged)
    if held is not None:
        logger.info("automatic message %s suppressed: its address is flagged", message.pk)
        message_mark_suppressed(
            message_id=message.pk,
            reason=undeliverable.held_reason(held),
            address=held.value,
            flag=held.undeliverable,
            since=held.undeliverable_at.isoformat() if held.undeliverable_at else "",
        )
        return False
    if not cache.add(f"automatic-mail-counted:{message.pk}", 1, timeout=3600):
        return True  # counted and allowed already: this is a retry
    if conversation is None:
        conversation = conversations_of([message.ticket_id])[message.ticket_id]
    latest = latest_inbound(conversation)
    _, address = _automatic_destination(message.ticket, latest) if latest else ("", "")
    address = address or f"ticket {message.ticket_id}"
    now = now or timezone.now()
    sent = count_hit(f"automatic-mail:{address}:{now:%Y%m%d%H}", window_seconds=3600)
    if sent <= settings.HELPDESK_AUTOMATIC_MAIL_PER_HOUR:
        return True
    logger.info("automatic message %s suppressed: hourly limit reached", message.pk)
    message_mark_suppressed(
        message_id=message.pk,
        reason=f"Not sent: more than {settings.HELPDESK_AUTOMATIC_MAIL_PER_HOUR} automatic "
        "messages to this address in an hour (a loop with an auto-responder?).",
    )
    return False


def _automatic_destination(ticket: Ticket, latest: Message | ConversationRow) -> tuple[str, str]:
    if latest.channel == Channel.SMS and latest.sender:
        return Channel.SMS, latest.sender
    address = latest.sender if latest.channel == Channel.EMAIL else ""
    if not address:
        # The last email address in their order (kind, value); read with a batch, or here.
        emails = [p for p in ticket.customer.contact_points.all() if p.kind == ContactKind.EMAIL]
        address = emails[-1].value if emails else ""
    return Channel.EMAIL, address


def schedule_agent_emails(notification_ids: list[int]) -> None:
    """Email notifications to the agents who asked for it, after commit."""
    if not notification_ids:
        return

    def enqueue() -> None:
        try:
            import_string(settings.HELPDESK_AGENT_EMAIL_TASK).delay(notification_ids)
        except Exception:
            logger.exception("could not queue notification emails")

    transaction.on_commit(enqueue)
