"""Sending a pending outbound message on its channel, at most once at a time."""

from collections.abc import Callable
from datetime import timedelta

from django.core.cache import cache
from django.utils import timezone
from django.utils.module_loading import import_string

from channels_ingest import outbox as outboxes
from channels_ingest.errors import DeliveryError
from channels_ingest.outbox import Outbox
from tickets import services
from tickets.collab import services as collab
from tickets.models import DeliveryStatus, Message, MessageKind, SideMessage, SideMessageKind

SENDERS = {
    "email": "channels_ingest.email.send.deliver_email",
    "sms": "channels_ingest.sms.send.deliver_sms",
}
# A reply still pending this long after it was written lost its task (e.g. broker down).
STALE_AFTER = timedelta(minutes=5)
_LOCK_SECONDS = 300


def deliver(message_id: int, outbox: Outbox | None = None) -> None:
    """Send the message if it is still pending; a repeated or concurrent call sends nothing.
    `outbox`: the connections a batch shares (channels_ingest.outbox); one of its own if none.

    The lock and the automatic-mail limit are in the cache: when it is down this raises,
    and the task retries (the message stays pending until then)."""
    lock = f"deliver-message:{message_id}"
    if not cache.add(lock, 1, timeout=_LOCK_SECONDS):
        return  # another worker is sending it right now
    try:
        message = (
            Message.objects.select_related("ticket", "ticket__customer")
            .filter(
                pk=message_id, kind=MessageKind.OUTBOUND, delivery_status=DeliveryStatus.PENDING
            )
            .first()
        )
        if message is None:
            return
        if message.is_automatic and not services.automatic_reply_allowed(message=message):
            return  # held back: over its address's hourly limit
        send = _sender_for(message.channel)
        if outbox is None:
            with outboxes.opened() as own:
                provider_id = send(message, own)
        else:
            provider_id = send(message, outbox)
        services.message_mark_sent(message_id=message.pk, provider_id=provider_id)
    finally:
        cache.delete(lock)


def _sender_for(channel: str) -> Callable[[Message, Outbox], str]:
    if channel not in SENDERS:
        raise DeliveryError(f"Replies on the {channel} channel cannot be sent.", permanent=True)
    return import_string(SENDERS[channel])


def stale_pending() -> list[int]:
    return services.pending_deliveries(older_than=timezone.now() - STALE_AFTER)


def deliver_side(side_message_id: int) -> None:
    """Send a side conversation's message (to its third party) if it is still pending; a
    repeated or concurrent call sends nothing."""
    from channels_ingest.email.send import deliver_side_email

    lock = f"deliver-side-message:{side_message_id}"
    if not cache.add(lock, 1, timeout=_LOCK_SECONDS):
        return
    try:
        message = (
            SideMessage.objects.select_related("conversation__ticket")
            .filter(
                pk=side_message_id,
                kind=SideMessageKind.OUTBOUND,
                delivery_status=DeliveryStatus.PENDING,
            )
            .first()
        )
        if message is None:
            return
        provider_id = deliver_side_email(message)
        collab.side_message_mark_sent(message_id=message.pk, provider_id=provider_id)
    finally:
        cache.delete(lock)


def stale_side_pending() -> list[int]:
    return collab.pending_side_deliveries(older_than=timezone.now() - STALE_AFTER)
