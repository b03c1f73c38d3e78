"""What each moment of a ticket's life changes in its metrics (TicketMetrics).

The services call these where the moment happens, on the row read with the ticket
(`lock_ticket` reads both), and write the row once per change with `save` (one statement
however many moments a change holds: a reply that resolves). `manage.py backfill_metrics`
replays a ticket's history through the same functions. Definitions: docs/reports.md.

A ticket from before the metrics existed has no row until the backfill: these functions
then do nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.core.exceptions import ObjectDoesNotExist

from tickets import sla
from tickets.models import (
    Message,
    SLAPolicy,
    Ticket,
    TicketMetrics,
    TicketStatus,
    TierMove,
)

S = TicketStatus
_SOLVED = (S.RESOLVED, S.CLOSED)
_PAUSED_FIELD = {S.PENDING_CUSTOMER: "waiting_minutes", S.ON_HOLD: "on_hold_minutes"}
_DIRTY = "_metrics_dirty"


def of(ticket: Ticket) -> TicketMetrics | None:
    """The ticket's metrics row (read with the ticket by lock_ticket), None if it has none."""
    try:
        return ticket.metrics
    except ObjectDoesNotExist:
        return None


def _change(row: TicketMetrics, **values: Any) -> None:
    for name, value in values.items():
        setattr(row, name, value)
    row.__dict__.setdefault(_DIRTY, set()).update(values)


def save(ticket: Ticket) -> None:
    """Write what the moments since the last save changed (one statement, or none)."""
    row = of(ticket)
    dirty = getattr(row, _DIRTY, None) if row is not None else None
    if row is None or not dirty:
        return
    row.save(update_fields=sorted(dirty))
    dirty.clear()


def save_many(tickets: Iterable[Ticket]) -> None:
    """save() for many tickets, in one statement."""
    from tickets.services._common import bulk_write

    rows = [row for ticket in tickets if (row := of(ticket)) is not None]
    dirty = {name for row in rows for name in getattr(row, _DIRTY, ())}
    if not dirty:
        return
    bulk_write(rows, sorted(dirty))
    for row in rows:
        getattr(row, _DIRTY, set()).clear()


def calendar_for(ticket: Ticket) -> sla.Calendar:
    """The business calendar of the ticket's SLA policy (24/7 without one), from the desk's
    set-up read once per process."""
    from tickets.services import desk_setup, sla_clocks

    if ticket.sla_policy_id is None:
        return sla.TWENTY_FOUR_SEVEN
    policies = desk_setup.current().policies
    policy = policies.get(ticket.sla_policy_id)
    if policy is not None:
        return policies.calendars.of(policy)
    # An inactive policy still times the tickets it was applied to.
    inactive = SLAPolicy.objects.select_related("calendar").get(pk=ticket.sla_policy_id)
    return sla_clocks.calendar_of(inactive)


def _minutes(start: datetime, end: datetime) -> int:
    return max(0, round((end - start).total_seconds() / 60))


def _business(start: datetime, end: datetime, calendar: sla.Calendar) -> int:
    if end <= start:
        return 0
    return round(sla.business_minutes_between(start, end, calendar))


# --- Moments ---------------------------------------------------------------------------------


def opened(ticket: Ticket) -> TicketMetrics:
    """A new ticket's row, not yet written; the customer waits from its first message."""
    ticket.awaiting_reply_since = ticket.created_at
    row = TicketMetrics(
        ticket=ticket,
        created_at=ticket.created_at,
        channel=ticket.channel,
        priority=ticket.priority,
        tier_level=ticket.tier.level,
        first_tier=ticket.tier.level,
        tier_since=ticket.created_at,
        organization_id=ticket.customer.organization_id,
        assignee_id=ticket.assignee_id,
    )
    ticket.metrics = row
    return row


def customer_wrote(ticket: Ticket, at: datetime) -> None:
    """The customer waits from their oldest unanswered message (a Ticket field: the caller
    saves `awaiting_reply_since` with its own change)."""
    if ticket.awaiting_reply_since is None:
        ticket.awaiting_reply_since = at


def agent_replied(ticket: Ticket, reply: Message | None, at: datetime) -> None:
    """A public agent reply, before it is written: how long the customer waited goes on the
    message, the first reply's times on the row. A phone call answers without a reply
    message (`reply` None)."""
    row = of(ticket)
    waiting = ticket.awaiting_reply_since
    ticket.awaiting_reply_since = None
    if row is None:
        return
    values: dict[str, Any] = {"replies": row.replies + 1}
    if waiting is not None:
        calendar = calendar_for(ticket)
        first = row.first_reply_at is None
        start = row.created_at if first else waiting
        minutes, business = _minutes(start, at), _business(start, at, calendar)
        if reply is not None:
            reply.waited_minutes, reply.waited_business_minutes = minutes, business
            reply.first_reply = first
        if first:
            values |= {
                "first_reply_at": at,
                "first_reply_minutes": minutes,
                "first_reply_business_minutes": business,
                "first_reply_by_id": reply.author_user_id if reply is not None else None,
            }
    _change(row, **values)


def status_changed(ticket: Ticket, old: str, new: str, at: datetime) -> None:
    """Pauses (waiting on the customer, on hold) add up; solving records the resolution
    and the tier that solved it; reopening counts and puts it back in the backlog."""
    row = of(ticket)
    if row is None:
        return
    calendar = calendar_for(ticket)
    values: dict[str, Any] = {}
    if old in _PAUSED_FIELD and row.paused_since is not None:
        field = _PAUSED_FIELD[S(old)]
        values[field] = getattr(row, field) + _business(row.paused_since, at, calendar)
        values["paused_since"] = None
    if new in _PAUSED_FIELD:
        values["paused_since"] = at
    if new in _SOLVED and old not in _SOLVED:
        values |= _tier_time(row, ticket.tier.level, at, calendar)
        values |= {
            "solved_at": at,
            "first_solved_at": row.first_solved_at or at,
            "resolution_minutes": _minutes(row.created_at, at),
            "resolution_business_minutes": _business(row.created_at, at, calendar),
            "solved_tier": ticket.tier.level,
        }
    elif old in _SOLVED and new not in _SOLVED:
        values |= {"reopens": row.reopens + 1, "solved_at": None, "tier_since": at}
    if values:
        _change(row, **values)


def _tier_time(row: TicketMetrics, level: int, at: datetime, calendar: sla.Calendar) -> dict:
    """The time since the ticket entered its tier, added to that tier's."""
    field = f"tier{level}_minutes"
    spent = _business(row.tier_since, at, calendar)
    return {field: getattr(row, field) + spent, "tier_since": at}


def tier_moved(
    ticket: Ticket, old_level: int, new_level: int, at: datetime, *, reason: str, by_person: bool
) -> TierMove:
    """A move between tiers; returns its TierMove row, not yet written."""
    row = of(ticket)
    if row is not None:
        values = {"tier_level": new_level}
        if row.solved_at is None:  # a solved ticket's time in tier stopped when it was solved
            values |= _tier_time(row, old_level, at, calendar_for(ticket))
        counter = "escalations" if new_level > old_level else "deescalations"
        values[counter] = getattr(row, counter) + 1
        _change(row, **values)
    return TierMove(
        ticket=ticket,
        at=at,
        from_level=old_level,
        to_level=new_level,
        reason=reason[:200],
        by_person=by_person,
    )


def assigned(ticket: Ticket) -> None:
    row = of(ticket)
    if row is not None and row.assignee_id != ticket.assignee_id:
        _change(row, assignee_id=ticket.assignee_id)


def priority_changed(ticket: Ticket) -> None:
    row = of(ticket)
    if row is not None and row.priority != ticket.priority:
        _change(row, priority=ticket.priority)


def merged(ticket: Ticket) -> None:
    """Merged into another ticket: its request and work count there from now on."""
    row = of(ticket)
    if row is not None:
        _change(row, merged=True)


def rated(ticket: Ticket, rating: int, at: datetime) -> None:
    row = of(ticket)
    if row is not None:
        _change(row, rating=rating, rated_at=at)
