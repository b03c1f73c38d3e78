"""The SLA sweep: fire each due warning and breach exactly once, and act on it.

Selection is an index range scan over `sla_next_check_at` (cost grows with what is due,
not with open tickets), under SELECT ... FOR UPDATE SKIP LOCKED so concurrent sweepers
never take the same ticket; the unique (clock, kind) constraint on SLAFiring makes a
firing happen once even if two sweeps overlapped anyway.
"""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from tickets.models import (
    EventKind,
    FiringKind,
    Priority,
    SLAAction,
    SLAClock,
    SLAFiring,
    Ticket,
)
from tickets.services import sla_clocks
from tickets.services._common import record_event
from tickets.services.notices import notify_agents

_NEXT_PRIORITY = {
    Priority.LOW: Priority.NORMAL,
    Priority.NORMAL: Priority.HIGH,
    Priority.HIGH: Priority.URGENT,
}
HIGHEST_TIER = 3


def due_tickets(*, now: datetime, limit: int = 1000) -> list[int]:
    """Ids of tickets with a warning or breach due, locked for this transaction."""
    return list(
        Ticket.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(sla_next_check_at__lte=now)
        .order_by("sla_next_check_at")
        .values_list("pk", flat=True)[:limit]
    )


def sla_sweep(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Fire what is due; returns how many warnings and breaches fired."""
    now = now or timezone.now()
    fired = 0
    with transaction.atomic():
        for ticket in Ticket.objects.filter(
            pk__in=due_tickets(now=now, limit=limit)
        ).select_related("tier", "customer", "sla_policy", "assignee"):
            fired += _fire_due(ticket, now)
    return fired


def _fire_due(ticket: Ticket, now: datetime) -> int:
    fired = 0
    clocks = ticket.clocks.filter(stopped_at__isnull=True).select_related("policy")
    for clock in clocks:
        for kind, at in ((FiringKind.WARNING, clock.warning_at), (FiringKind.BREACH, clock.due_at)):
            if at is not None and at <= now and _fire_once(clock, kind, now):
                _act(ticket, clock, kind)
                fired += 1
    ticket.refresh_from_db()
    sla_clocks.refresh(ticket, now)
    return fired


def _fire_once(clock: SLAClock, kind: str, now: datetime) -> bool:
    try:
        with transaction.atomic():
            SLAFiring.objects.create(clock=clock, kind=kind, fired_at=now)
    except IntegrityError:
        return False  # it already fired
    return True


def _act(ticket: Ticket, clock: SLAClock, kind: str) -> None:
    policy = clock.policy
    label = f"SLA policy {policy.name}" if policy else "SLA"
    event = EventKind.SLA_WARNING if kind == FiringKind.WARNING else EventKind.SLA_BREACH
    record_event(
        ticket,
        event,
        actor=None,
        label=label,
        clock=clock.kind,
        due_at=clock.due_at,
        target_minutes=clock.target_minutes,
    )
    actions = (
        (policy.warning_actions if kind == FiringKind.WARNING else policy.breach_actions)
        if policy
        else []
    )
    what = "will breach" if kind == FiringKind.WARNING else "breached"
    text = f"{ticket.reference}: {clock.get_kind_display()} SLA {what} ({label})."
    for action in actions:
        _ACTIONS.get(action, _unknown)(ticket, text, label)


def _notify_assignee(ticket: Ticket, text: str, label: str) -> None:
    if ticket.assignee_id is not None:
        notify_agents(user_ids=[ticket.assignee_id], ticket=ticket, kind="sla", text=text)


def _notify_tier(ticket: Ticket, text: str, label: str) -> None:
    agents = ticket.tier.agents.filter(user__is_active=True).values_list("user_id", flat=True)
    notify_agents(user_ids=agents, ticket=ticket, kind="sla", text=text)


def _raise_priority(ticket: Ticket, text: str, label: str) -> None:
    from tickets.services.messages import ticket_change_priority

    higher = _NEXT_PRIORITY.get(Priority(ticket.priority))
    if higher is not None:
        ticket_change_priority(ticket=ticket, priority=higher, actor=None)


def _escalate(ticket: Ticket, text: str, label: str) -> None:
    from tickets.services.escalation import ticket_escalate

    if ticket.tier.level < HIGHEST_TIER:
        ticket_escalate(
            ticket=ticket,
            actor=None,
            label=label,
            reason="SLA breached",
            handoff_note=text,
        )


def _unknown(ticket: Ticket, text: str, label: str) -> None:
    return None


_ACTIONS = {
    SLAAction.NOTIFY_ASSIGNEE: _notify_assignee,
    SLAAction.NOTIFY_TIER: _notify_tier,
    SLAAction.RAISE_PRIORITY: _raise_priority,
    SLAAction.ESCALATE: _escalate,
}
