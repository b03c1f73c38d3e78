"""What providers report about messages we sent: sent, delivered, delayed, failed, marked
as spam (the last two may flag the address: tickets.services.undeliverable)."""

from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from helpdesk.languages import default_language
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
    MessagePart,
    TicketParticipant,
)

# The module, not its function: notices (through outbound) imports this module.
from tickets.services import notices, undeliverable
from tickets.services._common import record_event

# How far along a message is; a report never moves it back. Delivered and failed are final:
# a late "sent" after "delivered", or a repeated "failed", changes nothing. Only a hard
# bounce fails an email reported delivered (_bounced_after_delivery).
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
# A delay warning that gave no reason.
_DELAYED = "no reason given"


def message_record_delivery(
    *,
    provider_id: str,
    status: str,
    error: str = "",
    recipient: str = "",
    at: datetime | None = None,
    permanent: bool = True,
) -> Message | None:
    """Record a provider's delivery report on the outbound message it sent as `provider_id`.

    Returns the message (changed or not), or None when no outbound message has that id.
    A failure is written to the ticket's history as a DELIVERY_FAILED event. `recipient`:
    whom the report is about, when the provider says (a copy's bounce does not fail the
    message to the customer). `at`: the provider's time of it (else now); `permanent`: a
    failure says the address is gone (a hard bounce: it is flagged, undeliverable), not
    that it could not take this message (a soft bounce, e.g. a full mailbox).
    """
    if status not in _REPORTABLE:
        raise InvalidInput(
            _("Unknown delivery status %(status)r.") % {"status": status}, code="invalid_status"
        )
    if not provider_id:
        return None
    at = at or timezone.now()
    reported = DeliveryStatus(status)
    with transaction.atomic():
        message, part = _locked_reported(provider_id)
        if message is not None and part is not None:
            reported, error = _part_reported(message, part, reported, error)
        if message is not None:
            hard = reported == DeliveryStatus.FAILED and permanent and bool(recipient)
            _record(message, reported, error, recipient, hard_at=at if hard else None)
            if hard:
                undeliverable.address_record_bounce(
                    message=message, recipient=recipient, reason=error, at=at
                )
            elif status == DeliveryStatus.DELIVERED and recipient:
                undeliverable.address_record_delivery(message=message, recipient=recipient, at=at)
    return message


def message_record_delay(*, provider_id: str, reason: str) -> Message | None:
    """The provider is still trying (the receiving server deferred it): shown on the sent
    message, as "delayed", until the delivery or bounce that ends it. None: not ours."""
    if not provider_id:
        return None
    with transaction.atomic():
        message = _locked_outbound(provider_id)
        if message is not None:
            _delayed(message, reason)
    return message


def message_record_complaint(
    *, provider_id: str, recipient: str, reason: str, at: datetime | None = None
) -> Message | None:
    """The recipient marked the message as spam: their address is flagged, and automatic
    notices stop going to it. The message itself was delivered. None: not ours."""
    if not provider_id:
        return None
    with transaction.atomic():
        message = _locked_outbound(provider_id)
        if message is not None and recipient:
            undeliverable.address_record_complaint(
                message=message, recipient=recipient, reason=reason, at=at or timezone.now()
            )
    return message


def _locked_reported(provider_id: str) -> tuple[Message | None, MessagePart | None]:
    """The outbound message a report names, locked, and the part of it the report is about
    when it went out in parts (a long text: each part has its own id)."""
    part = MessagePart.objects.filter(provider_id=provider_id).order_by("id").first()
    if part is None:
        return _locked_outbound(provider_id), None
    message = (
        Message.objects.select_for_update()
        .select_related("ticket")
        .filter(pk=part.message_id, kind=MessageKind.OUTBOUND)
        .first()
    )
    if message is None:
        return None, None
    # Read again under the message's lock: a report on another part may have moved it.
    part.refresh_from_db(fields=["delivery_status"])
    return message, part


def _part_reported(
    message: Message, part: MessagePart, status: DeliveryStatus, error: str
) -> tuple[DeliveryStatus, str]:
    """Record a report on one part (never moving it back); what it says of the whole message:
    failed when this part failed (saying which), delivered once every part is, else sent."""
    if _RANK[status] > _RANK[DeliveryStatus(part.delivery_status)]:
        part.delivery_status = status
        part.save(update_fields=["delivery_status"])
    statuses = list(message.parts.values_list("delivery_status", flat=True))
    if status == DeliveryStatus.FAILED:
        with translation.override(default_language()):
            said = _("Part %(number)s of %(total)s: %(reason)s") % {
                "number": part.position,
                "total": len(statuses),
                "reason": error,
            }
        return DeliveryStatus.FAILED, said
    if all(each == DeliveryStatus.DELIVERED for each in statuses):
        return DeliveryStatus.DELIVERED, ""
    return DeliveryStatus.SENT, ""


def _locked_outbound(provider_id: str) -> Message | None:
    return (
        Message.objects.select_for_update()
        .select_related("ticket")
        .filter(provider_id=provider_id, kind=MessageKind.OUTBOUND)
        .order_by("id")
        .first()
    )


def message_record_bounce(*, report: DeliveryReport) -> Message | None:
    """Record a mail server's delivery report (a bounce) on the email we sent that it names
    by Message-ID; None when it names none of ours. A delay warning shows on the message;
    a permanent failure (5.x.x) flags the address too."""
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
        if message is not None and not report.failed:
            _delayed(message, report.reason)
        elif message is not None:
            now = timezone.now()
            for recipient in report.failed_recipients or ("",):
                hard = recipient in report.permanent_recipients
                _record(
                    message, DeliveryStatus.FAILED, report.reason, recipient,
                    hard_at=now if hard else None,
                )  # fmt: skip
            for recipient in report.permanent_recipients:
                undeliverable.address_record_bounce(
                    message=message, recipient=recipient, reason=report.reason, at=now
                )
    return message


def _delayed(message: Message, reason: str) -> None:
    """Only a message still on its way: a late delay warning after the delivery or the
    bounce changes nothing."""
    if message.delivery_status == DeliveryStatus.SENT:
        message.delivery_error = reason or _DELAYED
        message.save(update_fields=["delivery_error"])


def _record(
    message: Message,
    status: DeliveryStatus,
    error: str,
    recipient: str,
    *,
    hard_at: datetime | None = None,
) -> None:
    """Move the message on to `status`, never back. `hard_at`: a hard bounce's time."""
    if status == DeliveryStatus.FAILED and recipient and _copied_only(message, recipient):
        _failure_event(message, error, recipient=recipient)
        return
    current = DeliveryStatus(message.delivery_status or DeliveryStatus.NOT_APPLICABLE)
    if _RANK[status] <= _RANK[current] and not (
        hard_at is not None
        and current == DeliveryStatus.DELIVERED
        and _bounced_after_delivery(message, recipient, hard_at)
    ):
        return
    if status == DeliveryStatus.FAILED:
        _fail(message, error)
    else:
        message.delivery_status = status
        message.delivery_error = ""  # a delay it may have had is over
        message.save(update_fields=["delivery_status", "delivery_error"])


def _bounced_after_delivery(message: Message, recipient: str, at: datetime) -> bool:
    """An email reported delivered, then hard-bounced: the receiving server took it and gave
    it back later (an asynchronous bounce). It did not reach the customer, unless their
    address is known to have taken mail after the bounce (a report arriving late)."""
    if message.channel != Channel.EMAIL:
        return False
    point = (
        ContactPoint.objects.filter(kind=ContactKind.EMAIL, value=recipient.strip().lower())
        .only("deliverable_at")
        .first()
    )
    return point is None or point.deliverable_at is None or point.deliverable_at < at


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


def message_mark_sent(*, message_id: int, provider_id: str, parts: Sequence[str] = ()) -> None:
    """Our sender handed the message to the provider, which calls it `provider_id`. `parts`:
    the provider's id of each part, in order, when the message went out as several (a long
    text), so that a report on any part finds it. A message sent whole: one statement."""
    sent = Message.objects.filter(pk=message_id, delivery_status=DeliveryStatus.PENDING)
    values = {
        "delivery_status": DeliveryStatus.SENT,
        "provider_id": provider_id[:255],
        "delivery_error": "",
    }
    if len(parts) <= 1:
        sent.update(**values)
        return
    with transaction.atomic():
        if sent.update(**values):
            MessagePart.objects.bulk_create(
                MessagePart(message_id=message_id, position=position, provider_id=part[:255])
                for position, part in enumerate(parts, start=1)
            )


def message_mark_failed(*, message_id: int, reason: str) -> None:
    """Sending failed for good: shown on the message and in the ticket's history."""
    with transaction.atomic():
        message = Message.objects.select_for_update().select_related("ticket").get(pk=message_id)
        if message.delivery_status not in _FINAL:
            _fail(message, reason)


def message_mark_suppressed(*, message_id: int, reason: str, **why: str) -> None:
    """An automatic message held back, never sent: shown on it and in the ticket's history
    (once, however often its task runs). `why`: what the history says of it, e.g. the
    flagged address it would have gone to."""
    with transaction.atomic():
        message = Message.objects.select_for_update().select_related("ticket").get(pk=message_id)
        if message.delivery_status != DeliveryStatus.PENDING:
            return
        message.delivery_status = DeliveryStatus.SUPPRESSED
        message.delivery_error = reason
        message.save(update_fields=["delivery_status", "delivery_error"])
        record_event(
            message.ticket,
            EventKind.DELIVERY_HELD,
            actor=None,
            message=message.pk,
            reason=reason,
            **why,
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
