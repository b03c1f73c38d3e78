"""What providers report about messages we sent: sent, delivered, failed."""

from django.db import transaction
from django.utils.translation import gettext as _

from tickets.errors import InvalidInput
from tickets.models import DeliveryStatus, EventKind, Message, MessageKind
from tickets.services._common import record_event

# How far along a message is; a report never moves it back. Delivered and failed are final:
# a late "sent" after "delivered", or a repeated "failed", changes nothing.
_RANK = {
    DeliveryStatus.NOT_APPLICABLE: 0,
    DeliveryStatus.PENDING: 0,
    DeliveryStatus.SENT: 1,
    DeliveryStatus.DELIVERED: 2,
    DeliveryStatus.FAILED: 2,
    DeliveryStatus.SUPPRESSED: 2,
}
_FINAL = (DeliveryStatus.FAILED, DeliveryStatus.DELIVERED, DeliveryStatus.SUPPRESSED)
_REPORTABLE = (DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.FAILED)


def message_record_delivery(*, provider_id: str, status: str, error: str = "") -> Message | None:
    """Record a provider's delivery report on the outbound message it sent as `provider_id`.

    Returns the message (changed or not), or None when no outbound message has that id.
    A failure is written to the ticket's history as a DELIVERY_FAILED event.
    """
    if status not in _REPORTABLE:
        raise InvalidInput(
            _("Unknown delivery status %(status)r.") % {"status": status}, code="invalid_status"
        )
    if not provider_id:
        return None
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .filter(provider_id=provider_id, kind=MessageKind.OUTBOUND)
            .order_by("id")
            .first()
        )
        if message is None:
            return None
        current = DeliveryStatus(message.delivery_status or DeliveryStatus.NOT_APPLICABLE)
        if _RANK[DeliveryStatus(status)] <= _RANK[current]:
            return message
        if status == DeliveryStatus.FAILED:
            _fail(message, error)
        else:
            message.delivery_status = status
            message.save(update_fields=["delivery_status"])
    return message


def message_mark_sent(*, message_id: int, provider_id: str) -> None:
    """Our sender handed the message to the provider, which calls it `provider_id`."""
    Message.objects.filter(pk=message_id, delivery_status=DeliveryStatus.PENDING).update(
        delivery_status=DeliveryStatus.SENT, provider_id=provider_id[:255], delivery_error=""
    )


def message_mark_failed(*, message_id: int, reason: str) -> None:
    """Sending failed for good: shown on the message and in the ticket's history."""
    with transaction.atomic():
        message = Message.objects.select_for_update().select_related("ticket").get(pk=message_id)
        if message.delivery_status not in _FINAL:
            _fail(message, reason)


def message_mark_suppressed(*, message_id: int, reason: str) -> None:
    """An automatic message held back, never sent: shown on it and in the ticket's history."""
    with transaction.atomic():
        message = Message.objects.select_for_update().select_related("ticket").get(pk=message_id)
        if message.delivery_status != DeliveryStatus.PENDING:
            return
        message.delivery_status = DeliveryStatus.SUPPRESSED
        message.delivery_error = reason
        message.save(update_fields=["delivery_status", "delivery_error"])
        record_event(
            message.ticket, EventKind.DELIVERY_HELD, actor=None, message=message.pk, reason=reason
        )


def _fail(message: Message, reason: str) -> None:
    message.delivery_status = DeliveryStatus.FAILED
    message.delivery_error = reason
    message.save(update_fields=["delivery_status", "delivery_error"])
    record_event(
        message.ticket,
        EventKind.DELIVERY_FAILED,
        actor=None,
        message=message.pk,
        channel=message.channel,
        reason=reason,
    )
