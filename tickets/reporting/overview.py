"""Overview: how much came in, how much was solved, and the backlog, over the period."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Q

from tickets.fields.selectors import active_fields
from tickets.models import Channel, FieldKind, Priority, TicketFieldValue
from tickets.reporting.scope import Scope

# The backlog's age groups: (label, at least this many days old).
AGES = [("Under 1 day", 0), ("1-3 days", 1), ("3-7 days", 3), ("1-4 weeks", 7), ("Older", 28)]
TOP_ORGANIZATIONS = 10


@dataclass(frozen=True)
class Row:
    """One line of a breakdown: created and solved in the period."""

    key: str
    label: str
    created: int
    solved: int


@dataclass(frozen=True)
class Point:
    start: datetime
    created: int
    solved: int
    backlog: int  # not solved at the end of the day or week


@dataclass(frozen=True)
class Overview:
    scope: Scope
    created: int
    solved: int
    backlog_at_start: int
    backlog_now: int
    series: list[Point]
    by_channel: list[Row]
    by_tier: list[Row]
    by_priority: list[Row]
    by_organization: list[Row]
    backlog_age: list[tuple[str, int]]
    # Per drop-down custom field (tickets.fields): (its label, its rows), in the fields' order.
    by_field: list[tuple[str, list[Row]]] = field(default_factory=list)


def overview(scope: Scope, now: datetime) -> Overview:
    tickets = scope.tickets()
    created = _counted(tickets.filter(scope.within("created_at")), "created_at", scope)
    solved = _counted(tickets.filter(scope.within("solved_at")), "solved_at", scope)
    n_created, n_solved = sum(created["bucket"].values()), sum(solved["bucket"].values())
    backlog_now = tickets.filter(solved_at__isnull=True).count()
    at_start = _backlog_at_start(scope, now, backlog_now - n_created + n_solved)
    return Overview(
        scope=scope,
        created=n_created,
        solved=n_solved,
        backlog_at_start=at_start,
        backlog_now=backlog_now,
        series=_series(scope, created["bucket"], solved["bucket"], at_start),
        by_channel=_rows(created["channel"], solved["channel"], dict(Channel.choices)),
        by_tier=_rows(
            created["tier_level"], solved["tier_level"], {n: f"Tier {n}" for n in range(4)}
        ),
        by_priority=_rows(created["priority"], solved["priority"], dict(Priority.choices)),
        by_organization=_organizations(scope),
        backlog_age=_backlog_age(scope, now),
        by_field=_by_dropdowns(scope),
    )


def _by_dropdowns(scope: Scope) -> list[tuple[str, list[Row]]]:
    """Tickets created and solved in the period by the value of each drop-down field: two
    grouped queries on the values index, whatever the number of fields (none without)."""
    fields = [f for f in active_fields().values() if f.kind == FieldKind.DROPDOWN]
    if not fields:
        return []
    counts: dict[str, Counter] = {}
    for column in ("created_at", "solved_at"):
        grouped = (
            TicketFieldValue.objects.filter(
                field_id__in=[f.pk for f in fields],
                ticket_id__in=scope.tickets().filter(scope.within(column)).values("ticket_id"),
            )
            .values_list("field_id", "value_text")
            .annotate(n=Count("pk"))
            .order_by()
        )
        counts[column] = Counter({(pk, value): n for pk, value, n in grouped})
    breakdowns = []
    for f in fields:
        labels = {choice.value: choice.label for choice in f.choices.all()}
        created = Counter({v: n for (pk, v), n in counts["created_at"].items() if pk == f.pk})
        solved = Counter({v: n for (pk, v), n in counts["solved_at"].items() if pk == f.pk})
        # No drill-down link (key ""): the ticket lists do not filter by a field yet.
        rows = [Row("", r.label, r.created, r.solved) for r in _rows(created, solved, labels)]
        breakdowns.append((f.agent_label, rows))
    return breakdowns


def _backlog_at_start(scope: Scope, now: datetime, if_ending_now: int) -> int:
    """Tickets not solved when the period began. Each ticket is unsolved from its creation
    to its latest solve, so for a period that runs up to now the backlog then is the backlog
    now, less what came in since, plus what was solved since: no query."""
    if scope.until > now:
        return if_ending_now
    return (
        scope.tickets()
        .filter(created_at__lt=scope.since)
        .filter(Q(solved_at__isnull=True) | Q(solved_at__gte=scope.since))
        .count()
    )


def _counted(rows, column: str, scope: Scope) -> dict[str, Counter]:
    """Counts by bucket, channel, tier and priority, from one grouped query."""
    counts: dict[str, Counter] = {
        "bucket": Counter(), "channel": Counter(), "tier_level": Counter(), "priority": Counter()
    }  # fmt: skip
    grouped = (
        rows.annotate(bucket=scope.trunc(column))
        .values("bucket", "channel", "tier_level", "priority")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in grouped:
        for name in counts:
            counts[name][row[name]] += row["n"]
    return counts


def _series(scope: Scope, created: Counter, solved: Counter, at_start: int) -> list[Point]:
    points, backlog = [], at_start
    for start in scope.buckets():
        backlog += created[start] - solved[start]
        points.append(Point(start, created[start], solved[start], backlog))
    return points


def _rows(created: Counter, solved: Counter, labels: dict) -> list[Row]:
    keys = sorted(set(created) | set(solved), key=lambda k: -(created[k] + solved[k]))
    return [Row(str(k), str(labels.get(k, k)), created[k], solved[k]) for k in keys]


def _organizations(scope: Scope) -> list[Row]:
    """The organizations with the most tickets created or solved in the period."""
    grouped = (
        scope.tickets()
        .filter(scope.within("created_at") | scope.within("solved_at"))
        .values("organization_id", "organization__name")
        .annotate(
            created=Count("pk", filter=scope.within("created_at")),
            solved=Count("pk", filter=scope.within("solved_at")),
        )
        .order_by("-created", "-solved", "organization__name")[:TOP_ORGANIZATIONS]
    )
    return [
        Row(
            str(row["organization_id"] or ""),
            row["organization__name"] or "No organization",
            row["created"],
            row["solved"],
        )
        for row in grouped
    ]


def _backlog_age(scope: Scope, now: datetime) -> list[tuple[str, int]]:
    """Tickets not solved now, by how long ago they came in: one pass over the unsolved
    tickets' index (a count per age group, no grouping)."""
    bounds = [now - timedelta(days=days) for _, days in AGES]
    groups = {}
    for index, newest in enumerate(bounds):
        age = Q(created_at__lte=newest)
        if index + 1 < len(bounds):
            age &= Q(created_at__gt=bounds[index + 1])
        groups[f"age{index}"] = Count("created_at", filter=age)
    counts = scope.tickets().filter(solved_at__isnull=True).aggregate(**groups)
    return [(label, counts[f"age{index}"]) for index, (label, _) in enumerate(AGES)]
