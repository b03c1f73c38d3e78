"""SLA: which targets were met and which were breached, per policy and per target, and the
breaches happening now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet

from tickets.models import WORKING_STATUSES, ClockKind, SLAClock, Ticket
from tickets.queues import BREACHING_WITHIN
from tickets.reporting.scope import Scope


@dataclass(frozen=True)
class Attainment:
    policy: str
    target: str
    policy_id: int | None  # None: all policies (a total)
    kind: str  # the target's ClockKind; empty: all targets
    met: int
    breached: int
    in_progress: int
    rate: float | None  # met among the targets that ended (met or breached)


def attainment(
    policy: str,
    target: str,
    met: int,
    breached: int,
    in_progress: int,
    *,
    policy_id: int | None = None,
    kind: str = "",
) -> Attainment:
    ended = met + breached
    rate = met / ended if ended else None
    return Attainment(policy, target, policy_id, kind, met, breached, in_progress, rate)


# Each target's outcome, counted in one grouped query.
OUTCOMES = {
    "n_met": Count("pk", filter=Q(stopped_at__isnull=False, breached=False)),
    "n_breached": Count("pk", filter=Q(breached=True)),
    "n_running": Count("pk", filter=Q(stopped_at__isnull=True, breached=False)),
}


@dataclass(frozen=True)
class Point:
    """The targets that started in one day or week, and how they ended."""

    start: datetime
    outcome: Attainment


@dataclass(frozen=True)
class SLAReport:
    scope: Scope
    targets: list[Attainment]
    total: Attainment
    breached_now: int
    due_soon: int
    series: list[Point]


def sla_report(scope: Scope, now: datetime) -> SLAReport:
    clocks = SLAClock.objects.filter(
        scope.within("started_at"),
        scope.dimensions("ticket__metrics__"),
        ticket__metrics__merged=False,
    )
    grouped: list[dict[str, Any]] = [
        dict(row)
        for row in clocks.values("policy_id", "policy__name", "kind")
        .annotate(**OUTCOMES)
        .order_by("policy__name", "kind")
    ]
    labels = dict(ClockKind.choices)
    working = Ticket.objects.filter(
        scope.dimensions("metrics__"), status__in=WORKING_STATUSES, merged_into__isnull=True
    )
    targets = [
        attainment(
            row["policy__name"] or "(policy deleted)",
            str(labels.get(row["kind"], row["kind"])),
            row["n_met"],
            row["n_breached"],
            row["n_running"],
            policy_id=row["policy_id"],
            kind=row["kind"],
        )
        for row in grouped
    ]
    return SLAReport(
        scope=scope,
        targets=targets,
        total=attainment(
            "All policies",
            "All targets",
            sum(t.met for t in targets),
            sum(t.breached for t in targets),
            sum(t.in_progress for t in targets),
        ),
        breached_now=working.filter(sla_due_at__lt=now).count(),
        due_soon=working.filter(sla_due_at__gte=now, sla_due_at__lt=now + BREACHING_WITHIN).count(),
        series=_series(scope, clocks),
    )


def _series(scope: Scope, clocks: QuerySet[SLAClock]) -> list[Point]:
    """Attainment of the targets that started in each day or week: the trend."""
    by_start: dict[datetime, dict[str, Any]] = {
        row["bucket"]: dict(row)
        for row in clocks.annotate(bucket=scope.trunc("started_at"))
        .values("bucket")
        .annotate(**OUTCOMES)
        .order_by()
    }
    points = []
    for start in scope.buckets():
        row = by_start.get(start, {"n_met": 0, "n_breached": 0, "n_running": 0})
        outcome = attainment("", "", row["n_met"], row["n_breached"], row["n_running"])
        points.append(Point(start, outcome))
    return points
