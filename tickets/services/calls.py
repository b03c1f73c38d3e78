"""Phone calls logged by agents: a message on the phone channel with the call's details."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets import metrics
from tickets.contacts import normalize_phone
from tickets.errors import Conflict, InvalidInput
from tickets.inbound import InboundCall, InboundMessage
from tickets.models import (
    CallDirection,
    CallLog,
    Channel,
    ContactKind,
    ContactPoint,
    EventKind,
    Message,
    MessageKind,
    Ticket,
    TicketStatus,
)
from tickets.services._common import Actor, lock_ticket, record_event, refuse_if_merged
from tickets.services.messages import ticket_open
from tickets.services.transitions import apply_transition

# An agent on the phone with the customer is already past self-service.
AGENT_TIER = 1


def ticket_log_call(
    *,
    actor: Actor,
    phone_number: str,
    direction: str,
    duration_seconds: int,
    notes: str,
    ticket: Ticket | None = None,
    subject: str = "",
    now: datetime | None = None,
) -> Message:
    """Log a call on a ticket, or open a phone ticket for the caller with it."""
    if direction not in CallDirection.values:
        raise InvalidInput(
            _("Unknown call direction %(direction)r.") % {"direction": direction},
            code="invalid_direction",
        )
    if duration_seconds < 0:
        raise InvalidInput(_("A call cannot last less than nothing."), code="invalid_duration")
    if not notes.strip():
        raise InvalidInput(_("Write what the call was about."), code="empty_message")
    number = normalize_phone(phone_number)
    now = now or timezone.now()
    call = InboundCall(direction=direction, phone_number=number, duration_seconds=duration_seconds)
    if ticket is None:
        return _open_with_call(actor, number, call, notes, subject, now)
    with transaction.atomic():
        ticket = lock_ticket(ticket)
        refuse_if_merged(ticket)
        if ticket.status == TicketStatus.CLOSED:
            raise Conflict(
                _("%(reference)s is closed.") % {"reference": ticket.reference},
                code="ticket_closed",
            )
        inbound = direction == CallDirection.INBOUND
        message = Message.objects.create(
            ticket=ticket,
            kind=MessageKind.INBOUND if inbound else MessageKind.OUTBOUND,
            channel=Channel.PHONE,
            author_user=actor,
            author_customer=ticket.customer if inbound else None,
            sender=number if inbound else "",
            body_text=notes,
            created_at=now,
        )
        CallLog.objects.create(
            message=message,
            direction=direction,
            phone_number=number,
            duration_seconds=duration_seconds,
        )
        _remember_number(ticket, number)
        record_event(
            ticket,
            EventKind.CALL_LOGGED,
            actor=actor,
            message=message.pk,
            direction=direction,
            duration_seconds=duration_seconds,
        )
        _mark_answered(ticket, actor, now)
    return message


def _open_with_call(
    actor: Actor, number: str, call: InboundCall, notes: str, subject: str, now: datetime
) -> Message:
    with transaction.atomic():
        result = ticket_open(
            inbound=InboundMessage(
                channel=Channel.PHONE,
                sender_kind=ContactKind.PHONE,
                sender=number,
                subject=subject or notes,
                text=notes,
                call=call,
            ),
            tier_level=AGENT_TIER,
            actor=actor,
            now=now,
        )
        message = result.message
        message.author_user = actor
        message.save(update_fields=["author_user"])
        ticket = lock_ticket(result.ticket)
        record_event(
            ticket,
            EventKind.CALL_LOGGED,
            actor=actor,
            message=message.pk,
            direction=call.direction,
            duration_seconds=call.duration_seconds,
        )
        _mark_answered(ticket, actor, now)
    return message


def _remember_number(ticket: Ticket, number: str) -> None:
    """A number we talked to the customer on becomes theirs, unless someone else has it."""
    if not ContactPoint.objects.filter(kind=ContactKind.PHONE, value=number).exists():
        ContactPoint.objects.create(customer=ticket.customer, kind=ContactKind.PHONE, value=number)


def _mark_answered(ticket: Ticket, actor: Actor, now: datetime) -> None:
    """Talking to the customer is a response; a new ticket is then open."""
    if ticket.status == TicketStatus.NEW:
        apply_transition(ticket, TicketStatus.OPEN, actor=actor, now=now)
    if actor is not None:
        if ticket.first_responded_at is None:
            ticket.first_responded_at = now
        metrics.agent_replied(ticket, None, now)
    ticket.last_message_at = now
    ticket.save(
        update_fields=[
            "status",
            "status_since",
            "first_responded_at",
            "last_message_at",
            "awaiting_reply_since",
            "updated_at",
        ]
    )
    metrics.save(ticket)
