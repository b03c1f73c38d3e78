"""SLA: which targets were met and which were breached, per policy and per target, and the
breaches happening now."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, Sum

from tickets.models import WORKING_STATUSES, ClockKind, SLAClock, SLAPolicy, Ticket
from tickets.queues import BREACHING_WITHIN
from tickets.reporting import rollups
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


# Each target's outcome, counted in one grouped query (of a column clock_started_idx holds,
# so the index answers alone).
OUTCOMES = {
    "n_met": Count("started_at", filter=Q(stopped_at__isnull=False, breached=False)),
    "n_breached": Count("started_at", filter=Q(breached=True)),
    "n_running": Count("started_at", filter=Q(stopped_at__isnull=True, breached=False)),
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
    grouped = _grouped(scope, now)
    names: dict[int | None, str] = dict(
        SLAPolicy.objects.filter(pk__in={g[1] for g in grouped}).values_list("pk", "name")
    )
    labels = dict(ClockKind.choices)
    per_target: dict[tuple[int | None, str], Counter] = defaultdict(Counter)
    per_bucket: dict[datetime, Counter] = defaultdict(Counter)
    for bucket, policy_id, kind, counts in grouped:
        per_target[policy_id, kind].update(counts)
        per_bucket[bucket].update(counts)
    targets = sorted(
        (
            _attained(
                names.get(policy_id, "(policy deleted)"),
                str(labels.get(kind, kind)),
                counts,
                policy_id=policy_id,
                kind=kind,
            )
            for (policy_id, kind), counts in per_target.items()
        ),
        key=lambda t: (t.policy, t.kind),
    )
    working = Ticket.objects.filter(
        scope.dimensions("metrics__"), status__in=WORKING_STATUSES, merged_into__isnull=True
    )
    return SLAReport(
        scope=scope,
        targets=targets,
        total=_attained("All policies", "All targets", sum(per_target.values(), Counter())),
        breached_now=working.filter(sla_due_at__lt=now).count(),
        due_soon=working.filter(sla_due_at__gte=now, sla_due_at__lt=now + BREACHING_WITHIN).count(),
        series=[
            Point(start, _attained("", "", per_bucket.get(start, Counter())))
            for start in scope.buckets()
        ],
    )


def _grouped(scope: Scope, now: datetime) -> list[tuple[datetime, int | None, str, Counter]]:
    """The period's targets by day or week, policy and target, and how they stand; the
    table and the trend are both sums of these rows. Whole past days come from the daily
    counts when the filters are ones they keep (tickets.reporting.rollups), the rest from
    one pass over the clocks."""
    if scope.organization_id is None and scope.agent_id is None:
        period = rollups.split(scope.since, scope.until, now)
    else:
        period = rollups.tickets_only(scope.since, scope.until)
    grouped = []
    if period.counted:
        counted = (
            period.targets(scope.dimensions())
            .values("day", "policy_id", "kind")
            .annotate(n_met=Sum("met"), n_breached=Sum("breached"), n_running=Sum("running"))
            .order_by()
        )
        for row in counted:
            start = rollups.bucket_of(scope.bucket, row["day"], scope.since.tzinfo)
            grouped.append((start, row["policy_id"], row["kind"], _outcome(dict(row))))
    if period.rest:
        clocks = SLAClock.objects.filter(period.moments("started_at"), scope.of_tickets())
        grouped += [
            (row["bucket"], row["policy_id"], row["kind"], _outcome(dict(row)))
            for row in clocks.annotate(bucket=scope.trunc("started_at"))
            .values("bucket", "policy_id", "kind")
            .annotate(**OUTCOMES)
            .order_by()
        ]
    return grouped


def _outcome(row: dict[str, Any]) -> Counter:
    return Counter({name: row[name] for name in OUTCOMES})


def _attained(policy: str, target: str, counts: Counter, **which: Any) -> Attainment:
    return attainment(
        policy, target, counts["n_met"], counts["n_breached"], counts["n_running"], **which
    )
