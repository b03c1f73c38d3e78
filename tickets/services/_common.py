"""Helpers shared by the services: locking a ticket and writing its history."""

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from typing import Any, TypeVar

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Field, Model, QuerySet
from django.utils import translation
from django.utils.translation import gettext as _

from tickets import policy
from tickets.errors import Conflict
from tickets.live import publish_ticket_changed
from tickets.models import EventKind, Ticket, TicketEvent

# The person acting; None when the system acts (an automation, a channel).
Actor = User | None

# Who the system acts as, for the history ("Trigger: VIP first"), while a rule's actions run.
_acting_as: ContextVar[str] = ContextVar("acting_as", default="")
# Told of every event written (tickets.automation registers itself in AppConfig.ready):
# services write events, rules listen, and no service grows an `if` per rule.
event_listeners: list[Callable[[list[TicketEvent]], None]] = []


@contextmanager
def acting_as(label: str) -> Iterator[None]:
    """Changes made inside are shown as made by `label` (when no person acts)."""
    token = _acting_as.set(label)
    try:
        yield
    finally:
        _acting_as.reset(token)


def lock_ticket(ticket: Ticket) -> Ticket:
    """Re-read the ticket under a row lock, so concurrent agents do not overwrite each other;
    its metrics row comes with it (tickets/metrics.py).

    Must be called inside transaction.atomic().
    """
    locked = lock_row(Ticket.objects.select_related("tier", "customer", "metrics"), ticket.pk)
    if locked is None:
        raise Ticket.DoesNotExist(f"Ticket {ticket.pk} does not exist.")
    return locked


M = TypeVar("M", bound=Model)


def lock_row(query: QuerySet[M], pk: int) -> M | None:
    """The row `pk` of a query that joins others (select_related), locked; None if none.

    Waiting for a lock, PostgreSQL re-checks a row another transaction changed against the
    joined rows as they were: a row whose foreign key changed meanwhile (a ticket's tier
    after routing, a chat's agent after a transfer) drops out of a locking query with
    joins. Then it is locked alone and read again (the usual case costs one statement).
    """
    found = query.select_for_update(of=("self",)).filter(pk=pk).first()
    if found is not None:
        return found
    plain = query.model._default_manager.select_for_update().filter(pk=pk)
    if plain.values_list("pk").first() is None:
        return None
    return query.filter(pk=pk).first()


def lock_rows(query: QuerySet[M], pks: Iterable[int]) -> dict[int, M]:
    """Rows by pk, locked in pk order (so two callers cannot deadlock), with the query's
    joins. Rows that drop out of the joined locking query (see lock_row) are locked alone
    and read again: the usual case is one statement."""
    wanted = sorted(set(pks))
    found = {
        row.pk: row
        for row in query.select_for_update(of=("self",)).filter(pk__in=wanted).order_by("pk")
    }
    missing = [pk for pk in wanted if pk not in found]
    if missing:
        plain = query.model._default_manager.select_for_update().filter(pk__in=missing)
        list(plain.order_by("pk").values_list("pk", flat=True))
        found.update(query.in_bulk(missing))
    return found


def savepoint_unless(locked: bool) -> AbstractContextManager[Any]:
    """A savepoint, unless the caller holds the locks that keep others from racing it
    (then its own transaction: a savepoint is two statements a message, and an error there
    fails the caller's transaction whole, as it should)."""
    if locked:
        if not connection.in_atomic_block:
            raise RuntimeError("a caller holding locks is in a transaction")
        return nullcontext()
    return transaction.atomic()


def in_sentence(label: Any) -> str:
    """A choice's label (a status, a kind of contact) as said mid-sentence: lower-cased in
    English ("cannot go from new to resolved"); other languages keep it as written (German
    nouns keep their capitals)."""
    text = str(label)
    return text.lower() if (translation.get_language() or "en").startswith("en") else text


def refuse_if_merged(ticket: Ticket) -> None:
    if ticket.merged_into_id is not None:
        raise Conflict(
            _("%(reference)s was merged into another ticket; work on that one instead.")
            % {"reference": ticket.reference},
            code="ticket_merged",
        )


def new_event(
    ticket: Ticket, kind: EventKind, *, actor: Actor, label: str = "", **data: Any
) -> TicketEvent:
    """An event, not yet written (record_events writes many at once)."""
    return TicketEvent(
        ticket=ticket,
        kind=kind,
        actor=actor,
        actor_label=label or ("" if actor is not None else _acting_as.get() or "system"),
        data=data,
    )


# A customer's message travels with its event in memory (not stored: the event's data has
# its id), so that what hears the event need not read it again.
_MESSAGE_IN_HAND = "message_in_hand"


def with_message(event: TicketEvent, message: Any) -> TicketEvent:
    event.__dict__[_MESSAGE_IN_HAND] = message
    return event


def message_in_hand(event: TicketEvent) -> Any:
    """The message the event was written with (with_message), if this is that object."""
    return event.__dict__.get(_MESSAGE_IN_HAND)


def record_event(
    ticket: Ticket, kind: EventKind, *, actor: Actor, label: str = "", **data: Any
) -> TicketEvent:
    return record_events([new_event(ticket, kind, actor=actor, label=label, **data)])[0]


def record_events(events: list[TicketEvent]) -> list[TicketEvent]:
    """Write events (one statement) and tell open screens about each. A person whose role
    may not make such a change is refused here too (tickets.policy), whichever door it came
    through: the caller's transaction then writes nothing."""
    policy.refuse_event_kinds(
        [(event.actor, event.kind) for event in events if event.actor_id is not None]
    )
    if len(events) == 1:
        events[0].save(force_insert=True)
    else:
        TicketEvent.objects.bulk_create(events, batch_size=1000)
    # Every change of a ticket writes an event, so this one push keeps screens current: one
    # a ticket (its latest), however many events a bulk write gives it.
    latest = {event.ticket_id: event for event in events}
    for event in latest.values():
        publish_ticket_changed(ticket_id=event.ticket_id, kind=event.kind, actor_id=event.actor_id)
    for listener in event_listeners:
        listener(events)
    return events


def bulk_write(objects: Sequence[Model], fields: list[str]) -> None:
    """Write these fields of these saved objects of one model, in one statement.

    On PostgreSQL an UPDATE ... FROM unnest(one array per column): Django's bulk_update
    builds a CASE per field and row, which takes seconds to write a thousand tickets.
    """
    if not objects:
        return
    model = type(objects[0])
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(objects, fields, batch_size=500)
        return
    meta = model._meta
    columns: list[Field[Any, Any]] = [
        field
        for field in (meta.pk, *(meta.get_field(name) for name in fields))
        if isinstance(field, Field)
    ]
    quote = connection.ops.quote_name
    names = [quote(str(column.column)) for column in columns]
    arrays = [
        [column.get_db_prep_value(getattr(obj, column.attname), connection) for obj in objects]
        for column in columns
    ]
    casts = ", ".join(f"%s::{column.db_type(connection)}[]" for column in columns)
    assignments = ", ".join(f"{name} = v.{name}" for name in names[1:])
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(meta.db_table)} AS t SET {assignments} "  # noqa: S608 - names from the model
            f"FROM unnest({casts}) AS v({', '.join(names)}) WHERE t.{names[0]} = v.{names[0]}",
            arrays,
        )
