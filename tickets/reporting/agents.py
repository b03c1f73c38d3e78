"""Agents: what each agent took on, answered and solved in the period, how fast they first
answered, how their customers rated them, and what they hold now."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Q
from django.db.models.fields.json import KT

from tickets.models import EventKind, Message, MessageKind, TicketEvent
from tickets.reporting.responsiveness import percentile
from tickets.reporting.satisfaction import GOOD, agent_names
from tickets.reporting.scope import Scope


@dataclass(frozen=True)
class AgentRow:
    agent_id: int
    name: str
    assigned: int  # tickets given to them in the period
    replies: int  # public replies they wrote in the period
    solved: int  # tickets assigned to them solved in the period
    first_replies: int
    median_first_reply: int | None  # business minutes, of their first replies
    rated: int
    good: int
    csat: float | None
    open_now: int  # tickets assigned to them not solved now


@dataclass(frozen=True)
class AgentsReport:
    scope: Scope
    agents: list[AgentRow]


def agents_report(scope: Scope, now: datetime) -> AgentsReport:
    tickets = scope.tickets()
    assigned = Counter(
        {
            int(to): n
            for to, n in TicketEvent.objects.filter(
                scope.within("created_at"), scope.of_tickets(), kind=EventKind.ASSIGNED
            )
            .values_list(KT("data__to"))
            .annotate(n=Count("pk"))
            .order_by()
            if to not in (None, "")
        }
    )
    replies = _by_agent(
        Message.objects.filter(
            scope.within("created_at"),
            scope.of_tickets(),
            kind=MessageKind.OUTBOUND,
            author_user__isnull=False,
        ).values_list("author_user_id")
    )
    solved = _by_agent(tickets.filter(scope.within("solved_at")).values_list("assignee_id"))
    open_now = _by_agent(tickets.filter(solved_at__isnull=True).values_list("assignee_id"))
    rated = _ratings(tickets.filter(scope.within("rated_at")))
    first = _first_replies(tickets.filter(scope.within("first_reply_at")))
    ids = set(assigned) | set(replies) | set(solved) | set(open_now) | set(rated) | set(first)
    names = agent_names(set(ids))
    rows = []
    for pk in ids:
        n_rated, good = rated.get(pk, (0, 0))
        waits = first.get(pk, [])
        rows.append(
            AgentRow(
                agent_id=pk,
                name=names[pk],
                assigned=assigned[pk],
                replies=replies[pk],
                solved=solved[pk],
                first_replies=sum(n for _, n in waits),
                median_first_reply=percentile(waits, 0.5),
                rated=n_rated,
                good=good,
                csat=good / n_rated if n_rated else None,
                open_now=open_now[pk],
            )
        )
    rows.sort(key=lambda row: (-row.solved, -row.replies, row.name))
    return AgentsReport(scope, rows)


def _by_agent(rows: Any) -> Counter:
    # COUNT(*): the covering indexes (replies, the backlog) answer without the table.
    return Counter({pk: n for pk, n in rows.annotate(n=Count("*")).order_by() if pk is not None})


def _ratings(rows: Any) -> dict[int, tuple[int, int]]:
    grouped = (
        rows.filter(assignee_id__isnull=False)
        .values_list("assignee_id")
        .annotate(n=Count("pk"), good=Count("pk", filter=Q(rating__gte=GOOD)))
        .order_by()
    )
    return {pk: (n, good) for pk, n, good in grouped}


def _first_replies(rows: Any) -> dict[int, list[tuple[int, int]]]:
    """Per agent, their first replies' business minutes as (minutes, how many), ascending."""
    grouped = (
        rows.filter(first_reply_by__isnull=False, first_reply_business_minutes__isnull=False)
        .values_list("first_reply_by_id", "first_reply_business_minutes")
        .annotate(n=Count("pk"))
        .order_by("first_reply_by_id", "first_reply_business_minutes")
    )
    found: dict[int, list[tuple[int, int]]] = {}
    for pk, minutes, n in grouped:
        found.setdefault(pk, []).append((minutes, n))
    return found
