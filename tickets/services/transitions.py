"""The one map of allowed status changes, and the one function that applies them."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets import metrics, policy
from tickets.errors import InvalidTransition
from tickets.fields.selectors import missing_to_solve
from tickets.models import EventKind, NoticeKind, Ticket, TicketEvent, TicketStatus
from tickets.services import sla_clocks
from tickets.services._common import (
    Actor,
    in_sentence,
    lock_ticket,
    new_event,
    record_events,
    refuse_if_merged,
)
from tickets.services.notices import notify_customer

S = TicketStatus
# A ticket is solved once resolved or closed: the fields required when solving are asked
# for on the way there (the first time; closing a resolved ticket asks nothing more).
SOLVED = (S.RESOLVED, S.CLOSED)
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.NEW: frozenset({S.OPEN, S.PENDING_CUSTOMER, S.ON_HOLD, S.RESOLVED, S.CLOSED}),
    S.OPEN: frozenset({S.PENDING_CUSTOMER, S.ON_HOLD, S.RESOLVED, S.CLOSED}),
    S.PENDING_CUSTOMER: frozenset({S.OPEN, S.ON_HOLD, S.RESOLVED, S.CLOSED}),
    S.ON_HOLD: frozenset({S.OPEN, S.PENDING_CUSTOMER, S.RESOLVED, S.CLOSED}),
    # Reopening a resolved ticket is allowed; a closed ticket is final (a follow-up is new).
    S.RESOLVED: frozenset({S.OPEN, S.CLOSED}),
    S.CLOSED: frozenset(),
}


def apply_transition(
    ticket: Ticket,
    to_status: str,
    *,
    actor: Actor,
    now: datetime,
    reason: str = "",
    tell_customer: bool = True,
    lacking: list[str] | None = None,
) -> None:
    """Change the status of an already locked ticket and record it; the caller saves.

    What a status change does happens here, whichever door asked for it (a status change,
    a reply that resolves, a macro, a bulk action): the SLA clocks follow, and resolving
    tells the customer and asks for their rating (the resolution notice with the survey
    link), unless `tell_customer` is off (the customer said so themselves). The metrics
    follow too; the caller writes them (metrics.save) as it writes the ticket. `lacking`:
    as refuse_transition takes it."""
    from_status = ticket.status
    refuse_transition(ticket, to_status, actor=actor, lacking=lacking)
    set_status(ticket, to_status, now=now)
    sla_clocks.status_changed(ticket, from_status, to_status, now)
    record_events([status_event(ticket, from_status, actor=actor, reason=reason)])
    if to_status == S.RESOLVED and tell_customer:
        notify_customer(ticket=ticket, kind=NoticeKind.RESOLVED, now=now)


def refuse_transition(
    ticket: Ticket, to_status: str, *, actor: Actor, lacking: list[str] | None = None
) -> None:
    """Raise unless the map (and, for closing, the policy) lets the ticket go there, and,
    when a person on staff solves it, unless it has the fields required when solving.
    `lacking`: those it lacks, when the caller read them for many tickets at once
    (tickets.fields.selectors.missing_to_solve); else they are read here."""
    policy.refuse_unless_works_tickets(actor, _("change a ticket's status"))
    if to_status not in ALLOWED_TRANSITIONS:
        raise InvalidTransition(
            _("Unknown status %(to_status)r.") % {"to_status": to_status}, code="invalid_status"
        )
    if to_status not in ALLOWED_TRANSITIONS[ticket.status]:
        raise InvalidTransition(
            _("%(reference)s cannot go from %(from_status)s to %(to_status)s.")
            % {
                "reference": ticket.reference,
                "from_status": in_sentence(TicketStatus(ticket.status).label),
                "to_status": in_sentence(TicketStatus(to_status).label),
            }
        )
    if to_status == S.CLOSED:
        policy.refuse_close(actor, ticket)
    if to_status in SOLVED and ticket.status not in SOLVED and policy.solves_by_hand(actor):
        if lacking is None:
            lacking = missing_to_solve([ticket.pk]).get(ticket.pk, [])
        if lacking:
            raise InvalidTransition(
                _(
                    "%(reference)s cannot be %(status)s before these fields are "
                    "filled in: %(fields)s."
                )
                % {
                    "reference": ticket.reference,
                    "status": in_sentence(TicketStatus(to_status).label),
                    "fields": ", ".join(lacking),
                },
                code="fields_required",
            )


def set_status(ticket: Ticket, to_status: str, *, now: datetime) -> None:
    """The ticket's status columns and metrics for an allowed change (the SLA clocks and
    the event are the caller's: one ticket's or many at once)."""
    from_status = ticket.status
    ticket.status = to_status
    ticket.status_since = now
    if to_status == S.RESOLVED:
        ticket.resolved_at = now
    elif to_status == S.CLOSED:
        ticket.closed_at = now
    elif from_status == S.RESOLVED:
        ticket.resolved_at = None
    metrics.status_changed(ticket, from_status, to_status, now)


def status_event(
    ticket: Ticket, from_status: str, *, actor: Actor, reason: str = ""
) -> TicketEvent:
    """The event of a status change set_status made, not yet written."""
    data = {"from": from_status, "to": ticket.status}
    if reason:
        data["reason"] = reason
    return new_event(ticket, EventKind.STATUS_CHANGED, actor=actor, **data)


def ticket_change_status(
    *,
    ticket: Ticket,
    status: str,
    actor: Actor,
    reason: str = "",
    now: datetime | None = None,
) -> Ticket:
    now = now or timezone.now()
    with transaction.atomic():
        ticket = lock_ticket(ticket)
        refuse_if_merged(ticket)
        if ticket.status == status:
            return ticket
        apply_transition(ticket, status, actor=actor, now=now, reason=reason)
        ticket.save(
            update_fields=["status", "status_since", "resolved_at", "closed_at", "updated_at"]
        )
        metrics.save(ticket)
    return ticket


def ticket_resolve(*, ticket: Ticket, actor: Actor, now: datetime | None = None) -> Ticket:
    return ticket_change_status(ticket=ticket, status=S.RESOLVED, actor=actor, now=now)


def ticket_reopen(
    *, ticket: Ticket, actor: Actor, reason: str = "", now: datetime | None = None
) -> Ticket:
    if ticket.status not in (S.RESOLVED,):
        raise InvalidTransition(
            _("Only a resolved ticket can be reopened; %(reference)s is %(status)s.")
            % {
                "reference": ticket.reference,
                "status": in_sentence(TicketStatus(ticket.status).label),
            }
        )
    return ticket_change_status(ticket=ticket, status=S.OPEN, actor=actor, reason=reason, now=now)


def ticket_close(*, ticket: Ticket, actor: Actor, now: datetime | None = None) -> Ticket:
    return ticket_change_status(ticket=ticket, status=S.CLOSED, actor=actor, now=now)
