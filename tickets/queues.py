"""The agent workspace's queues: named views, filters, counts and keyset pages.

Every page is one query for the rows (plus one for the tags shown on them) whatever its
size or depth: keyset pagination on (deadline, id) walks the queue index instead of
counting past skipped rows. Only the page where the tickets with a deadline run out adds
one query for the first tickets without one (they come last).

The sidebar's counts cover every active ticket: the desk-wide part is one index-only scan
(migration 0014), shared by every agent's sidebar until a ticket changes (docs/benchmarks.md).
"""

import base64
import binascii
import json
import logging
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import (
    Count,
    F,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)

# Row comparisons (Django's own, for composite keys; spelled out on databases without them).
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from tickets.fields.selectors import FieldCondition, condition_filter
from tickets.models import (
    ACTIVE_STATUSES,
    WORKING_STATUSES,
    Tag,
    Ticket,
    TicketEvent,
    TicketStatus,
    Tier,
)
from tickets.selectors import TicketFilters, agent_tier_ids, ticket_list

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
# "Breaching soon": a deadline within this time (or already past).
BREACHING_WITHIN = timedelta(hours=1)


@dataclass(frozen=True)
class QueueView:
    key: str
    label: str


def queue_views(tiers: list[Tier]) -> list[QueueView]:
    return [
        QueueView("mine", _("My open tickets")),
        QueueView("unassigned", _("Unassigned in my tiers")),
        *(
            QueueView(
                f"tier-{tier.level}",
                _("Tier %(level)s · %(name)s") % {"level": tier.level, "name": tier.name},
            )
            for tier in tiers
        ),
        QueueView("waiting", _("Waiting on customer")),
        QueueView("breaching", _("Breaching soon")),
        QueueView("all", _("All open")),
        # Every ticket, resolved, closed and merged too: where an agent finds any ticket by
        # reference, words, customer or status (not counted in the sidebar).
        QueueView(ANY_STATUS_VIEW, _("All tickets")),
    ]


def _breaching(now: datetime) -> Q:
    return Q(status__in=WORKING_STATUSES) & _due_soon(now)


def _due_soon(now: datetime) -> Q:
    return Q(sla_due_at__lte=now + BREACHING_WITHIN)


ANY_STATUS_VIEW = "any"


def _view_filter(
    key: str, *, user: User, my_tier_ids: list[int], now: datetime
) -> tuple[Q, Collection[str] | None] | None:
    """A view's tickets, as (who or where, its statuses); the statuses apply unless the
    agent filters by status (None: every status)."""
    if key == "mine":
        return Q(assignee=user), ACTIVE_STATUSES
    if key == "unassigned":
        return Q(assignee__isnull=True, tier_id__in=my_tier_ids), WORKING_STATUSES
    if key == "waiting":
        return Q(), [TicketStatus.PENDING_CUSTOMER]
    if key == "breaching":
        return _due_soon(now), WORKING_STATUSES
    if key == "all":
        return Q(), ACTIVE_STATUSES
    if key == ANY_STATUS_VIEW:
        return Q(), None
    if key.startswith("tier-") and key[5:].isdigit():
        # The tier's id as a value (not a join on the level), so that the tier's queue index
        # yields the tickets already in deadline order.
        tier = Tier.objects.filter(level=int(key[5:])).values("pk")[:1]
        return Q(tier_id=Subquery(tier)), WORKING_STATUSES
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
    # A custom field's condition (tickets.fields): a probe of its value index per ticket.
    field: FieldCondition | None = None


# What a queue's row shows (templatetags.workspace.queue_rows) and its cursor reads. The
# rest of each ticket, its customer and its assignee stays unread: building them cost some
# 2.5 ms of the page's CPU on the benchmark machine (docs/benchmarks.md).
QUEUE_ROW_FIELDS = (
    "subject", "channel", "status", "priority", "sla_due_at", "created_at", "customer__name",
    "tier__level", "assignee__username", "assignee__first_name", "assignee__last_name",
)  # fmt: skip


def queue_tickets(
    query: QueueQuery,
    *,
    user: User,
    now: datetime,
    my_tier_ids: Iterable[int] | None = None,
) -> QuerySet[Ticket] | None:
    """The tickets of a view with the filters applied, in the view's order; None if unknown.
    `my_tier_ids`: the user's tiers, when the caller has them (else read, if needed)."""
    my_tiers: Iterable[int] = []
    if query.view == "unassigned":  # only it needs them
        my_tiers = agent_tier_ids(user) if my_tier_ids is None else my_tier_ids
    view = _view_filter(query.view, user=user, my_tier_ids=list(my_tiers), now=now)
    if view is None:
        return None
    scope, statuses = view
    # Filtering by status shows those statuses within the view (a tier's resolved tickets,
    # say): the view's own statuses are its default, not a limit.
    if query.statuses:
        statuses = query.statuses
    tickets = ticket_list(
        TicketFilters(
            statuses=tuple(statuses or ()),
            tier_levels=query.tier_levels,
            priorities=query.priorities,
            channels=query.channels,
            assignee_id=query.assignee_id,
            text=query.text,
            tags=(query.tag,) if query.tag else (),
        )
    ).filter(scope)
    if query.field is not None:  # InvalidInput when the condition is wrong
        tickets = tickets.filter(condition_filter(query.field))
    if query.view != ANY_STATUS_VIEW:  # a merged ticket is found by search, not worked
        tickets = tickets.filter(merged_into__isnull=True)
    tickets = tickets.prefetch_related(
        Prefetch("tags", queryset=Tag.objects.order_by("name"), to_attr="tag_list")
    ).only(*QUEUE_ROW_FIELDS)
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


# A cursor's values are read back as the database can compare them: an id within a 64-bit
# column, text without NUL (PostgreSQL refuses it), a real moment; anything else is a
# cursor this code did not write (a forged link: the first page, not a server error).
_ID_RANGE = range(-(2**63), 2**63)


def cursor_id(value: object) -> int | None:
    return value if isinstance(value, int) and value in _ID_RANGE else None


def cursor_moment(value: object) -> datetime | None:
    try:
        return parse_datetime(value) if isinstance(value, str) else None
    except ValueError:  # well-formed but not a date ("2024-02-30")
        return None


def cursor_text(value: object) -> str | None:
    return value if isinstance(value, str) and "\x00" not in value else None


def _after(
    tickets: QuerySet[Ticket], sort: str, cursor: str
) -> tuple[QuerySet[Ticket], bool] | None:
    """The tickets after the cursor, and whether the undated tickets still follow them."""
    values = _decode(cursor)
    if values is None:
        return None
    raw_time, raw_id = values
    moment, last_id = cursor_moment(raw_time), cursor_id(raw_id)
    if last_id is None or (raw_time is not None and moment is None):
        return None
    # Row comparisons, (deadline, id) > (cursor's): the index range starts right there, even
    # among the many tickets that share one deadline (office hours end at the same minute).
    if sort == "newest":
        if moment is None:
            return None
        return tickets.filter(_row_before(("created_at", "id"), (moment, last_id))), False
    if moment is None:  # already among the tickets without a deadline (sorted last)
        return tickets.filter(sla_due_at__isnull=True, id__gt=last_id), False
    return tickets.filter(_row_after(("sla_due_at", "id"), (moment, last_id))), True


def _row_after(columns: tuple[str, str], values: tuple[datetime, int]) -> TupleGreaterThan:
    return TupleGreaterThan(Tuple(*(F(column) for column in columns)), values)


def _row_before(columns: tuple[str, str], values: tuple[datetime, int]) -> TupleLessThan:
    return TupleLessThan(Tuple(*(F(column) for column in columns)), values)


class BadCursor(ValueError):
    pass


@contextmanager
def serial_plans() -> Iterator[None]:
    """A page's rows read without parallel workers on PostgreSQL: a page stops after a few
    dozen rows, and starting workers costs more than they save (a rare custom-field value
    in tier 1's queue over 1,000,000 tickets: 4 ms serial, 20 to 25 ms with two workers;
    docs/benchmarks.md). Reports keep their parallel plans."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        yield


def queue_page(
    tickets: QuerySet[Ticket], *, sort: str, cursor: str = "", size: int = PAGE_SIZE
) -> Page:
    """One page after `cursor`; raises BadCursor for a cursor this code did not write."""
    narrowed, undated_follow = tickets, False
    if cursor:
        after = _after(tickets, sort, cursor)
        if after is None:
            raise BadCursor(cursor)
        narrowed, undated_follow = after
    with serial_plans():
        rows = list(narrowed[: size + 1])
        if undated_follow and len(rows) <= size:
            # The tickets with a deadline ran out on this page: those without one come next.
            rows += tickets.filter(sla_due_at__isnull=True)[: size + 1 - len(rows)]
    page, more = rows[:size], len(rows) > size
    if not more:
        return Page(page, None)
    last = page[-1]
    moment = last.created_at if sort == "newest" else last.sla_due_at
    return Page(page, _encode([moment.isoformat() if moment else None, last.pk]))


@dataclass(frozen=True)
class DeskCounts:
    """Active, unmerged tickets as (status, tier id, assignee id or None, number), and how
    many of those waiting on the help desk breach soon: every agent's counts in one."""

    groups: tuple[tuple[str, int, int | None, int], ...]
    breaching: int


def desk_counts(*, now: datetime) -> DeskCounts:
    """Two queries: an index-only scan of the active tickets (grouped in the index's own
    order), and one range count."""
    groups = (
        Ticket.objects.filter(status__in=ACTIVE_STATUSES, merged_into__isnull=True)
        .values_list("status", "tier_id", "assignee_id")
        .annotate(n=Count("*"))
        .order_by()
    )
    breaching = Ticket.objects.filter(_breaching(now), merged_into__isnull=True).count()
    return DeskCounts(tuple(groups), breaching)


# The desk's counts are shared this long at most ("breaching soon" moves with the clock).
DESK_COUNTS_SECONDS = 10
_DESK_COUNTS_KEY = "queues:desk-counts:2"  # the shape of DeskCounts


def latest_event_query() -> QuerySet[TicketEvent, Any]:
    """The id of the latest ticket event, as a one-value query (to use as a subquery)."""
    return TicketEvent.objects.order_by("-pk").values("pk")[:1]


def desk_counts_shared(*, now: datetime, latest_event: int) -> DeskCounts:
    """desk_counts, computed once for every agent's sidebar until a ticket changes (every
    change writes a TicketEvent: `latest_event`, the latest one's id as the caller read it
    with latest_event_query, says whether they still hold)."""
    latest = latest_event
    try:
        cached = cache.get(_DESK_COUNTS_KEY)
    except Exception:  # the cache being down costs the counting, not the page
        logger.warning("could not read the desk's shared counts", exc_info=True)
        return desk_counts(now=now)
    if cached is not None and cached[0] == latest:
        return cached[1]
    counts = desk_counts(now=now)
    try:
        cache.set(_DESK_COUNTS_KEY, (latest, counts), DESK_COUNTS_SECONDS)
    except Exception:
        logger.warning("could not share the desk's counts", exc_info=True)
    return counts


def queue_counts(
    *,
    user: User,
    tiers: list[Tier],
    now: datetime,
    my_tier_ids: Collection[int],
    desk: DeskCounts | None = None,
) -> dict[str, int]:
    """The number of tickets in each view, for the sidebar: the desk's counts (computed
    unless given) read for this agent and their tiers."""
    desk = desk or desk_counts(now=now)
    my_tier_ids = set(my_tier_ids)
    counts = {"mine": 0, "unassigned": 0, "waiting": 0, "breaching": desk.breaching, "all": 0}
    per_tier: dict[int, int] = {}
    for status, tier_id, assignee_id, number in desk.groups:
        counts["all"] += number
        if assignee_id == user.pk:
            counts["mine"] += number
        if status == TicketStatus.PENDING_CUSTOMER:
            counts["waiting"] += number
        if status in WORKING_STATUSES:
            per_tier[tier_id] = per_tier.get(tier_id, 0) + number
            if assignee_id is None and tier_id in my_tier_ids:
                counts["unassigned"] += number
    counts.update({f"tier-{tier.level}": per_tier.get(tier.pk, 0) for tier in tiers})
    return counts
