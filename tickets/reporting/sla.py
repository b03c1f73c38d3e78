"""SLA: which targets were met and which were breached, per policy and per target, and the
breaches happening now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q

from tickets.models import WORKING_STATUSES, ClockKind, SLAClock, Ticket
from tickets.queues import BREACHING_WITHIN
from tickets.reporting.scope import Scope


@dataclass(frozen=True)
class Attainment:
    policy: str
    target: str
    met: int
    breached: int
    in_progress: int
    rate: float | None  # met among the targets that ended (met or breached)


def attainment(policy: str, target: str, met: int, breached: int, in_progress: int) -> Attainment:
    ended = met + breached
    return Attainment(policy, target, met, breached, in_progress, met / ended if ended else None)


@dataclass(frozen=True)
class SLAReport:
    scope: Scope
    targets: list[Attainment]
    total: Attainment
    breached_now: int
    due_soon: int


def sla_report(scope: Scope, now: datetime) -> SLAReport:
    clocks = SLAClock.objects.filter(
        scope.within("started_at"),
        scope.dimensions("ticket__metrics__"),
        ticket__metrics__merged=False,
    )
    grouped = (
        clocks.values("policy__name", "kind")
        .annotate(
            n_met=Count("pk", filter=Q(stopped_at__isnull=False, breached=False)),
            n_breached=Count("pk", filter=Q(breached=True)),
            n_running=Count("pk", filter=Q(stopped_at__isnull=True, breached=False)),
        )
        .order_by("policy__name", "kind")
    )
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
    )
