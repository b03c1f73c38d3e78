"""Saved views, read: which views a person sees, their tickets in any shown column's order
(keyset pages over (sort value, id)), and their counts for the sidebar in one query.

A view keeps the queue page's filters as a query string (`view=` names the queue it
narrows: "any" is every status, solved and closed too), its columns (built-in ones and
custom fields) and its sort. The built-in queues sort by their columns the same way.
"""

import base64
import binascii
import json
import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import User
from django.db.models import (
    Case,
    CharField,
    Count,
    DateField,
    DateTimeField,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import Combinable
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from django.db.models.functions import Cast, Coalesce
from django.http import QueryDict
from django.utils.dateparse import parse_date
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from tickets import policy, queues
from tickets.errors import InvalidInput
from tickets.fields import selectors as field_selectors
from tickets.models import (
    FieldKind,
    Priority,
    SavedView,
    Ticket,
    TicketField,
    TicketFieldValue,
    TicketStatus,
    ViewSharing,
)
from tickets.roles import role_of

# Undated deadlines sort after every dated one (as in the queues).
_NEVER = datetime.fromisoformat("9999-12-31T00:00:00+00:00")


@dataclass(frozen=True)
class Column:
    key: str
    label: str | Promise
    # What the rows are sorted by for this column (nulls made comparable: keyset pages).
    sort: Combinable
    # "int", "str", "float", "date" or "datetime": how the cursor's value is read back.
    kind: str
    # A custom field's column: the field it shows (its cells read the field's values).
    field: TicketField | None = None


def _rank(field: str, values: list[str]) -> Case:
    return Case(
        *(When(**{field: value}, then=Value(i)) for i, value in enumerate(values)),
        default=Value(len(values)),
        output_field=IntegerField(),
    )


COLUMNS: dict[str, Column] = {
    column.key: column
    for column in (
        Column("reference", _("Ticket"), F("id"), "int"),
        Column("subject", _("Subject"), F("subject"), "str"),
        Column(
            "customer",
            _("Customer"),
            Coalesce(F("customer__name"), Value(""), output_field=CharField()),
            "str",
        ),
        Column("status", _("Status"), _rank("status", list(TicketStatus.values)), "int"),
        Column("priority", _("Priority"), _rank("priority", list(Priority.values)), "int"),
        Column("tier", _("Tier"), F("tier__level"), "int"),
        Column(
            "assignee",
            _("Assignee"),
            Coalesce(F("assignee__username"), Value(""), output_field=CharField()),
            "str",
        ),
        Column("channel", _("Channel"), F("channel"), "str"),
        Column("created", _("Created"), F("created_at"), "datetime"),
        Column("updated", _("Updated"), F("updated_at"), "datetime"),
        Column(
            "due",
            _("SLA due"),
            Coalesce(F("sla_due_at"), Value(_NEVER), output_field=DateTimeField()),
            "datetime",
        ),
        Column(
            "product",
            _("Product"),
            Coalesce(F("product__name"), Value(""), output_field=CharField()),
            "str",
        ),
    )
}
DEFAULT_COLUMNS = ("reference", "customer", "status", "priority", "tier", "assignee", "due")
# The built-in queues' columns (agent/queue.html), each of which sorts them.
QUEUE_COLUMNS = DEFAULT_COLUMNS
# What the rows read besides queues.QUEUE_ROW_FIELDS, for the columns that need more.
_EXTRA_FIELDS = {"updated": ("updated_at",), "product": ("product__name",)}

# A custom field's column: "field:<its key>".
FIELD_COLUMN = "field:"
# A field's value as it sorts, by the field's kind: (value column, cursor kind, what an
# empty value sorts as: before every value, ascending). A multi-select sorts by its first
# value; a number as a float, so that the cursor compares alike on every database.
_FIELD_SORTS: dict[str, tuple[str, str, Any]] = {
    FieldKind.NUMBER: ("value_number", "float", Value(-1e300, output_field=FloatField())),
    FieldKind.DATE: ("value_date", "date", Value(date.min, output_field=DateField())),
}
_TEXT_SORT = ("value_text", "str", Value("", output_field=CharField()))


def _field_column(field: TicketField) -> Column:
    name, kind, empty = _FIELD_SORTS.get(field.kind, _TEXT_SORT)
    first = (
        TicketFieldValue.objects.filter(ticket_id=OuterRef("pk"), field_id=field.pk)
        .order_by(name)
        .values(name)[:1]
    )
    value: Combinable = Subquery(first)
    if kind == "float":
        value = Cast(value, FloatField())
    sort = Coalesce(value, empty, output_field=empty.output_field)
    return Column(f"{FIELD_COLUMN}{field.key}", field.agent_label, sort, kind, field)


def available_columns() -> dict[str, Column]:
    """Every column a view may show: the built-in ones, then one per active custom field
    (read from the fields kept per process: no query)."""
    return {
        **COLUMNS,
        **{
            f"{FIELD_COLUMN}{key}": _field_column(field)
            for key, field in field_selectors.active_fields().items()
        },
    }


def column_for(key: str) -> Column | None:
    if key.startswith(FIELD_COLUMN):
        field = field_selectors.active_fields().get(key[len(FIELD_COLUMN) :])
        return _field_column(field) if field is not None else None
    return COLUMNS.get(key)


def parse_columns(text: str) -> list[str]:
    """The known column keys of a stored list, in order, each once (default if none); a
    custom field's column goes when the field is made inactive."""
    keys = []
    for key in text.split(","):
        key = key.strip()
        if column_for(key) is not None and key not in keys:
            keys.append(key)
    return keys or list(DEFAULT_COLUMNS)


def parse_sort(text: str, columns: Collection[str]) -> tuple[str, bool] | None:
    """(column key, descending) for a sort like "-updated" on a shown column, else None."""
    descending = text.startswith("-")
    key = text[1:] if descending else text
    return (key, descending) if key in columns and column_for(key) is not None else None


# --- Who sees which views ---------------------------------------------------------------------


def views_for(
    user: User, *, tier_ids: Collection[int], team_ids: Collection[int], role: str | None
) -> list[SavedView]:
    """The views `user` sees: their own personal ones, the views shared with everyone, with
    one of their tiers or one of their teams; admins and leads also every other shared view
    (to manage it)."""
    visible = Q(owner=user, sharing=ViewSharing.PERSONAL) | Q(sharing=ViewSharing.EVERYONE)
    visible |= Q(sharing=ViewSharing.TIER, tier_id__in=list(tier_ids))
    visible |= Q(sharing=ViewSharing.TEAM, team_id__in=list(team_ids))
    if policy.may(role, "shared_views"):
        visible |= ~Q(sharing=ViewSharing.PERSONAL)
    return list(SavedView.objects.filter(visible).select_related("tier", "team"))


def view_visible(
    view: SavedView,
    user: User,
    *,
    tier_ids: Collection[int],
    team_ids: Collection[int],
    role: str | None,
) -> bool:
    if view.sharing == ViewSharing.PERSONAL:
        return view.owner_id == user.pk
    if view.sharing == ViewSharing.EVERYONE or policy.may(role, "shared_views"):
        return True
    if view.sharing == ViewSharing.TEAM:
        return view.team_id in team_ids
    return view.tier_id in tier_ids


def may_edit(view: SavedView, user: User, *, role: str | None = None) -> bool:
    """Owners edit their personal views; admins and leads edit the shared ones. `role`:
    the user's, when the caller has it (else read)."""
    if view.sharing == ViewSharing.PERSONAL:
        return view.owner_id == user.pk
    return policy.may(role if role is not None else role_of(user), "shared_views")


# --- A view's tickets ---------------------------------------------------------------------------


def view_params(view: SavedView) -> QueryDict:
    return QueryDict(view.query)


def view_tickets(
    view: SavedView,
    query: queues.QueueQuery,
    *,
    user: User,
    now: datetime,
    my_tier_ids: Collection[int],
    sort: tuple[str, bool] | None,
) -> QuerySet[Ticket] | None:
    """The view's tickets (its queue narrowed by its filters) in the chosen column's order,
    or the queue's own when `sort` is None; None if the view names no known queue or its
    custom-field condition no longer holds."""
    tickets = _queue_of(query, user=user, now=now, my_tier_ids=my_tier_ids)
    if tickets is None:
        return None
    shown = parse_columns(view.columns)
    extra = [f for key in shown for f in _EXTRA_FIELDS.get(key, ())]
    if "product" in shown:
        tickets = tickets.select_related("product")
    if extra:
        tickets = tickets.only(*queues.QUEUE_ROW_FIELDS, *extra)
    return tickets if sort is None else sorted_by_column(tickets, sort)


def _queue_of(
    query: queues.QueueQuery, *, user: User, now: datetime, my_tier_ids: Collection[int]
) -> QuerySet[Ticket] | None:
    """A view's queue narrowed by its filters; None when it names no known queue, or its
    custom-field condition no longer holds (the field made inactive, its kind changed, the
    chosen value no longer one of its choices): the view says so on its page and counts
    nothing in the sidebar, and every other page works."""
    try:
        return queues.queue_tickets(query, user=user, now=now, my_tier_ids=my_tier_ids)
    except InvalidInput:
        return None


def sorted_by_column(tickets: QuerySet[Ticket], sort: tuple[str, bool]) -> QuerySet[Ticket]:
    """The tickets in a column's order (then by id: every row has its place for the keyset
    pages of column_page); `sort` as parse_sort gives it."""
    key, descending = sort
    column = column_for(key)
    if column is None:
        raise KeyError(key)
    tickets = tickets.annotate(sort_value=column.sort)
    if descending:
        return tickets.order_by(F("sort_value").desc(), "-id")
    return tickets.order_by(F("sort_value").asc(), "id")


def attach_field_values(tickets: list[Ticket], columns: Collection[str]) -> None:
    """Give each ticket of a page `column_values` ({field id: rows}) when a custom field's
    column is shown: one query for the page, whatever its size (none otherwise)."""
    if not any(key.startswith(FIELD_COLUMN) for key in columns):
        return
    values = field_selectors.values_of(ticket.pk for ticket in tickets) if tickets else {}
    for ticket in tickets:
        ticket.column_values = values.get(ticket.pk, {})  # type: ignore[attr-defined]


class BadCursor(ValueError):
    pass


@dataclass(frozen=True)
class Page:
    tickets: list[Ticket]
    next_cursor: str | None


def _cursor_value(column: Column, value: Any) -> Any:
    if column.kind in ("datetime", "date"):
        return value.isoformat()
    return value


def _finite(value: float) -> float | None:
    try:
        number = float(value)
    except OverflowError:  # an int past any float
        return None
    return number if math.isfinite(number) else None


def _read_value(column: Column, value: Any) -> Any:
    """A cursor's sort value as the database compares it (queues.cursor_id and friends)."""
    read: Any = None
    if isinstance(value, bool):
        pass
    elif column.kind == "int":
        read = queues.cursor_id(value)
    elif column.kind == "float" and isinstance(value, int | float):
        read = _finite(value)
    elif column.kind == "str":
        read = queues.cursor_text(value)
    elif column.kind == "datetime":
        read = queues.cursor_moment(value)
    elif column.kind == "date" and isinstance(value, str):
        try:
            read = parse_date(value)
        except ValueError:  # well-formed but not a date
            read = None
    if read is None:
        raise BadCursor(value)
    return read


def column_page(
    tickets: QuerySet[Ticket],
    *,
    sort: tuple[str, bool],
    cursor: str = "",
    size: int = queues.PAGE_SIZE,
) -> Page:
    """One page after `cursor` of tickets sorted by a column (view_tickets): the rows after
    (sort value, id), one query whatever the depth."""
    key, descending = sort
    column = column_for(key)
    if column is None:
        raise BadCursor(cursor)
    if cursor:
        try:
            raw = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        except (binascii.Error, ValueError, UnicodeDecodeError) as error:
            raise BadCursor(cursor) from error
        if not (isinstance(raw, list) and len(raw) == 3 and raw[0] == key):
            raise BadCursor(cursor)
        last_id = queues.cursor_id(raw[2]) if not isinstance(raw[2], bool) else None
        if last_id is None:
            raise BadCursor(cursor)
        row = Tuple(F("sort_value"), F("id"))
        compare = TupleLessThan if descending else TupleGreaterThan
        tickets = tickets.filter(compare(row, (_read_value(column, raw[1]), last_id)))
    with queues.serial_plans():
        rows = list(tickets[: size + 1])
    page, more = rows[:size], len(rows) > size
    if not more:
        return Page(page, None)
    last = page[-1]
    value = _cursor_value(column, last.sort_value)  # type: ignore[attr-defined]
    encoded = base64.urlsafe_b64encode(json.dumps([key, value, last.pk]).encode()).decode()
    return Page(page, encoded)


# --- Counts for the sidebar ------------------------------------------------------------------


def count_lookups(
    queries: dict[str, queues.QueueQuery],
    *,
    user: User,
    now: datetime,
    my_tier_ids: Collection[int],
) -> dict[str, Any]:
    """One single-value lookup per view (name: its view's number of tickets), to read in
    the sidebar's one query (sidebar.sidebar's `also`): a constant number of queries
    whatever the number of views."""
    lookups: dict[str, Any] = {}
    for name, query in queries.items():
        tickets = _queue_of(query, user=user, now=now, my_tier_ids=my_tier_ids)
        if tickets is None:
            continue
        counted = (
            tickets.select_related(None)
            .prefetch_related(None)
            .order_by()
            .annotate(one=Value(1))
            .values("one")
            .annotate(n=Count("*"))
            .values("n")
        )
        lookups[name] = Coalesce(Subquery(counted), 0)
    return lookups


def count_name(view: SavedView) -> str:
    return f"saved_view_{view.pk}"
