"""Overview: how much came in, how much was solved, and the backlog, over the period."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.db.models import Count, Q, Sum
from django.utils import timezone

from tickets.fields.selectors import active_fields
from tickets.models import Channel, FieldKind, Organization, Priority, TicketFieldValue
from tickets.reporting import rollups
from tickets.reporting.rollups import Grain
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
    """Whole past days come from the daily counts when the filters are ones they are
    counted by (tickets.reporting.rollups); the rest of the period from the tickets."""
    tickets = scope.tickets()
    period = _split(scope, scope.since, scope.until, now)
    created, solved = _counted(scope, period)
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
        by_organization=_organizations(scope, period),
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
    to its latest solve, so the backlog then is the backlog now, less what came in since,
    plus what was solved since: for a period that runs up to now, no query; for a past one,
    the totals from its end to today (daily counts for whole past days)."""
    if scope.until > now:
        return if_ending_now
    zone = scope.since.tzinfo
    today = timezone.localtime(now, zone).date()
    end = datetime.combine(today + timedelta(days=1), time(), zone)
    later = _totals(scope, _split(scope, scope.until, end, now))
    return if_ending_now - later["created"] + later["solved"]


def _split(scope: Scope, since: datetime, until: datetime, now: datetime) -> rollups.Split:
    if scope.organization_id is not None or scope.agent_id is not None:
        return rollups.tickets_only(since, until)  # not counted by these
    return rollups.split(since, until, now)


def _totals(scope: Scope, period: rollups.Split) -> Counter:
    """Tickets created and solved within the split's days and moments."""
    totals: Counter = Counter()
    if period.counted:
        found = period.counts(Grain.DIMENSIONS, scope.dimensions()).aggregate(
            created=Sum("created"), solved=Sum("solved")
        )
        totals.update({name: n or 0 for name, n in found.items()})
    if period.rest:
        tickets = scope.tickets()
        totals["created"] += tickets.filter(period.moments("created_at")).count()
        totals["solved"] += tickets.filter(period.moments("solved_at")).count()
    return totals


def _counted(scope: Scope, period: rollups.Split) -> tuple[dict[str, Counter], dict[str, Counter]]:
    """Created and solved by bucket, channel, tier and priority: from the daily counts (two
    grouped reads of a few rows a day) and from the tickets (a grouped query each)."""
    created, solved = _counters(), _counters()
    if period.counted:
        rows = period.counts(Grain.DIMENSIONS, scope.dimensions())
        for row in rows.values("day").annotate(c=Sum("created"), s=Sum("solved")).order_by():
            start = rollups.bucket_of(scope.bucket, row["day"], scope.since.tzinfo)
            created["bucket"][start] += row["c"]
            solved["bucket"][start] += row["s"]
        names = ("channel", "tier_level", "priority")
        for row in rows.values(*names).annotate(c=Sum("created"), s=Sum("solved")).order_by():
            for name in names:
                created[name][row[name]] += row["c"]
                solved[name][row[name]] += row["s"]
    if period.rest:
        tickets = scope.tickets()
        for column, counts in (("created_at", created), ("solved_at", solved)):
            _count_tickets(tickets.filter(period.moments(column)), column, scope, counts)
    for counts in (created, solved):
        for counter in counts.values():
            for key in [k for k, n in counter.items() if not n]:
                del counter[key]  # a value with solves but nothing created, or the reverse
    return created, solved


def _counters() -> dict[str, Counter]:
    return {
        "bucket": Counter(),
        "channel": Counter(),
        "tier_level": Counter(),
        "priority": Counter(),
    }


def _count_tickets(rows, column: str, scope: Scope, counts: dict[str, Counter]) -> None:
    """Counts by bucket, channel, tier and priority, from one grouped query."""
    grouped = (
        rows.annotate(bucket=scope.trunc(column))
        .values("bucket", "channel", "tier_level", "priority")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in grouped:
        for name in counts:
            counts[name][row[name]] += row["n"]


def _series(scope: Scope, created: Counter, solved: Counter, at_start: int) -> list[Point]:
    points, backlog = [], at_start
    for start in scope.buckets():
        backlog += created[start] - solved[start]
        points.append(Point(start, created[start], solved[start], backlog))
    return points


def _rows(created: Counter, solved: Counter, labels: dict) -> list[Row]:
    keys = sorted(set(created) | set(solved), key=lambda k: -(created[k] + solved[k]))
    return [Row(str(k), str(labels.get(k, k)), created[k], solved[k]) for k in keys]


def _organizations(scope: Scope, period: rollups.Split) -> list[Row]:
    """The organizations with the most tickets created or solved in the period, ties by
    name. Counted by day by organization alone: the daily counts answer only unfiltered."""
    if scope.has_dimensions():
        period = rollups.tickets_only(scope.since, scope.until)
    tallies = _by_organization(scope, period)
    names: dict[int | None, str] = dict(
        Organization.objects.filter(pk__in=[pk for pk in tallies if pk is not None]).values_list(
            "pk", "name"
        )
    )
    ranked = sorted(
        ((pk, n) for pk, n in tallies.items() if n["created"] or n["solved"]),
        key=lambda item: (
            -item[1]["created"],
            -item[1]["solved"],
            names.get(item[0]) or "",
            item[0] or 0,
        ),
    )
    return [
        Row(str(pk or ""), names.get(pk) or "No organization", n["created"], n["solved"])
        for pk, n in ranked[:TOP_ORGANIZATIONS]
    ]


def _by_organization(scope: Scope, period: rollups.Split) -> dict[int | None, Counter]:
    tallies: dict[int | None, Counter] = defaultdict(Counter)
    if period.counted:
        counted = (
            period.counts(Grain.ORGANIZATION, Q())
            .values("organization_id")
            .annotate(created=Sum("created"), solved=Sum("solved"))
            .order_by()
        )
        for row in counted:
            tallies[row["organization_id"]].update(created=row["created"], solved=row["solved"])
    if period.rest:
        created, solved = period.moments("created_at"), period.moments("solved_at")
        found = (
            scope.tickets()
            .filter(created | solved)
            .values("organization_id")
            .annotate(created=Count("pk", filter=created), solved=Count("pk", filter=solved))
            .order_by()
        )
        for found_row in found:
            tallies[found_row["organization_id"]].update(
                created=found_row["created"], solved=found_row["solved"]
            )
    return tallies


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
