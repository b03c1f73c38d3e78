"""Satisfaction: how customers rated the help they got, who answers the survey, and what
they wrote."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Count, Q, QuerySet

from tickets.models import Channel, EventKind, TicketEvent, format_reference
from tickets.reporting.scope import Scope

GOOD = 4  # a rating of 4 or 5 is a satisfied customer (CSAT)
COMMENTS = 50


@dataclass(frozen=True)
class Score:
    """Ratings of one group: how many, how many good, the CSAT (good among rated); and of
    its tickets solved in the period, how many were rated (the survey's response rate)."""

    key: str
    label: str
    rated: int
    good: int
    csat: float | None
    solved: int = 0
    responses: int = 0
    response_rate: float | None = None


@dataclass(frozen=True)
class Comment:
    ticket_id: int
    reference: str
    rating: int
    comment: str
    at: datetime


@dataclass(frozen=True)
class Point:
    start: datetime
    rated: int
    good: int
    csat: float | None


@dataclass(frozen=True)
class Satisfaction:
    scope: Scope
    total: Score
    solved: int
    solved_rated: int
    response_rate: float | None  # solved in the period and rated, among solved
    ratings: list[tuple[int, int]]  # (1..5, how many)
    series: list[Point]
    by_agent: list[Score]
    by_tier: list[Score]
    by_channel: list[Score]
    comments: list[Comment]


def score(
    key: str, label: str, rated: int, good: int, solved: int = 0, responses: int = 0
) -> Score:
    return Score(
        key,
        label,
        rated,
        good,
        good / rated if rated else None,
        solved,
        responses,
        responses / solved if solved else None,
    )


def satisfaction(scope: Scope) -> Satisfaction:
    tickets = scope.tickets()
    rated = tickets.filter(scope.within("rated_at"))
    # The survey goes out when a ticket is solved: its response rate is over the solved.
    surveyed: list[dict[str, Any]] = [
        dict(row)
        for row in tickets.filter(scope.within("solved_at"))
        .values("assignee_id", "solved_tier", "channel")
        .annotate(solved=Count("pk"), responses=Count("pk", filter=Q(rating__isnull=False)))
        .order_by()
    ]
    solved = {
        "solved": sum(row["solved"] for row in surveyed),
        "rated": sum(row["responses"] for row in surveyed),
    }
    grouped: list[dict[str, Any]] = [
        dict(row)
        for row in rated.annotate(bucket=scope.trunc("rated_at"))
        .values("bucket", "rating", "assignee_id", "solved_tier", "channel")
        .annotate(n=Count("pk"))
        .order_by()
    ]
    ratings = {value: 0 for value in range(1, 6)}
    for row in grouped:
        ratings[row["rating"]] += row["n"]
    good = sum(n for value, n in ratings.items() if value >= GOOD)
    return Satisfaction(
        scope=scope,
        total=score(
            "", "All ratings", sum(ratings.values()), good, solved["solved"], solved["rated"]
        ),
        solved=solved["solved"],
        solved_rated=solved["rated"],
        response_rate=solved["rated"] / solved["solved"] if solved["solved"] else None,
        ratings=sorted(ratings.items()),
        series=_series(scope, grouped),
        by_agent=_scores(grouped, surveyed, "assignee_id", _agent_names(grouped + surveyed)),
        by_tier=_scores(grouped, surveyed, "solved_tier", {n: f"Tier {n}" for n in range(4)}),
        by_channel=_scores(
            grouped, surveyed, "channel", {value: str(label) for value, label in Channel.choices}
        ),
        comments=comments(scope),
    )


def _series(scope: Scope, grouped: list[dict[str, Any]]) -> list[Point]:
    counts: dict[datetime, list[int]] = {}
    for row in grouped:
        totals = counts.setdefault(row["bucket"], [0, 0])
        totals[0] += row["n"]
        totals[1] += row["n"] if row["rating"] >= GOOD else 0
    points = []
    for start in scope.buckets():
        n, good = counts.get(start, (0, 0))
        points.append(Point(start, n, good, good / n if n else None))
    return points


def _scores(
    grouped: list[dict[str, Any]],
    surveyed: list[dict[str, Any]],
    column: str,
    labels: dict[Any, str],
) -> list[Score]:
    """Per group: ratings in the period (`grouped`) and tickets solved in it (`surveyed`)."""
    totals: dict[Any, list[int]] = {}
    for row in grouped:
        found = totals.setdefault(row[column], [0, 0, 0, 0])
        found[0] += row["n"]
        found[1] += row["n"] if row["rating"] >= GOOD else 0
    for row in surveyed:
        found = totals.setdefault(row[column], [0, 0, 0, 0])
        found[2] += row["solved"]
        found[3] += row["responses"]
    ordered = sorted(totals.items(), key=lambda item: (-item[1][0], -item[1][2], str(item[0])))
    return [
        score("" if key is None else str(key), labels.get(key, _nobody(column, key)), *counts)
        for key, counts in ordered
    ]


def _nobody(column: str, key: Any) -> str:
    if key is None:
        return "Nobody" if column == "assignee_id" else "Not solved"
    return str(key)


def _agent_names(grouped: list[dict[str, Any]]) -> dict[Any, str]:
    return agent_names({row["assignee_id"] for row in grouped})


def agent_names(ids: set[int | None]) -> dict[Any, str]:
    """Staff names by id: the full name, else the user name; a deleted user by number."""
    wanted = {pk for pk in ids if pk is not None}
    found = {
        user.pk: user.get_full_name() or user.username
        for user in User.objects.filter(pk__in=wanted).only("first_name", "last_name", "username")
    }
    return {pk: found.get(pk, f"Deleted user {pk}") for pk in wanted}


def rating_events(scope: Scope) -> QuerySet[TicketEvent]:
    return TicketEvent.objects.filter(
        scope.within("created_at"), scope.of_tickets(), kind=EventKind.RATED
    )


def comments(scope: Scope, limit: int = COMMENTS) -> list[Comment]:
    """The latest ratings that came with a comment."""
    events = (
        rating_events(scope)
        .exclude(data__comment="")
        .filter(data__comment__isnull=False)
        .only("ticket_id", "data", "created_at")
        .order_by("-created_at", "-pk")[:limit]
    )
    return [
        Comment(
            event.ticket_id,
            format_reference(event.ticket_id),
            int(event.data.get("rating", 0)),
            str(event.data["comment"]),
            event.created_at,
        )
        for event in events
    ]
