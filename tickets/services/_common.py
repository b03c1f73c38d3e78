"""Helpers shared by the services: locking a ticket and writing its history."""

from typing import Any

from django.contrib.auth.models import User

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


def record_event(
    ticket: Ticket, kind: EventKind, *, actor: Actor, label: str = "", **data: Any
) -> TicketEvent:
    event = TicketEvent.objects.create(
        ticket=ticket,
        kind=kind,
        actor=actor,
        actor_label=label or ("" if actor is not None else "system"),
        data=data,
    )
    # Every change of a ticket writes an event, so this one push keeps open screens current.
    publish_ticket_changed(ticket_id=ticket.pk, kind=kind, actor_id=actor.pk if actor else None)
    return event
