"""What providers report about messages we sent: sent, delivered, failed."""

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from tickets.errors import InvalidInput
from tickets.inbound import DeliveryReport
from tickets.models import (
    Channel,
    ContactKind,
    ContactPoint,
    DeliveryStatus,
    EventKind,
    Message,
    MessageKind,
    TicketParticipant,
)

# The module, not its function: notices (through outbound) imports this module.
from tickets.services import notices
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


def message_record_delivery(
    *, provider_id: str, status: str, error: str = "", recipient: str = ""
) -> Message | None:
    """Record a provider's delivery report on the outbound message it sent as `provider_id`.

    Returns the message (changed or not), or None when no outbound message has that id.
    A failure is written to the ticket's history as a DELIVERY_FAILED event. `recipient`:
    whom the report is about, when the provider says (a copy's bounce does not fail the
    message to the customer).
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
            .select_related("ticket")
            .filter(provider_id=provider_id, kind=MessageKind.OUTBOUND)
            .order_by("id")
            .first()
        )
        if message is not None:
            _record(message, DeliveryStatus(status), error, recipient)
    return message


def message_record_bounce(*, report: DeliveryReport) -> Message | None:
    """Record a mail server's delivery report (a bounce) on the email we sent that it names
    by Message-ID; None when it names none of ours. A delay warning changes nothing."""
    if not report.message_ids:
        return None
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .select_related("ticket")
            .filter(
                channel=Channel.EMAIL,
                kind=MessageKind.OUTBOUND,
                external_id__in=report.message_ids,
            )
            .order_by("id")
            .first()
        )
        if message is not None and report.failed:
            for recipient in report.failed_recipients or ("",):
                _record(message, DeliveryStatus.FAILED, report.reason, recipient)
    return message


def _record(message: Message, status: DeliveryStatus, error: str, recipient: str) -> None:
    """Move the message on to `status`, never back."""
    if status == DeliveryStatus.FAILED and recipient and _copied_only(message, recipient):
        _failure_event(message, error, recipient=recipient)
        return
    current = DeliveryStatus(message.delivery_status or DeliveryStatus.NOT_APPLICABLE)
    if _RANK[status] <= _RANK[current]:
        return
    if status == DeliveryStatus.FAILED:
        _fail(message, error)
    else:
        message.delivery_status = status
        message.save(update_fields=["delivery_status"])


def _copied_only(message: Message, recipient: str) -> bool:
    """Whether `recipient` had the message as a copy (a participant), not as the customer."""
    address = recipient.strip().lower()
    is_participant = TicketParticipant.objects.filter(
        ticket_id=message.ticket_id, email__iexact=address
    ).exists()
    return is_participant and not (
        ContactPoint.objects.filter(
            customer_id=message.ticket.customer_id, kind=ContactKind.EMAIL, value__iexact=address
        ).exists()
    )


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
    _failure_event(message, reason)
    _tell_agents(message, reason)


def _failure_event(message: Message, reason: str, **copy: str) -> None:
    """In the ticket's history; `recipient=` when only a copy was not delivered."""
    record_event(
        message.ticket,
        EventKind.DELIVERY_FAILED,
        actor=None,
        message=message.pk,
        channel=message.channel,
        reason=reason,
        **copy,
    )


def _tell_agents(message: Message, reason: str) -> None:
    """Whoever wrote the message, and the ticket's assignee, learn it did not reach the
    customer (they would otherwise wait for an answer to something never read)."""
    ticket = message.ticket
    people = {pk for pk in (message.author_user_id, ticket.assignee_id) if pk is not None}
    if people:
        notices.notify_agents(
            user_ids=people,
            ticket=ticket,
            kind="delivery_failed",
            text=notices.Said(
                gettext_noop("%(reference)s: a message to the customer was not delivered: %(why)s"),
                {"reference": ticket.reference, "why": reason},
            ),
        )
