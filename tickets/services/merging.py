"""Merging duplicate tickets: one conversation, one place."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from tickets.errors import Conflict, InvalidInput
from tickets.models import EventKind, Message, Ticket, TicketStatus
from tickets.services._common import Actor, record_event


def ticket_merge(
    *, source: Ticket, target: Ticket, actor: Actor, now: datetime | None = None
) -> Ticket:
    """Move every message of `source` onto `target`, then close `source` as merged.

    Later messages threaded to `source` land on `target` (channels follow merged_into).
    """
    if source.pk == target.pk:
        raise InvalidInput("A ticket cannot be merged into itself.", code="same_ticket")
    now = now or timezone.now()
    with transaction.atomic():
        # Lock both rows in id order so two opposite merges cannot deadlock.
        locked = {
            t.pk: t
            for t in Ticket.objects.select_for_update()
            .filter(pk__in=sorted([source.pk, target.pk]))
            .order_by("pk")
        }
        source, target = locked[source.pk], locked[target.pk]
        for ticket in (source, target):
            if ticket.merged_into_id is not None:
                raise Conflict(f"{ticket.reference} was already merged.", code="ticket_merged")
            if ticket.status == TicketStatus.CLOSED:
                raise Conflict(f"{ticket.reference} is closed.", code="ticket_closed")

        moved = Message.objects.filter(ticket=source).update(ticket=target)
        record_event(source, EventKind.MERGED_INTO, actor=actor, target=target.pk, messages=moved)
        record_event(target, EventKind.MERGED_FROM, actor=actor, source=source.pk, messages=moved)
        source.status = TicketStatus.CLOSED
        source.closed_at = now
        source.merged_into = target
        source.save(update_fields=["status", "closed_at", "merged_into", "updated_at"])
        latest = max(filter(None, [source.last_message_at, target.last_message_at]), default=None)
        target.last_message_at = latest
        target.save(update_fields=["last_message_at", "updated_at"])
    return target
