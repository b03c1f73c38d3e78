"""The SLA sweep: fire each due warning and breach exactly once, and act on it.

Selection is an index range scan over `sla_next_check_at` (cost grows with what is due,
not with open tickets), under SELECT ... FOR UPDATE SKIP LOCKED so concurrent sweepers
never take the same ticket; the unique (clock, kind) constraint on SLAFiring makes a
firing happen once even if two sweeps overlapped anyway.

The due tickets are handled together, in a fixed number of statements whatever their
number: their clocks are read at once, the firings, events and notifications written in
one insert each, the escalations moved together, and the deadlines recomputed and written
in one update (a thousand due tickets took a minute one by one; docs/benchmarks.md).
"""

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext, gettext_noop

from tickets.models import (
    ClockKind,
    EventKind,
    FiringKind,
    Priority,
    SLAAction,
    SLAClock,
    SLAFiring,
    SLAPolicy,
    Ticket,
    TicketEvent,
)
from tickets.services import sla_clocks
from tickets.services._common import bulk_write, new_event, record_events
from tickets.services.assignment import active_agents_by_tier
from tickets.services.notices import Said, notify_agents_many

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
    with transaction.atomic():
        ids = due_tickets(now=now, limit=limit)
        if not ids:
            return 0
        tickets = list(
            Ticket.objects.filter(pk__in=ids).select_related(
                "tier", "customer", "sla_policy", "assignee"
            )
        )
        clocks = _running_clocks(ids)
        fired = _fire(_due_firings(tickets, clocks, now), now)
        _mark_breached(fired)
        _act(tickets, fired)
        _refresh(tickets, now)
    return len(fired)


def _mark_breached(fired: list["_Firing"]) -> None:
    """A breach is the clock's outcome, whatever happens to it later (the SLA report)."""
    breached = [clock.pk for _, clock, kind in fired if kind == FiringKind.BREACH]
    if breached:
        SLAClock.objects.filter(pk__in=breached).update(breached=True)


def _running_clocks(ticket_ids: list[int]) -> dict[int, list[SLAClock]]:
    """The running clocks of the tickets, by ticket id, each with its policy and the
    policy's calendar (read once per policy, not once per clock)."""
    running = list(
        SLAClock.objects.filter(ticket_id__in=ticket_ids, stopped_at__isnull=True).order_by(
            "ticket", "kind", "cycle"
        )
    )
    policies = SLAPolicy.objects.filter(pk__in={clock.policy_id for clock in running})
    by_id = {
        policy.pk: policy
        for policy in policies.select_related("calendar").prefetch_related(
            "calendar__hours", "calendar__custom_holidays"
        )
    }
    by_ticket: dict[int, list[SLAClock]] = defaultdict(list)
    for clock in running:
        clock.policy = by_id.get(clock.policy_id) if clock.policy_id else None
        by_ticket[clock.ticket_id].append(clock)
    return by_ticket


_Firing = tuple[Ticket, SLAClock, str]


def _due_firings(
    tickets: list[Ticket], clocks: dict[int, list[SLAClock]], now: datetime
) -> list[_Firing]:
    """Warnings and breaches due and not fired yet, ticket by ticket, warnings first."""
    done = set(
        SLAFiring.objects.filter(
            clock_id__in=[clock.pk for running in clocks.values() for clock in running]
        ).values_list("clock_id", "kind")
    )
    due: list[_Firing] = []
    for ticket in tickets:
        for clock in clocks.get(ticket.pk, []):
            for kind, at in (
                (FiringKind.WARNING, clock.warning_at),
                (FiringKind.BREACH, clock.due_at),
            ):
                if at is not None and at <= now and (clock.pk, kind) not in done:
                    due.append((ticket, clock, kind))
    return due


def _fire(due: list[_Firing], now: datetime) -> list[_Firing]:
    """Record the firings (one insert); those another sweep recorded first are left out."""
    try:
        with transaction.atomic():
            SLAFiring.objects.bulk_create(
                [SLAFiring(clock=clock, kind=kind, fired_at=now) for _, clock, kind in due]
            )
    except IntegrityError:  # a sweep outside these row locks fired some: one at a time
        return [firing for firing in due if _fire_once(firing[1], firing[2], now)]
    return due


def _fire_once(clock: SLAClock, kind: str, now: datetime) -> bool:
    try:
        with transaction.atomic():
            SLAFiring.objects.create(clock=clock, kind=kind, fired_at=now)
    except IntegrityError:
        return False  # it already fired
    return True


def _act(tickets: list[Ticket], fired: list[_Firing]) -> None:
    """The events of the firings and their policies' actions: notifications and
    escalations together, priority changes one ticket at a time."""
    events: list[TicketEvent] = []
    notices: list[tuple[list[int], Ticket, str, Said]] = []
    escalations: dict[int, list[tuple[Ticket, str, str]]] = defaultdict(list)
    one_by_one: list[tuple[Callable[[Ticket, str, str], None], Ticket, str, str]] = []
    tier_agents = active_agents_by_tier()
    for ticket, clock, kind in fired:
        policy = clock.policy
        label = f"SLA policy {policy.name}" if policy else "SLA"
        event = EventKind.SLA_WARNING if kind == FiringKind.WARNING else EventKind.SLA_BREACH
        events.append(
            new_event(
                ticket,
                event,
                actor=None,
                label=label,
                clock=clock.kind,
                due_at=clock.due_at,
                target_minutes=clock.target_minutes,
            )
        )
        actions = (
            (policy.warning_actions if kind == FiringKind.WARNING else policy.breach_actions)
            if policy
            else []
        )
        what = "will breach" if kind == FiringKind.WARNING else "breached"
        text = f"{ticket.reference}: {clock.get_kind_display()} SLA {what} ({label})."
        told = _told(ticket, clock, kind)
        for action in actions:
            if action == SLAAction.NOTIFY_ASSIGNEE and ticket.assignee_id is not None:
                notices.append(([ticket.assignee_id], ticket, "sla", told))
            elif action == SLAAction.NOTIFY_TIER:
                notices.append((tier_agents.get(ticket.tier_id, []), ticket, "sla", told))
            elif action == SLAAction.ESCALATE:
                escalations[ticket.pk].append((ticket, text, label))
            elif action == SLAAction.RAISE_PRIORITY:
                one_by_one.append((_raise_priority, ticket, text, label))
    record_events(events)
    notify_agents_many(notices)
    for action, ticket, text, label in one_by_one:
        action(ticket, text, label)
    if one_by_one:  # their services wrote through copies: read what they changed
        for ticket in {id(t): t for _, t, _, _ in one_by_one}.values():
            ticket.refresh_from_db()
    _escalate(escalations)


def _told(ticket: Ticket, clock: SLAClock, kind: str) -> Said:
    """What the agents are told of a warning or a breach, each in their language."""
    policy = clock.policy
    values = {
        "reference": ticket.reference,
        "clock": ClockKind(clock.kind).label if clock.kind in ClockKind.values else clock.kind,
        "policy": _policy_label(policy.name) if policy else "SLA",
    }
    if kind == FiringKind.WARNING:
        return Said(gettext_noop("%(reference)s: %(clock)s SLA will breach (%(policy)s)."), values)
    return Said(gettext_noop("%(reference)s: %(clock)s SLA breached (%(policy)s)."), values)


_policy_label = lazy(lambda name: gettext("SLA policy %(name)s") % {"name": name}, str)


def _raise_priority(ticket: Ticket, text: str, label: str) -> None:
    from tickets.services.messages import ticket_change_priority

    higher = _NEXT_PRIORITY.get(Priority(ticket.priority))
    if higher is not None:
        ticket_change_priority(ticket=ticket, priority=higher, actor=None)


def _escalate(escalations: dict[int, list[tuple[Ticket, str, str]]]) -> None:
    """Each breach that escalates moves its ticket one tier up, all tickets together (a
    ticket with two such breaches moves twice, as one after the other would)."""
    from tickets.services.escalation import ticket_escalate_many

    rounds = max((len(steps) for steps in escalations.values()), default=0)
    for step in range(rounds):
        by_label: dict[str, list[tuple[Ticket, str]]] = defaultdict(list)
        for steps in escalations.values():
            if step < len(steps):
                ticket, text, label = steps[step]
                if ticket.tier.level < HIGHEST_TIER:
                    by_label[label].append((ticket, text))
        for label, moving in by_label.items():
            ticket_escalate_many(
                tickets=[ticket for ticket, _ in moving],
                reason="SLA breached",
                handoff_notes={ticket.pk: text for ticket, text in moving},
                actor=None,
                label=label,
            )


def _refresh(tickets: list[Ticket], now: datetime) -> None:
    """sla_clocks.refresh for all the tickets at once: recompute the due and warning times
    of their running clocks and their deadline columns (two updates in all)."""
    clocks = _running_clocks([ticket.pk for ticket in tickets])
    fired = set(
        SLAFiring.objects.filter(
            clock_id__in=[clock.pk for running in clocks.values() for clock in running]
        ).values_list("clock_id", "kind")
    )
    calendars = sla_clocks.Calendars()
    timed: list[SLAClock] = []
    for ticket in tickets:
        timed_here = []
        for clock in clocks.get(ticket.pk, []):
            policy: SLAPolicy | None = clock.policy or ticket.sla_policy
            if policy is None:
                continue
            sla_clocks.time_clock(clock, policy, calendars.of(policy), now)
            timed_here.append(clock)
        sla_clocks.set_deadlines(ticket, timed_here, fired=fired)
        timed += timed_here
    bulk_write(timed, ["due_at", "warning_at"])
    bulk_write(tickets, sla_clocks.DEADLINE_FIELDS)
