"""Followers hear of a ticket's news: customer messages, status changes and notes.

An event listener (tickets.services._common.event_listeners), so every door that writes
those events (a channel, a reply that resolves, a bulk action, a rule) tells followers,
after commit, in one query for all the tickets of a batch. Nobody is told of their own
change, a colleague a note mentions hears of it once (the mention), and an assignee who
follows their ticket hears of the customer's message once (as its assignee, as their
notification choices say: tickets.services.notices).
"""

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils.functional import lazy
from django.utils.translation import gettext_noop

from tickets.models import EventKind, Ticket, TicketEvent, TicketFollower, TicketStatus
from tickets.services._common import in_sentence
from tickets.services.notices import Said, notify_agents_many

FOLLOWED = {EventKind.MESSAGE_RECEIVED, EventKind.STATUS_CHANGED, EventKind.NOTE_ADDED}


def add_followers(ticket: Ticket, user_ids: list[int]) -> None:
    """In the caller's transaction, the ticket locked: these agents follow it."""
    TicketFollower.objects.bulk_create(
        [TicketFollower(ticket=ticket, user_id=pk) for pk in user_ids], ignore_conflicts=True
    )
    if user_ids and not ticket.has_followers:
        Ticket.objects.filter(pk=ticket.pk).update(has_followers=True)
        ticket.has_followers = True


def on_events(events: list[TicketEvent]) -> None:
    news = [
        (event.ticket_id, event.kind, event.actor_id, dict(event.data or {}))
        for event in events
        if event.kind in FOLLOWED and _may_be_followed(event)
    ]
    if news:
        transaction.on_commit(lambda: tell_followers(news), robust=True)


def _may_be_followed(event: TicketEvent) -> bool:
    """False when the ticket the event was written with (read in its transaction, locked)
    has no followers: most tickets, asked without a query. An event written without its
    ticket in hand is looked up."""
    if not TicketEvent.ticket.is_cached(event):
        return True
    ticket = event.ticket
    return "has_followers" in ticket.get_deferred_fields() or ticket.has_followers


def tell_followers(news: Sequence[tuple[int, str, int | None, dict[str, Any]]]) -> None:
    ticket_ids = {ticket_id for ticket_id, *_ in news}
    following: dict[int, set[int]] = {}
    assignees: dict[int, int | None] = {}
    for ticket_id, user_id, assignee_id in TicketFollower.objects.filter(
        ticket_id__in=ticket_ids, user__is_active=True
    ).values_list("ticket_id", "user_id", "ticket__assignee_id"):
        following.setdefault(ticket_id, set()).add(user_id)
        assignees[ticket_id] = assignee_id
    if not following:
        return
    notices = []
    for ticket_id, kind, actor_id, data in news:
        told = following.get(ticket_id, set()) - {actor_id}
        told -= {mention.get("id") for mention in data.get("mentions", [])}
        if kind == EventKind.MESSAGE_RECEIVED:  # the assignee hears of it as the assignee
            told -= {assignees.get(ticket_id)}
        if told:
            ticket = Ticket(pk=ticket_id)
            notices.append((told, ticket, f"followed_{kind}", _said(ticket, kind, data)))
    notify_agents_many(notices)


def _said(ticket: Ticket, kind: str, data: dict[str, Any]) -> Said:
    """What a follower is told, in their language (a status as said mid-sentence in it)."""
    values: dict[str, Any] = {"reference": ticket.reference}
    if kind == EventKind.MESSAGE_RECEIVED:
        return Said(gettext_noop("%(reference)s: the customer wrote"), values)
    if kind == EventKind.STATUS_CHANGED:
        to = data.get("to", "")
        label = TicketStatus(to).label if to in TicketStatus.values else to
        values["status"] = _in_sentence_lazy(label)
        return Said(gettext_noop("%(reference)s: status changed to %(status)s"), values)
    return Said(gettext_noop("%(reference)s: a new internal note"), values)


_in_sentence_lazy = lazy(in_sentence, str)
