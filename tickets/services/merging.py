"""Merging duplicate tickets: one conversation, one place."""

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets import metrics, policy
from tickets.errors import Conflict, InvalidInput
from tickets.models import ChatSession, ChatStatus, EventKind, Message, Ticket, TicketStatus
from tickets.services._common import Actor, record_event
from tickets.services.transitions import apply_transition
from tickets.services.workspace import MAX_TAGS


def ticket_merge(
    *, source: Ticket, target: Ticket, actor: Actor, now: datetime | None = None
) -> Ticket:
    """Move every message and tag of `source` onto `target`, then close `source` as merged
    (a status change like any other: its SLA clocks stop).

    Later messages threaded to `source` land on `target` (channels follow merged_into).
    """
    if source.pk == target.pk:
        raise InvalidInput(_("A ticket cannot be merged into itself."), code="same_ticket")
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
                raise Conflict(
                    _("%(reference)s was already merged.") % {"reference": ticket.reference},
                    code="ticket_merged",
                )
            if ticket.status == TicketStatus.CLOSED:
                raise Conflict(
                    _("%(reference)s is closed.") % {"reference": ticket.reference},
                    code="ticket_closed",
                )
        policy.refuse_unless_works_on(actor, source, _("merge it into another ticket"))
        policy.refuse_unless_works_on(actor, target, _("merge another ticket into it"))
        refuse_merging_customers(source, target)
        _move_chat(source, target)

        moved = Message.objects.filter(ticket=source).update(ticket=target)
        record_event(source, EventKind.MERGED_INTO, actor=actor, target=target.pk, messages=moved)
        record_event(target, EventKind.MERGED_FROM, actor=actor, source=source.pk, messages=moved)
        _keep_tags(source, target, actor)
        apply_transition(
            source,
            TicketStatus.CLOSED,
            actor=actor,
            now=now,
            reason=f"merged into {target.reference}",
            # Not solved but carried on in the target: its fields are not asked for here.
            lacking=[],
        )
        source.merged_into = target
        source.save(
            update_fields=[
                "status",
                "status_since",
                "resolved_at",
                "closed_at",
                "merged_into",
                "updated_at",
            ]
        )
        metrics.merged(source)
        metrics.save(source)
        latest = max(filter(None, [source.last_message_at, target.last_message_at]), default=None)
        target.last_message_at = latest
        target.save(update_fields=["last_message_at", "updated_at"])
    return target


def _move_chat(source: Ticket, target: Ticket) -> None:
    """The source's chat goes with its messages to the ticket kept (a chat's transcript is
    its ticket's chat messages): a live one goes on there, an ended one can still be emailed
    and rated. A ticket has one chat: when the target has its own, a live chat on the
    source is not moved away from its customer (the merge is refused)."""
    chat = ChatSession.objects.filter(ticket=source).first()
    if chat is None:
        return
    if ChatSession.objects.filter(ticket=target).exists():
        if chat.status != ChatStatus.ENDED:
            raise Conflict(
                _(
                    "%(source)s and %(target)s each have a chat, and the one of "
                    "%(source)s is still going on: merge %(target)s into %(source)s instead, "
                    "or wait until that chat has ended."
                )
                % {"source": source.reference, "target": target.reference},
                code="chat_on_both",
            )
        return
    ChatSession.objects.filter(pk=chat.pk).update(ticket=target)


def refuse_merging_customers(source: Ticket, target: Ticket) -> None:
    """Only one customer's tickets are merged: the merged thread is its customer's to read
    in the portal, where another customer's messages and files (and our replies to them)
    must not land. Asked by ticket_merge, and by the bulk merge before it asks to confirm."""
    if source.customer_id != target.customer_id:
        raise Conflict(
            _(
                "%(source)s and %(target)s are from different customers: merge the customers "
                "first if they are one person, or link both tickets to a problem."
            )
            % {"source": source.reference, "target": target.reference},
            code="different_customers",
        )


def _keep_tags(source: Ticket, target: Ticket, actor: Actor) -> None:
    """The source's tags added to the target's, up to a ticket's limit."""
    before = list(target.tags.order_by("name"))
    have = {tag.pk for tag in before}
    added = [tag for tag in source.tags.order_by("name") if tag.pk not in have]
    added = added[: max(0, MAX_TAGS - len(before))]
    if not added:
        return
    target.tags.add(*added)
    change: dict[str, Any] = {
        "from": [tag.name for tag in before],
        "to": sorted(tag.name for tag in [*before, *added]),
    }
    record_event(target, EventKind.TAGS_CHANGED, actor=actor, **change)
