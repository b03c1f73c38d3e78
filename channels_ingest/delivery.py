"""Sending a pending outbound message on its channel, at most once at a time."""

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from datetime import timedelta

from django.core.cache import cache
from django.utils import timezone
from django.utils.module_loading import import_string

from channels_ingest import outbox as outboxes
from channels_ingest.errors import DeliveryError
from channels_ingest.outbox import Outbox
from tickets import services
from tickets.collab import services as collab
from tickets.models import Message, SideMessage
from tickets.outbound_selectors import ConversationRow, pending_outbound

logger = logging.getLogger(__name__)

SENDERS = {
    "email": "channels_ingest.email.send.deliver_email",
    "sms": "channels_ingest.sms.send.deliver_sms",
}
# A reply still pending this long after it was written lost its task (e.g. broker down).
STALE_AFTER = timedelta(minutes=5)
# How long a worker's claim on the messages it sends lasts: one that died holding it leaves
# them to the sweep after that. A batch sends nothing new after half of it.
CLAIM_SECONDS = 300
# How long a message sent but not recorded (the database failed on it) is remembered as
# sent, so that its retries and the sweep record it instead of sending it again.
_SENT_MEMORY_SECONDS = 7 * 24 * 3600


def deliver(message_id: int, outbox: Outbox | None = None) -> None:
    """Send the message if it is still pending; a repeated or concurrent call sends nothing.
    `outbox`: the connections a batch shares (channels_ingest.outbox); one of its own if none.

    The automatic-mail limit is counted in the cache: when it is down this raises, and the
    task retries (the message stays pending until then)."""
    failed = deliver_many([message_id], outbox)
    if message_id in failed:
        raise failed[message_id]


def deliver_many(message_ids: Sequence[int], outbox: Outbox | None = None) -> dict[int, Exception]:
    """Send those of the messages still pending, each by one worker at a time (a repeated or
    concurrent call sends nothing); returns what could not be sent now, by message id (a
    provider's DeliveryError, or our own trouble): those stay pending for the caller to
    retry or mark failed. One failing never stops the others.

    The messages are claimed for sending in the database, in one statement, so that two
    worker processes never send one message, whether or not they share a cache; the batch
    is read in a fixed number of queries (tickets.outbound_selectors); each message sent is
    recorded at once, in one statement. Messages still unsent when their claim nears its
    end are left to the caller."""
    failed: dict[int, Exception] = {}
    ids = list(dict.fromkeys(message_ids))
    try:
        unrecorded = _sent_unrecorded(ids)
    except Exception as error:  # cannot tell which went already: none is sent now
        return dict.fromkeys(ids, error)
    for message_id, provider_ids in unrecorded.items():
        # Sent before, the database failed on its record: recorded now, whoever holds it.
        _record_sent(message_id, provider_ids, failed)
    unsent = [message_id for message_id in ids if message_id not in unrecorded]
    if not unsent:
        return failed
    now = timezone.now()
    try:
        claim, taken = services.messages_claim_for_sending(
            message_ids=unsent, now=now, until=now + timedelta(seconds=CLAIM_SECONDS)
        )
    except Exception as error:
        failed.update(dict.fromkeys(unsent, error))
        return failed
    if taken:  # else all sent already, or being sent by another worker right now
        _deliver_claimed(unsent, claim, outbox, failed)
    return failed


def _deliver_claimed(
    message_ids: list[int], claim: str, outbox: Outbox | None, failed: dict[int, Exception]
) -> None:
    """Send the messages claimed with `claim`; the claim on those not sent is given back,
    so that their retry may claim them at once (if that fails, the claim runs out)."""
    claimed = list(message_ids)
    try:
        claimed = _send_claimed(message_ids, claim, outbox, failed)
    finally:
        unsent = [message_id for message_id in claimed if message_id in failed]
        if unsent:
            try:
                services.messages_release_claim(message_ids=unsent, claim=claim)
            except Exception as error:
                logger.warning("claims on %s messages left to run out: %s", len(unsent), error)


def _send_claimed(
    message_ids: list[int], claim: str, outbox: Outbox | None, failed: dict[int, Exception]
) -> list[int]:
    """Sends what the claim took; returns their ids."""
    started = time.monotonic()
    try:
        batch = pending_outbound(message_ids, claim=claim)
    except Exception as error:
        failed.update(dict.fromkeys(message_ids, error))
        return message_ids
    with ExitStack() as stack:
        for message in batch.messages:
            if time.monotonic() - started > CLAIM_SECONDS / 2:
                failed[message.pk] = DeliveryError(
                    "Not sent in time with its batch.", permanent=False
                )
                continue
            conversation = batch.conversation(message)
            try:
                if message.is_automatic and not services.automatic_reply_allowed(
                    message=message, conversation=conversation, flagged=batch.flagged
                ):
                    continue  # held back: over its address's hourly limit
                send = _sender_for(message.channel)
                if outbox is None:
                    outbox = stack.enter_context(outboxes.opened())  # the first one sent
                provider_ids = _as_list(send(message, outbox, conversation))
            except Exception as error:
                failed[message.pk] = error
                if outbox is not None and not (
                    isinstance(error, DeliveryError) and error.permanent
                ):
                    outbox.reconnect_mail()  # a broken session would fail every later one
                continue
            _record_sent(message.pk, provider_ids, failed)
    return [message.pk for message in batch.messages]


def _as_list(provider_ids: str | list[str]) -> list[str]:
    """A sender's ids: one for a message sent whole, one per part for a long text."""
    return [provider_ids] if isinstance(provider_ids, str) else list(provider_ids)


def _record_sent(message_id: int, provider_ids: list[str], failed: dict[int, Exception]) -> None:
    """Recorded at once, one statement: a worker that dies later in the batch leaves no sent
    message pending (the sweep would send it again), and a provider's delivery report, which
    names the id recorded here, finds it however soon it comes.

    If the database fails on it, the message is remembered as sent (in the cache) and
    returned as failed: its retry, or the sweep, records it without sending it again. With
    the cache down too, or the worker killed before this, it is sent again: at least once
    (and so it is on an install without Redis, whose cache is its process's own, when the
    retry runs in another worker process)."""
    try:
        _mark_sent(message_id, provider_ids)
    except Exception as error:
        failed[message_id] = error
        try:
            cache.set_many(
                {
                    _sent(message_id): provider_ids,
                    **{_sent_as(provider_id): message_id for provider_id in provider_ids},
                },
                timeout=_SENT_MEMORY_SECONDS,
            )
        except Exception as cache_error:
            logger.error(
                "message %s was sent but neither recorded nor remembered; it will be sent "
                "again: %s; %s",
                message_id,
                error,
                cache_error,
            )
        else:
            logger.warning("message %s sent; its record waits for a retry: %s", message_id, error)


def record_reported(provider_id: str) -> None:
    """A provider reports on the message it took as `provider_id`: if that is one whose
    sending the database failed to record, it is recorded now, so that the report finds it
    (and the record, waiting for a retry, cannot undo the report later)."""
    try:
        message_id = cache.get(_sent_as(provider_id)) if provider_id else None
    except Exception as error:
        logger.warning("could not look for an unrecorded message under a report: %s", error)
        return
    if message_id is not None:
        # Every part's id, so that reports on the other parts find it too.
        provider_ids = _as_list(cache.get(_sent(message_id)) or provider_id)
        _mark_sent(message_id, provider_ids)


def _mark_sent(message_id: int, provider_ids: list[str]) -> None:
    services.message_mark_sent(
        message_id=message_id, provider_id=provider_ids[0], parts=provider_ids
    )


def _sent_unrecorded(message_ids: list[int]) -> dict[int, list[str]]:
    """Those of the messages sent earlier but not recorded, with their provider's ids (one
    round trip to the cache)."""
    if not message_ids:
        return {}
    found = cache.get_many([_sent(message_id) for message_id in message_ids])
    return {
        message_id: _as_list(found[_sent(message_id)])
        for message_id in message_ids
        if _sent(message_id) in found
    }


def _queued(message_id: int) -> str:
    return f"deliver-queued:{message_id}"


def _sent(message_id: int) -> str:
    return f"delivered-unrecorded:{message_id}"


def _sent_as(provider_id: str) -> str:
    return f"delivered-unrecorded-as:{hashlib.sha256(provider_id[:255].encode()).hexdigest()}"


def _sender_for(
    channel: str,
) -> Callable[[Message, Outbox, list[ConversationRow]], str | list[str]]:
    if channel not in SENDERS:
        raise DeliveryError(f"Replies on the {channel} channel cannot be sent.", permanent=True)
    return import_string(SENDERS[channel])


def stale_pending() -> list[int]:
    """Messages pending too long, but those whose task is queued and waits to run (a retry's
    backoff): the sweep queues one task per message, not one more every time it runs."""
    now = timezone.now()
    pending = services.pending_deliveries(older_than=now - STALE_AFTER, now=now)
    try:
        waiting = cache.get_many([_queued(message_id) for message_id in pending])
    except Exception as error:  # queued twice at worst: sent once all the same (the claims)
        logger.warning("outbound sweep cannot tell which tasks wait: %s", error)
        return pending
    return [message_id for message_id in pending if _queued(message_id) not in waiting]


def expect_attempt(message_ids: Sequence[int], *, within: int) -> None:
    """A task for these messages was queued to run within `within` seconds: the sweep
    leaves them to it until then, and STALE_AFTER more (its broker may lose it)."""
    if not message_ids:
        return
    timeout = within + int(STALE_AFTER.total_seconds())
    try:
        cache.set_many({_queued(message_id): 1 for message_id in message_ids}, timeout=timeout)
    except Exception as error:
        logger.warning("the sweep may queue %s messages again: %s", len(message_ids), error)


def deliver_side(side_message_id: int) -> None:
    """Send a side conversation's message (to its third party) if it is still pending; a
    repeated or concurrent call sends nothing (it is claimed for sending, as a reply is)."""
    from channels_ingest.email.send import deliver_side_email

    now = timezone.now()
    message = collab.side_message_claim_for_sending(
        message_id=side_message_id, now=now, until=now + timedelta(seconds=CLAIM_SECONDS)
    )
    if message is None:
        return  # sent already, or being sent by another worker
    try:
        provider_id = deliver_side_email(message)
    except Exception:
        _release_side(message)
        raise
    collab.side_message_mark_sent(message_id=message.pk, provider_id=provider_id)


def _release_side(message: SideMessage) -> None:
    try:
        collab.side_message_release_claim(message=message)
    except Exception as error:
        logger.warning("claim on side message %s left to run out: %s", message.pk, error)


def stale_side_pending() -> list[int]:
    now = timezone.now()
    return collab.pending_side_deliveries(older_than=now - STALE_AFTER, now=now)
