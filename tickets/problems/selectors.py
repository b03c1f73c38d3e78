"""Reads of problems: the list with its incident counts, one problem with its known issue,
its latest tickets and its history, the spikes to look at, and the problems a ticket may be
linked to; each in a fixed number of queries, however many tickets and events there are."""

from datetime import datetime, timedelta

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from tickets.models import (
    ACTIVE_STATUSES,
    OPEN_PROBLEM_STATUSES,
    KnownIssueSubscriber,
    Problem,
    ProblemEvent,
    Spike,
    Ticket,
)

# A problem's incidents read with it, the latest first (all of them: the API's ticket list,
# filtered by problem).
LATEST_LINKED_TICKETS = 50
# Spikes offered to make a problem of: those of the last day, neither dismissed nor made one.
RECENT_SPIKES = timedelta(hours=24)
# What problem_list's `status` may say besides a ProblemStatus.
STATUS_GROUPS = {"open": tuple(OPEN_PROBLEM_STATUSES), "all": ()}
PROBLEMS_TO_LINK = 100


def _count(tickets: QuerySet[Ticket]) -> Coalesce:
    """How many of these tickets each problem has: counted for the rows read only (a page),
    not grouped over every ticket."""
    counted = (
        tickets.filter(problem=OuterRef("pk"))
        .order_by()
        .values("problem")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _open_incidents() -> QuerySet[Ticket]:
    return Ticket.objects.filter(status__in=ACTIVE_STATUSES, merged_into__isnull=True)


def _with_counts(problems: QuerySet[Problem]) -> QuerySet[Problem]:
    """`linked`: its tickets; `open_linked`: those still to answer (not merged away)."""
    return problems.annotate(
        linked=_count(Ticket.objects.all()), open_linked=_count(_open_incidents())
    )


def problem_list(status: str = "all", *, sources: tuple[str, ...] = ()) -> QuerySet[Problem]:
    """Problems newest first, with owner, product, known issue and counts (`linked`,
    `open_linked`). `status`: a ProblemStatus, "open" (investigating or identified) or
    "all"."""
    statuses = STATUS_GROUPS.get(status, (status,))
    problems = Problem.objects.select_related("owner", "product", "known_issue")
    if statuses:
        problems = problems.filter(status__in=statuses)
    if sources:
        problems = problems.filter(source__in=sources)
    return _with_counts(problems).order_by("-created_at", "-id")


def problem_detail(problem_id: int) -> Problem | None:
    """A problem with its owner, product, solver, known issue (and its products) and
    counts; its tickets and history are read by problem_tickets and problem_history."""
    return (
        _with_counts(Problem.objects.select_related("owner", "product", "solved_by", "known_issue"))
        .prefetch_related("known_issue__products")
        .filter(pk=problem_id)
        .first()
    )


def problem_counts(problem: Problem) -> dict[str, int]:
    """{"linked": its tickets, "open": those still open} (read with it by the selectors
    above; else counted now)."""
    linked = getattr(problem, "linked", None)
    open_linked = getattr(problem, "open_linked", None)
    if linked is None or open_linked is None:
        linked = Ticket.objects.filter(problem=problem).count()
        open_linked = _open_incidents().filter(problem=problem).count()
    return {"linked": linked, "open": open_linked}


def problem_tickets(problem: Problem, *, limit: int = LATEST_LINKED_TICKETS) -> list[Ticket]:
    """Its latest linked tickets, newest first, with their customers."""
    tickets = Ticket.objects.filter(problem=problem).select_related("customer")
    return list(tickets.order_by("-created_at", "-id")[:limit])


def problem_history(problem: Problem) -> list[ProblemEvent]:
    """Its notes and history, oldest first, with who acted."""
    return list(
        ProblemEvent.objects.filter(problem=problem)
        .select_related("actor")
        .order_by("created_at", "id")
    )


def recent_spikes(*, now: datetime) -> QuerySet[Spike]:
    """Spikes of the last day, newest first, neither dismissed nor made a problem."""
    return Spike.objects.filter(
        created_at__gte=now - RECENT_SPIKES, dismissed_at__isnull=True, problem__isnull=True
    ).order_by("-created_at", "-id")


def open_problems_to_link() -> list[tuple[int, str]]:
    """(id, "PRB-12 Title") of the newest open problems, for a ticket's or a queue's picker."""
    problems = Problem.objects.filter(status__in=OPEN_PROBLEM_STATUSES).only("pk", "title")
    return [
        (p.pk, f"{p.reference} {p.title}")
        for p in problems.order_by("-created_at", "-id")[:PROBLEMS_TO_LINK]
    ]


def asked_to_be_told(problem: Problem) -> int:
    """How many asked to be told when its known issue is fixed instead of writing."""
    return KnownIssueSubscriber.objects.filter(known_issue__problem=problem).count()
