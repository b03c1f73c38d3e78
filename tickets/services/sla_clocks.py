"""SLA clocks on tickets: started, paused, stopped and re-targeted as the ticket moves.

The arithmetic is tickets.sla (pure); this module keeps the stored clocks and the ticket's
deadline columns in step. Callers hold the ticket's row lock.
"""

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from typing import Any

from django.db.models import (
    Case,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
    prefetch_related_objects,
)
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from tickets import sla
from tickets.models import (
    BusinessCalendar,
    ClockKind,
    FiringKind,
    Organization,
    SLAClock,
    SLAFiring,
    SLAPolicy,
    Ticket,
    TicketStatus,
)

_PAUSING = {TicketStatus.PENDING_CUSTOMER}
# What refresh() writes on the ticket.
DEADLINE_FIELDS = [
    "sla_policy",
    "first_response_due_at",
    "next_response_due_at",
    "resolution_due_at",
    "sla_due_at",
    "sla_next_check_at",
]
_TARGETS = {
    ClockKind.FIRST_RESPONSE: "first_response_minutes",
    ClockKind.NEXT_RESPONSE: "next_response_minutes",
    ClockKind.RESOLUTION: "resolution_minutes",
}


def policy_for(ticket: Ticket) -> SLAPolicy | None:
    """The first active policy, by position, whose conditions the ticket meets; else default.
    The customer's organization's plan, when it has one, is tried before all others."""
    organization_id = ticket.customer.organization_id
    candidates = (
        SLAPolicy.objects.filter(is_active=True)
        .filter(Q(organization__isnull=True) | Q(organization_id=organization_id))
        .select_related("calendar")
        .order_by("position", "id")
    )
    return choose_policy(ticket, _with_plans(list(candidates), organization_id))


def active_policies() -> list[SLAPolicy]:
    """Every active policy in the order choose_policy weighs them (for many tickets)."""
    policies = (
        SLAPolicy.objects.filter(is_active=True)
        .select_related("calendar")
        .order_by("position", "id")
    )
    return _with_plans(list(policies))


def _with_plans(policies: list[SLAPolicy], organization_id: int | None = -1) -> list[SLAPolicy]:
    """Mark each policy with the organizations whose plan it is (`plan_for`), for one
    organization or (-1) all; no query when there is no organization to ask about."""
    plans: dict[int, set[int]] = {policy.pk: set() for policy in policies}
    if organization_id is not None and policies:
        organizations = Organization.objects.filter(sla_policy_id__in=plans)
        if organization_id != -1:
            organizations = organizations.filter(pk=organization_id)
        for policy_id, org_id in organizations.values_list("sla_policy_id", "pk"):
            plans[policy_id].add(org_id)
    for policy in policies:
        policy.plan_for = frozenset(plans[policy.pk])  # type: ignore[attr-defined]
    return policies


def choose_policy(ticket: Ticket, policies: list[SLAPolicy]) -> SLAPolicy | None:
    """policy_for's rule over active policies already read in (position, id) order; those
    of another organization are passed over, and the organization's plan goes first."""
    organization_id = ticket.customer.organization_id
    candidates = [
        policy for policy in policies if policy.organization_id in (None, organization_id)
    ]
    candidates.sort(key=lambda policy: organization_id not in getattr(policy, "plan_for", ()))
    for policy in candidates:
        if policy.is_default:
            continue
        if (
            (not policy.priorities or ticket.priority in policy.priorities)
            and (not policy.tier_levels or ticket.tier.level in policy.tier_levels)
            and (not policy.channels or ticket.channel in policy.channels)
        ):
            return policy
    return next((policy for policy in candidates if policy.is_default), None)


def calendar_of(policy: SLAPolicy) -> sla.Calendar:
    source = policy.calendar
    if source is None or source.always_open:
        return sla.TWENTY_FOUR_SEVEN
    hours = [(h.weekday, h.start, h.end) for h in source.hours.all()]
    return calendar_from(source, hours, [holiday.date for holiday in source.custom_holidays.all()])


def calendar_from(
    source: BusinessCalendar, hours: Iterable[tuple[int, time, time]], extra: Iterable[date]
) -> sla.Calendar:
    """The calendar the clocks count in: `source`'s zone and public holidays, with these
    opening hours (weekday, start, end) and extra holidays. ValueError when it is not one
    (an unknown zone or country, hours that end before they start or overlap)."""
    if source.always_open:
        return sla.TWENTY_FOUR_SEVEN
    weekly: dict[int, list[sla.Interval]] = {}
    for weekday, opens, closes in hours:
        weekly.setdefault(weekday, []).append(sla.Interval(opens, closes))
    days = {day: tuple(intervals) for day, intervals in weekly.items()}
    if source.holiday_country:
        return sla.Calendar.from_country(
            source.time_zone,
            days,
            source.holiday_country,
            subdivision=source.holiday_subdivision or None,
            extra_holidays=extra,
        )
    return sla.Calendar(source.time_zone, days, frozenset(extra))


def calendar_problem(
    source: BusinessCalendar,
    hours: Iterable[tuple[int, time, time]],
    extra: Iterable[date],
    *,
    now: datetime,
) -> str | None:
    """Why the clocks could not count in this calendar (None: they can). Asked before a
    calendar is saved: one they cannot count in would stop every ticket its policies match
    from being opened. A calendar in use is also asked for each SLA policy counting in it,
    as policy_problem asks a policy, so that no change of its hours, zone or holidays leaves
    a policy's targets out of reach (new tickets would not open, running clocks would
    fail)."""
    try:
        calendar = calendar_from(source, hours, extra)
    except ValueError as wrong:
        return _("The clocks cannot count in this calendar: %(why)s.") % {"why": wrong}
    if not calendar.has_hours:
        return _("A calendar that is not open 24/7 needs opening hours, or no clock would run.")
    return _policies_problem(source, calendar, now)


def _policies_problem(
    source: BusinessCalendar, calendar: sla.Calendar, now: datetime
) -> str | None:
    """Which SLA policies counting in `source` could not time their targets in `calendar`,
    what it would become (None: each could). Inactive ones too: their tickets' clocks run."""
    if source.pk is None:
        return None
    policies = SLAPolicy.objects.filter(calendar_id=source.pk).order_by("name")
    out_of_reach = {
        policy.name: wrong
        for policy in policies
        if (wrong := _untimed_target(policy, calendar, now))
    }
    if not out_of_reach:
        return None
    return ngettext(
        "The SLA policy %(policies)s counts in this calendar: with these changes its targets "
        "could not be timed in it (%(why)s). Keep more opening hours, or first give that "
        "policy smaller targets or another calendar.",
        "The SLA policies %(policies)s count in this calendar: with these changes their "
        "targets could not be timed in it (%(why)s). Keep more opening hours, or first give "
        "those policies smaller targets or other calendars.",
        len(out_of_reach),
    ) % {
        "policies": ", ".join(f"“{name}”" for name in out_of_reach),
        "why": "; ".join(dict.fromkeys(out_of_reach.values())),
    }


def policy_problem(policy: SLAPolicy, now: datetime) -> str | None:
    """Why the policy's clocks could not be timed (None: they can). Asked before a policy
    is saved: a policy that cannot time its clocks would stop every ticket it matches from
    being opened."""
    if not 0 <= policy.warning_percent <= 100:
        return _("The warning is a share of the target, from 0 to 100 percent.")
    try:
        calendar = calendar_of(policy)
    except (ValueError, OverflowError) as wrong:
        untimed: str | None = _reason(wrong)
    else:
        if not calendar.has_hours:
            return _("Its calendar has no opening hours: no clock would run.")
        untimed = _untimed_target(policy, calendar, now)
    if untimed is None:
        return None
    return _("Its targets cannot be timed in its calendar: %(why)s.") % {"why": untimed}


def _untimed_target(policy: SLAPolicy, calendar: sla.Calendar, now: datetime) -> str | None:
    """Why one of the policy's targets, counted from `now`, could not be timed in the
    calendar (None: each could): a calendar with too few hours for it in a hundred years."""
    try:
        for minutes in _TARGETS.values():
            target = getattr(policy, minutes)
            if target is not None:
                sla.add_business_minutes(now, target, calendar)
    except (ValueError, OverflowError) as wrong:
        return _reason(wrong)
    return None


def _reason(wrong: ValueError | OverflowError) -> str:
    """Why, in the reader's language: tickets.sla says its own (translated); an overflow is
    Python's words (English), said as ours."""
    if isinstance(wrong, OverflowError):
        return _("A target would end beyond the last date the calendar can count to")
    return str(wrong)


def start(ticket: Ticket, now: datetime, *, shared: "PolicyCache | None" = None) -> list[SLAClock]:
    """A new ticket, before it is written: pick its policy, time its first-response and
    resolution clocks, and set its deadline columns as refresh() would.

    Returns the clocks, for `save_started` once the ticket is written: the ticket row is
    written once, with its deadlines, and the clocks in one statement. `shared`: the
    policies and calendars read once by a caller starting many tickets.
    """
    policy = ticket.sla_policy = (
        policy_for(ticket) if shared is None else choose_policy(ticket, shared.policies)
    )
    clocks = []
    if policy is not None:
        for kind in (ClockKind.FIRST_RESPONSE, ClockKind.RESOLUTION):
            target = getattr(policy, _TARGETS[kind])
            if target is not None:
                clocks.append(
                    SLAClock(
                        ticket=ticket,
                        kind=kind,
                        cycle=1,
                        policy=policy,
                        target_minutes=target,
                        started_at=now,
                    )
                )
        if clocks:
            calendar = shared.calendars.of(policy) if shared else _read_calendar(policy)
            for clock in clocks:
                time_clock(clock, policy, calendar, now)
    set_deadlines(ticket, clocks, fired=set())  # nothing fired on a new ticket
    return clocks


def _read_calendar(policy: SLAPolicy) -> sla.Calendar:
    _read_calendar_days([policy])
    return calendar_of(policy)


def _read_calendar_days(policies: Iterable[SLAPolicy]) -> None:
    """Read the opening hours and holidays of the policies' calendars (calendar_of uses them)."""
    calendars = [p.calendar for p in policies if p.calendar and not p.calendar.always_open]
    prefetch_related_objects(calendars, "hours", "custom_holidays")


class Calendars:
    """Each policy's calendar built once, for work on many clocks or tickets (building a
    calendar with its public holidays is the costly part). The policies' calendars must be
    read with their hours and holidays."""

    def __init__(self) -> None:
        self._built: dict[int, sla.Calendar] = {}

    def of(self, policy: SLAPolicy) -> sla.Calendar:
        if policy.pk not in self._built:
            self._built[policy.pk] = calendar_of(policy)
        return self._built[policy.pk]


class PolicyCache:
    """The active policies, read once with their calendars, for starting many tickets."""

    def __init__(self) -> None:
        self.policies = active_policies()
        _read_calendar_days(self.policies)
        self.calendars = Calendars()
        self._by_id = {policy.pk: policy for policy in self.policies}

    def get(self, policy_id: int | None) -> SLAPolicy | None:
        """An active policy by id; None for another (inactive, or made since)."""
        return self._by_id.get(policy_id) if policy_id is not None else None


def save_started(clocks: list[SLAClock]) -> None:
    """Write the clocks `start` returned, once their ticket is written."""
    SLAClock.objects.bulk_create(clocks)


def customer_wrote(ticket: Ticket, now: datetime) -> None:
    """After the first response, each customer message starts a next-response clock."""
    customers_wrote([ticket], now)


def customers_wrote(tickets: list[Ticket], now: datetime) -> None:
    """customer_wrote for many tickets: their clocks are read in one query, and only the
    tickets whose next-response clock starts are written."""
    timed = {ticket.pk: ticket for ticket in tickets if ticket.sla_policy_id is not None}
    if not timed:
        return
    rows: dict[int, list[tuple[str, int, datetime | None]]] = {pk: [] for pk in timed}
    for ticket_id, kind, cycle, stopped in (
        SLAClock.objects.filter(
            ticket_id__in=timed, kind__in=[ClockKind.FIRST_RESPONSE, ClockKind.NEXT_RESPONSE]
        )
        .order_by("ticket_id", "kind", "cycle")
        .values_list("ticket_id", "kind", "cycle", "stopped_at")
    ):
        rows[ticket_id].append((kind, cycle, stopped))
    starting = {
        ticket_id: next_cycle
        for ticket_id, clocks in rows.items()
        if (next_cycle := _next_response_cycle(clocks)) is not None
    }
    if not starting:
        return
    # Starting a clock changes no other clock's timing: only the new ones are timed, before
    # they are written, and each ticket's deadlines are read off its running clocks.
    policies = _policies_with_calendars({timed[pk].sla_policy_id for pk in starting})
    calendars, started = Calendars(), []
    for ticket_id, cycle in starting.items():
        policy = policies.get(timed[ticket_id].sla_policy_id)
        if policy is None or policy.next_response_minutes is None:
            continue
        clock = SLAClock(
            ticket=timed[ticket_id],
            kind=ClockKind.NEXT_RESPONSE,
            cycle=cycle,
            policy=policy,
            target_minutes=policy.next_response_minutes,
            started_at=now,
        )
        time_clock(clock, policy, calendars.of(policy), now)
        started.append(clock)
    SLAClock.objects.bulk_create(started)
    for clock in started:
        read_deadlines(clock.ticket)
        clock.ticket.save(update_fields=DEADLINE_FIELDS)


def _policies_with_calendars(ids: set[int | None]) -> dict[int | None, SLAPolicy]:
    policies = SLAPolicy.objects.select_related("calendar").in_bulk(ids)
    _read_calendar_days(policies.values())
    return policies


def _next_response_cycle(clocks: list[tuple[str, int, datetime | None]]) -> int | None:
    """The cycle of the next-response clock a customer's message starts, if it starts one."""
    next_cycles = [cycle for kind, cycle, _ in clocks if kind == ClockKind.NEXT_RESPONSE]
    if any(kind == ClockKind.NEXT_RESPONSE and stopped is None for kind, _, stopped in clocks):
        return None  # one is running already
    first_response = [stopped for kind, _, stopped in clocks if kind == ClockKind.FIRST_RESPONSE]
    if first_response and first_response[0] is None:
        return None  # still waiting for the first response
    return max(next_cycles, default=0) + 1


def agent_responded(ticket: Ticket, now: datetime) -> None:
    """A public agent reply meets the first-response and next-response clocks. The ticket's
    deadline columns follow, not saved: the caller writes DEADLINE_FIELDS with its own change.

    Stopping clocks changes no other clock's timing, so the running ones are not timed
    again (a chat answers many times a minute): their stored deadlines are read instead.
    """
    stopped = stop(
        ticket.clocks.filter(kind__in=[ClockKind.FIRST_RESPONSE, ClockKind.NEXT_RESPONSE]), now
    )
    if stopped:
        read_deadlines(ticket)


def stop(clocks: "QuerySet[SLAClock]", now: datetime) -> int:
    """Stop the running clocks among these; one stopped after its due time missed its
    target (the sweep may not have fired its breach yet)."""
    late = Q(due_at__isnull=False, due_at__lt=now)
    return clocks.filter(stopped_at__isnull=True).update(
        stopped_at=now, breached=Case(When(late, then=Value(True)), default=F("breached"))
    )


def status_changed(ticket: Ticket, old: str, new: str, now: datetime) -> None:
    """Pause while waiting on the customer (and on hold, if the policy says so); resolve
    stops the resolution clock; reopening continues it, not counting the resolved time."""
    if ticket.sla_policy is None:
        return
    pausing = set(_PAUSING) | ({TicketStatus.ON_HOLD} if ticket.sla_policy.pause_on_hold else set())
    running = list(ticket.clocks.filter(stopped_at__isnull=True))
    if new in pausing and old not in pausing:
        for clock in running:
            _open_pause(clock, now)
    elif old in pausing and new not in pausing:
        for clock in running:
            _close_pause(clock, now)
    if new in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        kinds = [ClockKind.RESOLUTION] if new == TicketStatus.RESOLVED else list(ClockKind)
        stop(ticket.clocks.filter(kind__in=kinds), now)
    elif old == TicketStatus.RESOLVED:
        latest = ticket.clocks.filter(kind=ClockKind.RESOLUTION).order_by("-cycle").first()
        if latest is not None and latest.stopped_at is not None:
            resolved_at = latest.stopped_at
            latest.pauses = [*latest.pauses, [resolved_at.isoformat(), now.isoformat()]]
            latest.stopped_at = None
            latest.save(update_fields=["pauses", "stopped_at"])
    refresh(ticket, now)


def answered_and_resolved(tickets: Sequence[Ticket], was: dict[int, str], now: datetime) -> None:
    """agent_responded and status_changed(to resolved) for many tickets at once (`was`: each
    ticket's status before): a pause waiting on the customer ends, and every running clock
    stops (a reply meets the response clocks, resolving the resolution clock), in a few
    statements whatever their number. The deadline columns follow, not saved."""
    ids = [ticket.pk for ticket in tickets]
    paused = [t.pk for t in tickets if was[t.pk] in _PAUSING or was[t.pk] == TicketStatus.ON_HOLD]
    if paused:
        reopened = []
        for clock in SLAClock.objects.filter(ticket_id__in=paused, stopped_at__isnull=True):
            if clock.pauses and clock.pauses[-1][1] is None:
                clock.pauses = [*clock.pauses[:-1], [clock.pauses[-1][0], now.isoformat()]]
                reopened.append(clock)
        SLAClock.objects.bulk_update(reopened, ["pauses"], batch_size=500)
    stop(SLAClock.objects.filter(ticket_id__in=ids), now)
    for ticket in tickets:
        set_deadlines(ticket, [], fired=set())


def reevaluate(ticket: Ticket, now: datetime, policies: list[SLAPolicy] | None = None) -> None:
    """Priority, tier or organization changed: apply the policy that matches now, keeping
    the time already elapsed on each running clock. `policies`: the active policies, read
    once by a caller doing this for many tickets (else they are read here)."""
    policy = policy_for(ticket) if policies is None else choose_policy(ticket, policies)
    if policy == ticket.sla_policy:
        return
    ticket.sla_policy = policy
    for clock in ticket.clocks.filter(stopped_at__isnull=True):
        target = getattr(policy, _TARGETS[ClockKind(clock.kind)]) if policy else None
        if target is None:
            clock.stopped_at = now  # the new policy sets no such target
            clock.save(update_fields=["stopped_at"])
            continue
        clock.policy, clock.target_minutes = policy, target
        clock.save(update_fields=["policy", "target_minutes"])
    refresh(ticket, now)


def refresh(ticket: Ticket, now: datetime) -> None:
    """Recompute due and warning times of running clocks and the ticket's columns."""
    running = (
        _running(ticket)
        .select_related("policy__calendar")
        .prefetch_related("policy__calendar__hours", "policy__calendar__custom_holidays")
    )
    calendars, timed = Calendars(), []
    for clock in running:
        policy = clock.policy or ticket.sla_policy
        if policy is None:
            continue
        time_clock(clock, policy, calendars.of(policy), now)
        clock.save(update_fields=["due_at", "warning_at"])
        timed.append(clock)
    set_deadlines(ticket, timed, fired=_fired_among(timed))
    ticket.save(update_fields=DEADLINE_FIELDS)


def read_deadlines(ticket: Ticket) -> None:
    """The ticket's deadline columns from its running clocks as they are timed now, and
    which of their warnings and breaches have fired, in one query (not saved)."""
    clocks = [
        clock
        for clock in _running(ticket).only("ticket", "kind", "policy", "due_at", "warning_at")
        if clock.policy_id is not None or ticket.sla_policy_id is not None  # as refresh() times
    ]
    set_deadlines(ticket, clocks, fired=_fired_among(clocks))


def _running(ticket: Ticket) -> "QuerySet[Any]":
    """The ticket's running clocks, each with whether its warning and breach have fired."""

    def fired(kind: str) -> Exists:
        return Exists(SLAFiring.objects.filter(clock=OuterRef("pk"), kind=kind))

    return ticket.clocks.filter(stopped_at__isnull=True).annotate(
        warned=fired(FiringKind.WARNING), breach_fired=fired(FiringKind.BREACH)
    )


def _fired_among(clocks: list[Any]) -> set[tuple[int, str]]:
    """What set_deadlines needs to know of the firings of clocks read by _running()."""
    fired: set[tuple[int, str]] = {(c.pk, FiringKind.WARNING) for c in clocks if c.warned}
    return fired | {(c.pk, FiringKind.BREACH) for c in clocks if c.breach_fired}


def time_clock(clock: SLAClock, policy: SLAPolicy, calendar: sla.Calendar, now: datetime) -> None:
    """Set the clock's due and warning times (not saved)."""
    pauses = pauses_of(clock)
    clock.due_at = sla.due_at(clock.started_at, clock.target_minutes, pauses, calendar, now)
    clock.warning_at = sla.warning_at(
        clock.started_at, clock.target_minutes, policy.warning_percent, pauses, calendar, now
    )


def set_deadlines(
    ticket: Ticket, clocks: Sequence[SLAClock], *, fired: set[tuple[int, str]]
) -> None:
    """The ticket's deadline columns from its running, timed clocks (not saved)."""
    dues: dict[str, datetime | None] = {kind: None for kind in ClockKind}
    checks: list[datetime] = []
    for clock in clocks:
        dues[clock.kind] = clock.due_at
        if clock.warning_at and (clock.pk, FiringKind.WARNING) not in fired:
            checks.append(clock.warning_at)
        if clock.due_at and (clock.pk, FiringKind.BREACH) not in fired:
            checks.append(clock.due_at)
    ticket.first_response_due_at = dues[ClockKind.FIRST_RESPONSE]
    ticket.next_response_due_at = dues[ClockKind.NEXT_RESPONSE]
    ticket.resolution_due_at = dues[ClockKind.RESOLUTION]
    ticket.sla_due_at = min((d for d in dues.values() if d), default=None)
    ticket.sla_next_check_at = min(checks, default=None)


def explain(
    clock: SLAClock, now: datetime, *, shared: PolicyCache | None = None
) -> sla.ClockState | None:
    """Where the clock stands at `now`. With `shared` (the desk's set-up), an active
    policy and its built calendar come from there instead of the database."""
    cached = shared.get(clock.policy_id) if shared is not None else None
    policy = cached or clock.policy
    if policy is None:
        return None
    return sla.clock_state(
        clock.started_at,
        clock.target_minutes,
        policy.warning_percent,
        pauses_of(clock),
        shared.calendars.of(policy) if shared is not None and cached else calendar_of(policy),
        now,
        stopped_at=clock.stopped_at,
    )


def _open_pause(clock: SLAClock, now: datetime) -> None:
    if clock.pauses and clock.pauses[-1][1] is None:
        return
    clock.pauses = [*clock.pauses, [now.isoformat(), None]]
    clock.save(update_fields=["pauses"])


def _close_pause(clock: SLAClock, now: datetime) -> None:
    if clock.pauses and clock.pauses[-1][1] is None:
        clock.pauses = [*clock.pauses[:-1], [clock.pauses[-1][0], now.isoformat()]]
        clock.save(update_fields=["pauses"])


def pauses_of(clock: SLAClock) -> list[sla.Pause]:
    return [
        sla.Pause(datetime.fromisoformat(start), datetime.fromisoformat(end) if end else None)
        for start, end in clock.pauses
    ]
