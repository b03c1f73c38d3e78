"""Helpers shared by the services: locking a ticket and writing its history."""

from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Field, Model

from tickets.errors import Conflict
from tickets.live import publish_ticket_changed
from tickets.models import EventKind, Ticket, TicketEvent

# The person acting; None when the system acts (an automation, a channel).
Actor = User | None


def lock_ticket(ticket: Ticket) -> Ticket:
    """Re-read the ticket under a row lock, so concurrent agents do not overwrite each other.

    Must be called inside transaction.atomic().
    """
    return (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("tier", "customer")
        .get(pk=ticket.pk)
    )


def refuse_if_merged(ticket: Ticket) -> None:
    if ticket.merged_into_id is not None:
        raise Conflict(
            f"{ticket.reference} was merged into another ticket; work on that one instead.",
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
        actor_label=label or ("" if actor is not None else "system"),
        data=data,
    )


def record_event(
    ticket: Ticket, kind: EventKind, *, actor: Actor, label: str = "", **data: Any
) -> TicketEvent:
    return record_events([new_event(ticket, kind, actor=actor, label=label, **data)])[0]


def record_events(events: list[TicketEvent]) -> list[TicketEvent]:
    """Write events (one statement) and tell open screens about each."""
    if len(events) == 1:
        events[0].save(force_insert=True)
    else:
        TicketEvent.objects.bulk_create(events, batch_size=1000)
    for event in events:
        # Every change of a ticket writes an event, so this one push keeps screens current.
        publish_ticket_changed(ticket_id=event.ticket_id, kind=event.kind, actor_id=event.actor_id)
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
