"""Daily counts: the overview's tickets created and solved and the SLA report's targets,
counted once per day of the desk's time zone, so a long period reads a few rows a day
instead of a row per ticket or clock.

Exact, not approximate: a day's counts are always counted afresh from TicketMetrics and
SLAClock (never incremented by the doors), and a day is read from them only while nothing
has changed its tickets since. Database triggers on those two tables mark the moments a
change touches (RollupDirty, migrations 0045 and 0046), whatever door made it: a service's
save, a bulk UPDATE, a cascade DELETE, the backfill. `refresh` (the `tickets.rollup_reports`
task, on a schedule) counts those days again, and fills in past days not counted yet. A
report reads the counts for whole past days that are counted and not marked, and the
tickets for the rest: today, marked days, days never counted, or a time zone other than
the counts' (an agent's own). Medians and percentiles cannot be summed from days: those
figures read the tickets."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from functools import reduce
from operator import or_

from django.db import connection, transaction
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from tickets.models import (
    DailyTargetCount,
    DailyTicketCount,
    RollupDay,
    RollupDirty,
    SLAClock,
    TicketMetrics,
)

Grain = DailyTicketCount.Grain
TargetGrain = DailyTargetCount.Grain
# The columns each grain counts by (TicketMetrics' and SLAClock's names, the counts' too).
GRAIN_COLUMNS = {
    Grain.DIMENSIONS: ("channel", "tier_level", "priority"),
    Grain.ORGANIZATION: ("organization_id",),
}
TARGET_GRAIN_COLUMNS = {
    TargetGrain.TOTAL: ("policy_id", "kind"),
    TargetGrain.DIMENSIONS: ("policy_id", "kind", "channel", "tier_level", "priority"),
}
# Past days the task fills in when they were never counted: the longest period a report
# covers, and how many of them one run counts (newest first), so a first run stays short.
KEPT_DAYS = 731
DAYS_PER_RUN = 92
MARKS_PER_RUN = 20_000
_DELETE_BATCH = 500  # ids a statement deletes (SQLite's limit on parameters)


def zone_name(zone: tzinfo | None) -> str:
    return str(getattr(zone, "key", None) or zone)


def _start(day: date, zone: tzinfo | None) -> datetime:
    """The moment a day begins, as a report's period computes it (tickets.reporting.scope)."""
    return datetime.combine(day, time(), zone)


def _ranges(days: Iterable[date]) -> Iterator[tuple[date, date]]:
    """Runs of consecutive days, (first, last)."""
    run: list[date] = []
    for day in sorted(set(days)):
        if run and day != run[-1] + timedelta(days=1):
            yield run[0], run[-1]
            run = []
        run.append(day)
    if run:
        yield run[0], run[-1]


# --- Counting ----------------------------------------------------------------------------------


def count_days(days: Iterable[date], *, zone: tzinfo, now: datetime) -> int:
    """Count these days again from the tickets' figures, each whole (its rows replaced).
    Returns how many days were counted."""
    counted = 0
    with transaction.atomic():
        _lock()
        for first, last in _ranges(days):
            _count_range(first, last, zone, now)
            counted += (last - first).days + 1
    return counted


def _count_range(first: date, last: date, zone: tzinfo, now: datetime) -> None:
    since, until = _start(first, zone), _start(last + timedelta(days=1), zone)
    name = zone_name(zone)
    DailyTicketCount.objects.filter(time_zone=name, day__range=(first, last)).delete()
    DailyTicketCount.objects.bulk_create(_ticket_counts(since, until, zone), batch_size=1000)
    DailyTargetCount.objects.filter(time_zone=name, day__range=(first, last)).delete()
    DailyTargetCount.objects.bulk_create(_target_counts(since, until, zone), batch_size=1000)
    RollupDay.objects.filter(time_zone=name, day__range=(first, last)).delete()
    RollupDay.objects.bulk_create(
        [
            RollupDay(day=first + timedelta(days=n), time_zone=name, counted_at=now)
            for n in range((last - first).days + 1)
        ],
        batch_size=1000,
    )


def _ticket_counts(since: datetime, until: datetime, zone: tzinfo) -> list[DailyTicketCount]:
    """Tickets created and solved in [since, until), by day and each grain's columns."""
    tallies: dict[tuple, dict[str, int]] = defaultdict(lambda: {"created": 0, "solved": 0})
    for column, figure in (("created_at", "created"), ("solved_at", "solved")):
        rows = TicketMetrics.objects.filter(
            merged=False, **{f"{column}__gte": since, f"{column}__lt": until}
        ).annotate(day=TruncDate(column, tzinfo=zone))
        for grain, columns in GRAIN_COLUMNS.items():
            for row in rows.values("day", *columns).annotate(n=Count("pk")).order_by():
                tallies[(row["day"], grain, *(row[c] for c in columns))][figure] += row["n"]
    return [
        DailyTicketCount(
            day=day,
            time_zone=zone_name(zone),
            grain=grain,
            **dict(zip(GRAIN_COLUMNS[grain], values, strict=True)),
            **figures,
        )
        for (day, grain, *values), figures in tallies.items()
    ]


def _target_counts(since: datetime, until: datetime, zone: tzinfo) -> list[DailyTargetCount]:
    """SLA targets started in [since, until) by how they stand, by day and grain: as the
    SLA report selects them (its clocks of tickets not merged; through the tickets'
    figures when filtered, so a ticket without figures counts only unfiltered)."""
    from tickets.reporting.sla import OUTCOMES  # the SLA report's rule for each outcome

    clocks = SLAClock.objects.filter(started_at__gte=since, started_at__lt=until).annotate(
        day=TruncDate("started_at", tzinfo=zone)
    )
    merged = TicketMetrics.objects.filter(merged=True).values("ticket_id")
    grains = {
        TargetGrain.TOTAL: clocks.exclude(ticket_id__in=merged),
        TargetGrain.DIMENSIONS: clocks.filter(ticket__metrics__merged=False).annotate(
            channel=F("ticket__metrics__channel"),
            tier_level=F("ticket__metrics__tier_level"),
            priority=F("ticket__metrics__priority"),
        ),
    }
    counts = []
    for grain, rows in grains.items():
        columns = TARGET_GRAIN_COLUMNS[grain]
        for row in rows.values("day", *columns).annotate(**OUTCOMES).order_by():
            counts.append(
                DailyTargetCount(
                    day=row["day"],
                    time_zone=zone_name(zone),
                    grain=grain,
                    met=row["n_met"],
                    breached=row["n_breached"],
                    running=row["n_running"],
                    **{c: row[c] for c in columns},
                )
            )
    return counts


def _lock() -> None:
    """One count at a time: two would both replace a day's rows and leave them twice.
    (SQLite allows one writer anyway.)"""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('tickets.rollups'))")


def refresh(
    *,
    now: datetime,
    zone: tzinfo | None = None,
    fill_in: bool = True,
    also: Iterable[date] = (),
) -> int:
    """Count again the days changes have marked, the days `also` names, and (`fill_in`) up
    to DAYS_PER_RUN past days never counted, the newest first. Returns how many days were
    counted."""
    zone = zone or timezone.get_default_timezone()
    today = timezone.localtime(now, zone).date()
    with transaction.atomic():
        _lock()
        days = _take_marks(zone)
        days.update(also)
        if fill_in:
            days |= set(_never_counted(today, zone)[:DAYS_PER_RUN])
        return count_days(days, zone=zone, now=now)


def _take_marks(zone: tzinfo) -> set[date]:
    """Take the marks away, and return their days. A mark taken was committed before the
    statement that took it, so the counts that follow (each statement sees what was
    committed before it) include its change; marks written meanwhile stay for the next run.
    PostgreSQL takes every mark in one statement, however many a bulk change wrote."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "WITH taken AS (DELETE FROM tickets_rollupdirty RETURNING at) "
                "SELECT DISTINCT (at AT TIME ZONE %s)::date FROM taken",
                [zone_name(zone)],
            )
            return {day for (day,) in cursor.fetchall()}
    marks = list(RollupDirty.objects.order_by("id").values_list("id", "at")[:MARKS_PER_RUN])
    for start in range(0, len(marks), _DELETE_BATCH):
        batch = [pk for pk, _ in marks[start : start + _DELETE_BATCH]]
        RollupDirty.objects.filter(pk__in=batch).delete()
    return {timezone.localtime(at, zone).date() for _, at in marks}


def _never_counted(today: date, zone: tzinfo) -> list[date]:
    """Past days within KEPT_DAYS not counted in this zone, the newest first."""
    oldest = today - timedelta(days=KEPT_DAYS)
    counted = set(
        RollupDay.objects.filter(
            time_zone=zone_name(zone), day__gte=oldest, day__lt=today
        ).values_list("day", flat=True)
    )
    return [
        today - timedelta(days=n)
        for n in range(1, KEPT_DAYS + 1)
        if today - timedelta(days=n) not in counted
    ]


# --- Reading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Split:
    """A period cut in two: whole days the daily counts answer, and moments the tickets do."""

    zone_name: str = ""
    counted: list[tuple[date, date]] = field(default_factory=list)  # (first, last) days
    rest: list[tuple[datetime, datetime]] = field(default_factory=list)  # [start, end)

    def days(self) -> Q:
        return reduce(or_, (Q(day__range=r) for r in self.counted), Q(pk__in=[]))

    def moments(self, column: str) -> Q:
        return reduce(
            or_,
            (Q(**{f"{column}__gte": a, f"{column}__lt": b}) for a, b in self.rest),
            Q(pk__in=[]),
        )

    def counts(self, grain: str, dimensions: Q) -> QuerySet[DailyTicketCount]:
        return DailyTicketCount.objects.filter(
            dimensions, self.days(), time_zone=self.zone_name, grain=grain
        )

    def targets(self, dimensions: Q) -> QuerySet[DailyTargetCount]:
        """The SLA targets' counts of the counted days, by the filters' grain."""
        grain = TargetGrain.DIMENSIONS if dimensions else TargetGrain.TOTAL
        return DailyTargetCount.objects.filter(
            dimensions, self.days(), time_zone=self.zone_name, grain=grain
        )


def bucket_of(bucket: str, day: date, zone: tzinfo | None) -> datetime:
    """The start of the day or week (`bucket`) a day falls in, as the database truncates
    moments (tickets.reporting.scope)."""
    if bucket == "week":
        day -= timedelta(days=day.weekday())
    return _start(day, zone)


def tickets_only(since: datetime, until: datetime) -> Split:
    return Split(rest=[(since, until)])


def split(since: datetime, until: datetime, now: datetime) -> Split:
    """Which whole days of [since, until) the counts answer: counted in the period's time
    zone, before today, and not marked since. Two small reads: the marks in the period (by
    day) first, then the counted days, so counts read after them are at least as new."""
    zone = since.tzinfo
    if zone is None or _start(since.date(), zone) != since or _start(until.date(), zone) != until:
        return tickets_only(since, until)  # not whole days
    last = min(until.date(), timezone.localtime(now, zone).date())  # the first day not read
    if since.date() >= last:
        return tickets_only(since, until)
    name = zone_name(zone)
    marked = set(
        RollupDirty.objects.filter(at__gte=since, at__lt=_start(last, zone))
        .annotate(day=TruncDate("at", tzinfo=zone))
        .values_list("day", flat=True)
        .distinct()
    )
    counted = (
        set(
            RollupDay.objects.filter(
                time_zone=name, day__gte=since.date(), day__lt=last
            ).values_list("day", flat=True)
        )
        - marked
    )
    if not counted:
        return tickets_only(since, until)
    runs = list(_ranges(counted))
    rest, start = [], since
    for first, last_day in runs:
        if _start(first, zone) > start:
            rest.append((start, _start(first, zone)))
        start = _start(last_day + timedelta(days=1), zone)
    if start < until:
        rest.append((start, until))
    return Split(zone_name=name, counted=runs, rest=rest)
