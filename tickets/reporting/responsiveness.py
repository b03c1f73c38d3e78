"""Responsiveness: how long customers waited for a first and a next reply, how long
solving took, and how often the first answer was the last."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.postgres.fields import ArrayField
from django.db import connection
from django.db.models import Aggregate, Count, IntegerField, Q, QuerySet

from tickets.models import Message, MessageKind
from tickets.reporting.scope import Scope


@dataclass(frozen=True)
class Spread:
    """Minutes: how many, the median and the 90th percentile (nearest rank), business and
    calendar."""

    count: int
    median: int | None
    p90: int | None
    median_calendar: int | None
    p90_calendar: int | None


@dataclass(frozen=True)
class Responsiveness:
    scope: Scope
    first_reply: Spread
    next_reply: Spread
    resolution: Spread
    solved: int
    solved_at_first_contact: int
    reopened: int
    first_contact_rate: float | None
    reopen_rate: float | None


def responsiveness(scope: Scope) -> Responsiveness:
    tickets = scope.tickets()
    first = tickets.filter(scope.within("first_reply_at"))
    solved = tickets.filter(scope.within("solved_at"))
    counts = solved.aggregate(
        solved=Count("pk"),
        first_contact=Count("pk", filter=Q(replies=1, reopens=0)),
        reopened=Count("pk", filter=Q(reopens__gt=0)),
    )
    return Responsiveness(
        scope=scope,
        first_reply=spread(first, "first_reply_business_minutes", "first_reply_minutes"),
        next_reply=spread(next_replies(scope), "waited_business_minutes", "waited_minutes"),
        resolution=spread(solved, "resolution_business_minutes", "resolution_minutes"),
        solved=counts["solved"],
        solved_at_first_contact=counts["first_contact"],
        reopened=counts["reopened"],
        first_contact_rate=_share(counts["first_contact"], counts["solved"]),
        reopen_rate=_share(counts["reopened"], counts["solved"]),
    )


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def next_replies(scope: Scope) -> QuerySet[Message]:
    """Agents' replies in the period that answered a customer waiting again."""
    return Message.objects.filter(
        scope.within("created_at"),
        scope.of_tickets(),
        kind=MessageKind.OUTBOUND,
        first_reply=False,
        waited_minutes__isnull=False,
    )


class _Percentiles(Aggregate):
    """PostgreSQL's nearest-rank percentiles (the median and the 90th), as an array."""

    function = "percentile_disc"
    template = "%(function)s(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = ArrayField(IntegerField())


def spread(rows: QuerySet, business: str, calendar: str) -> Spread:
    """Exact percentiles. PostgreSQL works out both columns' in one pass; elsewhere, from
    each distinct value's count (minutes repeat a lot: a few hundred groups, not a row
    per ticket), one column at a time."""
    if connection.vendor == "postgresql":
        found = rows.filter(**{f"{business}__isnull": False}).aggregate(
            count=Count("*"), business=_Percentiles(business), calendar=_Percentiles(calendar)
        )
        median, p90 = found["business"] or (None, None)
        median_calendar, p90_calendar = found["calendar"] or (None, None)
        return Spread(found["count"], median, p90, median_calendar, p90_calendar)
    values, calendar_values = _counts(rows, business), _counts(rows, calendar)
    return Spread(
        count=sum(n for _, n in values),
        median=percentile(values, 0.5),
        p90=percentile(values, 0.9),
        median_calendar=percentile(calendar_values, 0.5),
        p90_calendar=percentile(calendar_values, 0.9),
    )


def _counts(rows: QuerySet, column: str) -> list[tuple[int, int]]:
    grouped = (
        rows.filter(**{f"{column}__isnull": False})
        .values_list(column)
        .annotate(n=Count("pk"))
        .order_by(column)
    )
    return [(value, n) for value, n in grouped]


def percentile(counts: list[tuple[int, int]], share: float) -> int | None:
    """The smallest value with at least `share` of all values at or below it."""
    total = sum(n for _, n in counts)
    if not total:
        return None
    wanted, seen = share * total, 0
    for value, n in counts:
        seen += n
        if seen >= wanted:
            return value
    return counts[-1][0]
