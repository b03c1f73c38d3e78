"""The agent workspace's queues: named views, filters, counts and keyset pages.

Every page is one query for the rows (plus one for the tags shown on them) whatever its
size or depth: keyset pagination on (deadline, id) walks the queue index instead of
counting past skipped rows.
"""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.utils.dateparse import parse_datetime

from tickets.models import ACTIVE_STATUSES, Tag, Ticket, TicketStatus, Tier
from tickets.selectors import TicketFilters, ticket_list

PAGE_SIZE = 50
# "Breaching soon": a deadline within this time (or already past).
BREACHING_WITHIN = timedelta(hours=1)
# Statuses that wait on the help desk (not on the customer).
WORKING_STATUSES = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.ON_HOLD)


@dataclass(frozen=True)
class QueueView:
    key: str
    label: str


def queue_views(tiers: list[Tier]) -> list[QueueView]:
    return [
        QueueView("mine", "My open tickets"),
        QueueView("unassigned", "Unassigned in my tiers"),
        *(QueueView(f"tier-{tier.level}", f"Tier {tier.level} · {tier.name}") for tier in tiers),
        QueueView("waiting", "Waiting on customer"),
        QueueView("breaching", "Breaching soon"),
        QueueView("all", "All open"),
    ]


def _view_filter(key: str, *, user: User, my_tier_ids: list[int], now: datetime) -> Q | None:
    if key == "mine":
        return Q(assignee=user, status__in=ACTIVE_STATUSES)
    if key == "unassigned":
        return Q(assignee__isnull=True, tier_id__in=my_tier_ids, status__in=WORKING_STATUSES)
    if key == "waiting":
        return Q(status=TicketStatus.PENDING_CUSTOMER)
    if key == "breaching":
        return Q(status__in=WORKING_STATUSES, sla_due_at__lte=now + BREACHING_WITHIN)
    if key == "all":
        return Q(status__in=ACTIVE_STATUSES)
    if key.startswith("tier-") and key[5:].isdigit():
        return Q(tier__level=int(key[5:]), status__in=WORKING_STATUSES)
    return None


@dataclass(frozen=True)
class QueueQuery:
    """A queue view narrowed by the list page's filters."""

    view: str = "mine"
    statuses: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    tier_levels: tuple[int, ...] = ()
    assignee_id: int | None = None
    tag: str = ""
    text: str = ""
    sort: str = "due"  # "due" (next SLA deadline first) or "newest"


def queue_tickets(query: QueueQuery, *, user: User, now: datetime) -> QuerySet[Ticket] | None:
    """The tickets of a view with the filters applied, in the view's order; None if unknown."""
    my_tiers = list(Tier.objects.filter(agents__user=user).values_list("pk", flat=True))
    scope = _view_filter(query.view, user=user, my_tier_ids=my_tiers, now=now)
    if scope is None:
        return None
    tickets = ticket_list(
        TicketFilters(
            statuses=query.statuses,
            tier_levels=query.tier_levels,
            priorities=query.priorities,
            channels=query.channels,
            assignee_id=query.assignee_id,
            text=query.text,
        )
    ).filter(scope, merged_into__isnull=True)
    if query.tag:
        tickets = tickets.filter(tags__name=query.tag)
    tickets = tickets.prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
    if query.sort == "newest":
        return tickets.order_by("-created_at", "-id")
    return tickets.order_by(F("sla_due_at").asc(nulls_last=True), "id")


@dataclass(frozen=True)
class Page:
    tickets: list[Ticket]
    next_cursor: str | None


def _encode(values: list[str | int | None]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


def _decode(cursor: str) -> list[str | int | None] | None:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return values if isinstance(values, list) and len(values) == 2 else None


def _after(tickets: QuerySet[Ticket], sort: str, cursor: str) -> QuerySet[Ticket] | None:
    values = _decode(cursor)
    if values is None:
        return None
    raw_time, last_id = values
    moment = parse_datetime(raw_time) if isinstance(raw_time, str) else None
    if not isinstance(last_id, int) or (raw_time is not None and moment is None):
        return None
    if sort == "newest":
        if moment is None:
            return None
        return tickets.filter(Q(created_at__lt=moment) | Q(created_at=moment, id__lt=last_id))
    if moment is None:  # already among the tickets without a deadline (sorted last)
        return tickets.filter(sla_due_at__isnull=True, id__gt=last_id)
    return tickets.filter(
        Q(sla_due_at__gt=moment) | Q(sla_due_at=moment, id__gt=last_id) | Q(sla_due_at__isnull=True)
    )


class BadCursor(ValueError):
    pass


def queue_page(
    tickets: QuerySet[Ticket], *, sort: str, cursor: str = "", size: int = PAGE_SIZE
) -> Page:
    """One page after `cursor`; raises BadCursor for a cursor this code did not write."""
    if cursor:
        narrowed = _after(tickets, sort, cursor)
        if narrowed is None:
            raise BadCursor(cursor)
        tickets = narrowed
    rows = list(tickets[: size + 1])
    page, more = rows[:size], len(rows) > size
    if not more:
        return Page(page, None)
    last = page[-1]
    moment = last.created_at if sort == "newest" else last.sla_due_at
    return Page(page, _encode([moment.isoformat() if moment else None, last.pk]))


def queue_counts(*, user: User, tiers: list[Tier], now: datetime) -> dict[str, int]:
    """The number of tickets in each view, for the sidebar: two queries."""
    my_tier_ids = [
        tier.pk for tier in tiers if any(a.user_id == user.pk for a in tier.agents.all())
    ]
    keys = ["mine", "unassigned", "waiting", "breaching", "all"]
    counts = Ticket.objects.filter(status__in=ACTIVE_STATUSES, merged_into__isnull=True).aggregate(
        **{
            key: Count("id", filter=_view_filter(key, user=user, my_tier_ids=my_tier_ids, now=now))
            for key in keys
        }
    )
    per_tier = dict(
        Ticket.objects.filter(status__in=WORKING_STATUSES, merged_into__isnull=True)
        .values_list("tier__level")
        .annotate(n=Count("id"))
        .values_list("tier__level", "n")
    )
    counts.update({f"tier-{tier.level}": per_tier.get(tier.level, 0) for tier in tiers})
    return counts
