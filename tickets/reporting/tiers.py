"""Tier flow: how work enters each tier, leaves it (solved, escalated up, sent back down),
how long it stays, and what tier 0 (self-service) answers before a ticket exists."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.db.models import Count, F, Q, QuerySet

from knowledge import reports as kb
from tickets.models import EventKind, TicketEvent, TicketMetrics, Tier, TierMove
from tickets.problems import known_issues
from tickets.reporting.responsiveness import percentile
from tickets.reporting.scope import Scope

LEVELS = range(4)
TOP_REASONS = 3


@dataclass(frozen=True)
class Reason:
    reason: str
    count: int


@dataclass(frozen=True)
class TierFlow:
    """One tier over the period."""

    level: int
    name: str
    entered_new: int  # tickets created in this tier
    entered_from_below: int  # escalated into it
    entered_from_above: int  # sent down into it
    solved: int  # solved while in this tier
    escalated: int  # moved up from it
    sent_down: int  # moved down from it
    top_reasons: list[Reason]  # why tickets were escalated from it
    tickets_timed: int  # solved tickets that spent time here
    median_minutes: int | None  # business minutes spent here, per ticket
    p90_minutes: int | None

    @property
    def entered(self) -> int:
        return self.entered_new + self.entered_from_below + self.entered_from_above

    @property
    def left(self) -> int:
        return self.solved + self.escalated + self.sent_down

    @property
    def solved_rate(self) -> float | None:
        """Solved here among the tickets that left the tier in the period."""
        return self.solved / self.left if self.left else None


@dataclass(frozen=True)
class Move:
    from_level: int
    to_level: int
    count: int


@dataclass(frozen=True)
class Deflection:
    """Tier 0: requests self-service answered, before or instead of a human."""

    web_form: int  # contact forms given up after "this solved my problem"
    tier0_answers: int  # tickets the customer closed from the tier-0 answers
    tickets_created: int
    # "tell me when it's fixed" asked of a known issue (on the banner or the status page)
    # instead of a ticket
    known_issue: int = 0

    @property
    def deflected(self) -> int:
        return self.web_form + self.tier0_answers + self.known_issue

    @property
    def rate(self) -> float | None:
        """Among all requests: tickets created, and those that needed none (given-up forms,
        known-issue subscriptions)."""
        requests = self.tickets_created + self.web_form + self.known_issue
        return self.deflected / requests if requests else None


@dataclass(frozen=True)
class TierFlowReport:
    scope: Scope
    tiers: list[TierFlow]
    moves: list[Move]
    deflection: Deflection


def tier_flow(scope: Scope) -> TierFlowReport:
    tickets = scope.tickets()
    created = _by_tier(tickets.filter(scope.within("created_at")), "first_tier")
    solved = _by_tier(tickets.filter(scope.within("solved_at")), "solved_tier")
    moves = [
        Move(a, b, n)
        for a, b, n in tier_moves(scope)
        .values_list("from_level", "to_level")
        .annotate(n=Count("pk"))
        .order_by("from_level", "to_level")
    ]
    names = dict(Tier.objects.values_list("level", "name"))
    reasons = _top_reasons(scope)
    flows = []
    for level in LEVELS:
        timed = _time_in_tier(scope, level)
        flows.append(
            TierFlow(
                level=level,
                name=names.get(level, f"Tier {level}"),
                entered_new=created[level],
                entered_from_below=sum(
                    m.count for m in moves if m.to_level == level > m.from_level
                ),
                entered_from_above=sum(
                    m.count for m in moves if m.to_level == level < m.from_level
                ),
                solved=solved[level],
                escalated=sum(m.count for m in moves if m.from_level == level < m.to_level),
                sent_down=sum(m.count for m in moves if m.from_level == level > m.to_level),
                top_reasons=reasons.get(level, []),
                tickets_timed=sum(n for _, n in timed),
                median_minutes=percentile(timed, 0.5),
                p90_minutes=percentile(timed, 0.9),
            )
        )
    return TierFlowReport(scope, flows, moves, _deflection(scope, sum(created.values())))


def _by_tier(rows: QuerySet[TicketMetrics], column: str) -> Counter:
    return Counter(dict(rows.values_list(column).annotate(n=Count("pk")).order_by()))


def tier_moves(scope: Scope) -> QuerySet[TierMove]:
    """Moves between tiers in the period, of the tickets the filters select."""
    return TierMove.objects.filter(scope.within("at"), scope.of_tickets())


def _top_reasons(scope: Scope) -> dict[int, list[Reason]]:
    """The commonest reasons for escalating from each tier (a rule's own reason included)."""
    grouped = (
        tier_moves(scope)
        .filter(to_level__gt=F("from_level"))
        .values_list("from_level", "reason")
        .annotate(n=Count("pk"))
        .order_by("from_level", "-n", "reason")
    )
    found: dict[int, list[Reason]] = {}
    for level, reason, n in grouped:
        top = found.setdefault(level, [])
        if len(top) < TOP_REASONS:
            top.append(Reason(reason, n))
    return found


def _time_in_tier(scope: Scope, level: int) -> list[tuple[int, int]]:
    """Business minutes spent in the tier by the tickets solved in the period that were
    there (entered it, or were solved in it), as (minutes, how many)."""
    column = f"tier{level}_minutes"
    there = Q(first_tier=level) | Q(solved_tier=level) | Q(**{f"{column}__gt": 0})
    return list(
        scope.tickets()
        .filter(scope.within("solved_at"))
        .filter(there)
        .values_list(column)
        .annotate(n=Count("pk"))
        .order_by(column)
    )


def _deflection(scope: Scope, tickets_created: int) -> Deflection:
    """Contact forms given up and known-issue subscriptions carry no ticket, so the filters
    do not narrow them."""
    answers = TicketEvent.objects.filter(
        scope.within("created_at"),
        scope.of_tickets(),
        kind=EventKind.DEFLECTED,
    ).count()
    return Deflection(
        web_form=kb.web_form_deflections(since=scope.since, until=scope.until),
        tier0_answers=answers,
        tickets_created=tickets_created,
        known_issue=known_issues.subscribed_between(scope.since, scope.until),
    )
