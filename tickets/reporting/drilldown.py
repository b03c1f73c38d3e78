"""The tickets behind a report's number: every number a report shows names a metric here
(and its parameters), and the drill-down page lists exactly the tickets it counted.

A number that counts replies, targets or moves (several per ticket) drills down to the
tickets they belong to."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from tickets.errors import InvalidInput
from tickets.ids import whole_number
from tickets.models import (
    WORKING_STATUSES,
    EventKind,
    Message,
    MessageKind,
    SLAClock,
    Ticket,
    TicketEvent,
    TicketMetrics,
)
from tickets.queues import BREACHING_WITHIN
from tickets.reporting.overview import AGES
from tickets.reporting.satisfaction import GOOD
from tickets.reporting.scope import Scope
from tickets.reporting.tiers import tier_moves

Rows = QuerySet[TicketMetrics]


def tickets_behind(metric: str, scope: Scope, now: datetime, params: Mapping[str, str]) -> Rows:
    """The metrics rows of the tickets behind `metric`, in `scope`."""
    try:
        select = METRICS[metric][1]
    except KeyError:
        raise InvalidInput(
            _("Unknown report number %(metric)r.") % {"metric": metric}, code="invalid_metric"
        ) from None
    return select(scope.tickets(), scope, now, _Params(params))


def title(metric: str) -> str:
    return METRICS[metric][0] if metric in METRICS else metric


class _Params:
    """The metric's own parameters, checked: a wrong one is a clear 400."""

    def __init__(self, params: Mapping[str, str]) -> None:
        self.params = params

    def number(self, name: str, *, required: bool = True) -> int | None:
        value = self.params.get(name, "")
        if value == "" and not required:
            return None
        number = whole_number(value)
        if number is None:
            raise InvalidInput(
                _("%(name)s must be a number.") % {"name": name}, code=f"invalid_{name}"
            )
        return number

    def required(self, name: str) -> int:
        value = self.number(name)
        assert value is not None
        return value

    def text(self, name: str) -> str:
        value = self.params.get(name, "")
        if "\x00" in value:  # PostgreSQL compares no text holding one
            raise InvalidInput(
                _("%(name)s holds a NUL character.") % {"name": name}, code=f"invalid_{name}"
            )
        return value


Select = Callable[[Rows, Scope, datetime, _Params], Rows]


def _created(rows: Rows, scope: Scope, now: datetime, p: _Params) -> Rows:
    return rows.filter(scope.within("created_at"))


def _solved(rows: Rows, scope: Scope, now: datetime, p: _Params) -> Rows:
    rows = rows.filter(scope.within("solved_at"))
    solved_tier = p.number("solved_tier", required=False)
    return rows if solved_tier is None else rows.filter(solved_tier=solved_tier)


def _backlog_start(rows: Rows, scope: Scope, now: datetime, p: _Params) -> Rows:
    return rows.filter(created_at__lt=scope.since).filter(
        Q(solved_at__isnull=True) | Q(solved_at__gte=scope.since)
    )


def _backlog_end(rows: Rows, scope: Scope, now: datetime, p: _Params) -> Rows:
    """Not solved at the end of the period (the series' backlog at the end of a day)."""
    return rows.filter(created_at__lt=scope.until).filter(
        Q(solved_at__isnull=True) | Q(solved_at__gte=scope.until)
    )


def _backlog_now(rows: Rows, scope: Scope, now: datetime, p: _Params) -> Rows:
    return rows.filter(solved_at__isnull=True)


def _backlog_age(rows: Rows, scope: Scope, now: datetime, p: _Params) -> Rows:
    index = p.required("age")
    if not 0 <= index < len(AGES):
        raise InvalidInput(_("age is one of the backlog's age groups."), code="invalid_age")
    # As the report groups them: at least this group's days old, younger than the next's.
    rows = rows.filter(solved_at__isnull=True, created_at__lte=now - timedelta(days=AGES[index][1]))
    if index + 1 < len(AGES):
        rows = rows.filter(created_at__gt=now - timedelta(days=AGES[index + 1][1]))
    return rows


def _first_replied(rows: Rows, scope: Scope, now: datetime, p: _Params) -> Rows:
    rows = rows.filter(scope.within("first_reply_at"))
    by = p.number("by", required=False)
    return rows if by is None else rows.filter(first_reply_by_id=by)


def _next_replied(rows: Rows, scope: Scope, now: datetime, p: _Params) -> Rows:
    replies = Message.objects.filter(
        scope.within("created_at"),
        kind=MessageKind.OUTBOUND,
        first_reply=False,
        waited_minutes__isnull=False,
    )
    return rows.filter(ticket_id__in=replies.values("ticket_id"))


def _first_contact(rows: Rows, scope: Scope, now: datetime, p: _Params) -> Rows:
    return rows.filter(scope.within("solved_at"), replies=1, reopens=0)


def _reopened(rows: Rows, scope: Scope, now: datetime, p: _Params) -> Rows:
    return rows.filter(scope.within("solved_at"), reopens__gt=0)


def _rated(rows: Rows, scope: Scope, now: datetime, p: _Params) -> Rows:
    rows = rows.filter(scope.within("rated_at"))
    rating = p.number("rating", required=False)
    if rating is not None:
        rows = rows.filter(rating=rating)
    if p.text("good"):
        rows = rows.filter(rating__gte=GOOD)
    solved_tier = p.number("solved_tier", required=False)
    if solved_tier is not None:
        rows = rows.filter(solved_tier=solved_tier)
    return rows


def _solved_rated(rows: Rows, scope: Scope, now: datetime, p: _Params) -> Rows:
    return rows.filter(scope.within("solved_at"), rating__isnull=False)


def _sla(outcome: Q) -> Select:
    def select(rows: Rows, scope: Scope, now: datetime, p: _Params) -> Rows:
        clocks = SLAClock.objects.filter(scope.within("started_at")).filter(outcome)
        if policy := p.number("policy", required=False):
            clocks = clocks.filter(policy_id=policy)
        if kind := p.text("kind"):
            clocks = clocks.filter(kind=kind)
        return rows.filter(ticket_id__in=clocks.values("ticket_id"))

    return select


def _working(due: Callable[[datetime], Q]) -> Select:
    def select(rows: Rows, scope: Scope, now: datetime, p: _Params) -> Rows:
        working = Ticket.objects.filter(due(now), status__in=WORKING_STATUSES)
        return rows.filter(ticket_id__in=working.values("pk"))

    return select


def _tier_new(rows: Rows, scope: Scope, now: datetime, p: _Params) -> Rows:
    return rows.filter(scope.within("created_at"), first_tier=p.required("level"))


def _tier_solved(rows: Rows, scope: Scope, now: datetime, p: _Params) -> Rows:
    return rows.filter(scope.within("solved_at"), solved_tier=p.required("level"))


def _moves(condition: Callable[[int], Q]) -> Select:
    def select(rows: Rows, scope: Scope, now: datetime, p: _Params) -> Rows:
        level = p.required("level")
        moves = tier_moves(scope).filter(condition(level))
        if "reason" in p.params:
            moves = moves.filter(reason=p.text("reason"))
        return rows.filter(ticket_id__in=moves.values("ticket_id"))

    return select


def _moved(rows: Rows, scope: Scope, now: datetime, p: _Params) -> Rows:
    moves = tier_moves(scope).filter(from_level=p.required("from"), to_level=p.required("to"))
    return rows.filter(ticket_id__in=moves.values("ticket_id"))


def _deflected(rows: Rows, scope: Scope, now: datetime, p: _Params) -> Rows:
    events = TicketEvent.objects.filter(scope.within("created_at"), kind=EventKind.DEFLECTED)
    return rows.filter(ticket_id__in=events.values("ticket_id"))


def _assigned(rows: Rows, scope: Scope, now: datetime, p: _Params) -> Rows:
    events = TicketEvent.objects.filter(
        scope.within("created_at"), kind=EventKind.ASSIGNED, data__to=p.required("by")
    )
    return rows.filter(ticket_id__in=events.values("ticket_id"))


def _replied(rows: Rows, scope: Scope, now: datetime, p: _Params) -> Rows:
    replies = Message.objects.filter(
        scope.within("created_at"), kind=MessageKind.OUTBOUND, author_user_id=p.required("by")
    )
    return rows.filter(ticket_id__in=replies.values("ticket_id"))


METRICS: dict[str, tuple[str, Select]] = {
    "created": ("Created in the period", _created),
    "solved": ("Solved in the period", _solved),
    "backlog_start": ("Backlog at the start of the period", _backlog_start),
    "backlog_end": ("Not solved at the end of the period", _backlog_end),
    "backlog_now": ("Not solved now", _backlog_now),
    "backlog_age": ("Not solved now, by age", _backlog_age),
    "first_replied": ("First replied to in the period", _first_replied),
    "next_replied": ("Answered again in the period", _next_replied),
    "first_contact": ("Solved at first contact", _first_contact),
    "reopened": ("Solved in the period after a reopen", _reopened),
    "rated": ("Rated in the period", _rated),
    "solved_rated": ("Solved in the period and rated", _solved_rated),
    "sla_met": ("SLA targets met", _sla(Q(stopped_at__isnull=False, breached=False))),
    "sla_breached": ("SLA targets breached", _sla(Q(breached=True))),
    "sla_running": ("SLA targets in progress", _sla(Q(stopped_at__isnull=True, breached=False))),
    "breached_now": ("Breached now", _working(lambda now: Q(sla_due_at__lt=now))),
    "due_soon": (
        "Due within the hour",
        _working(lambda now: Q(sla_due_at__gte=now, sla_due_at__lt=now + BREACHING_WITHIN)),
    ),
    "tier_new": ("Created in the tier", _tier_new),
    "tier_solved": ("Solved in the tier", _tier_solved),
    "escalated": ("Escalated from the tier", _moves(lambda n: Q(from_level=n, to_level__gt=n))),
    "sent_down": ("Sent down from the tier", _moves(lambda n: Q(from_level=n, to_level__lt=n))),
    "entered_from_below": (
        "Escalated into the tier",
        _moves(lambda n: Q(to_level=n, from_level__lt=n)),
    ),
    "entered_from_above": (
        "Sent down into the tier",
        _moves(lambda n: Q(to_level=n, from_level__gt=n)),
    ),
    "moved": ("Moved between the two tiers", _moved),
    "deflected": ("Closed by the customer from the tier-0 answers", _deflected),
    "assigned": ("Assigned to the agent in the period", _assigned),
    "replied": ("Replied to by the agent in the period", _replied),
}

__all__ = ["METRICS", "tickets_behind", "title"]
