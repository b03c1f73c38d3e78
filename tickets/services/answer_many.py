"""Answering many tickets with one text and resolving them at once: the bulk path of a
solved problem (tickets.problems). Each ticket gets what ticket_reply with "resolve" gives
it, in a few statements per batch whatever its size: one message on the customer's own
channel (the text with their placeholders filled, and the satisfaction survey's link, so
the answer is the resolution notice too: one message, not two), its SLA clocks stopped,
its metrics and history written, and its status changed through the one map of allowed
changes. A live chat is written in only by the agent holding it (or an admin), as at every
other door: a chat a colleague holds, or one nobody has accepted yet, is left to them, and
the ticket stays open with the reason."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Max

from tickets import live, metrics, placeholders, policy
from tickets.addressing import new_message_id
from tickets.errors import DomainError
from tickets.fields.selectors import missing_to_solve
from tickets.models import (
    ACTIVE_STATUSES,
    Channel,
    ChatSession,
    ChatStatus,
    ContactPoint,
    DeliveryStatus,
    EventKind,
    Message,
    MessageKind,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from tickets.services import sla_clocks
from tickets.services._common import Actor, bulk_write, lock_rows, new_event, record_events
from tickets.services.messages import (
    contact_needed,
    default_reply_channel,
    initial_delivery,
    unreachable_by,
)
from tickets.services.notices import rating_link, with_rating_request
from tickets.services.outbound import deliveries_together, schedule_delivery
from tickets.services.transitions import refuse_transition, set_status, status_event

_TICKET_FIELDS = [
    "status",
    "status_since",
    "resolved_at",
    "first_responded_at",
    "last_message_at",
    "awaiting_reply_since",
    "routing_due_at",
    "updated_at",
    *sla_clocks.DEADLINE_FIELDS,
]


@dataclass
class Answered:
    """What answering a batch did: the tickets answered and resolved, and those left as
    they were with the reason (no way to reach the customer, a status that cannot resolve)."""

    done: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)


def tickets_answer_and_resolve(
    *,
    ticket_ids: Sequence[int],
    text: str,
    actor: Actor,
    now: datetime,
    event: tuple[EventKind, dict[str, Any]] | None = None,
) -> Answered:
    """Answer and resolve these tickets (those still active), in one transaction; `event`:
    one more event for each ticket answered (what the answer was for)."""
    outcome = Answered()
    with transaction.atomic(), deliveries_together():
        tickets = lock_rows(
            Ticket.objects.select_related("tier", "customer", "metrics", "sla_policy"), ticket_ids
        )
        active = [
            t for t in tickets.values() if t.status in ACTIVE_STATUSES and t.merged_into_id is None
        ]
        channels, chats = _reply_channels(active)
        lacking = missing_to_solve(t.pk for t in active)
        answered: list[Ticket] = []
        for ticket in active:
            channel = channels[ticket.pk]
            try:
                refuse_transition(
                    ticket, TicketStatus.RESOLVED, actor=actor, lacking=lacking.get(ticket.pk, [])
                )
                if channel.startswith("!"):
                    raise DomainError(channel[1:])
                if channel == Channel.CHAT:
                    policy.refuse_unless_holds_chat(actor, chats[ticket.pk])
            except DomainError as error:
                outcome.refused[ticket.pk] = error.message
                continue
            answered.append(ticket)
        _write(answered, channels, text=text, actor=actor, now=now, event=event)
        outcome.done = [t.pk for t in answered]
    return outcome


def _reply_channels(tickets: list[Ticket]) -> tuple[dict[int, str], dict[int, ChatSession]]:
    """Each ticket's answer channel as ticket_reply chooses it, or "!" and why it has none,
    and the live chats by ticket: three queries for all."""
    ids = [t.pk for t in tickets]
    latest = (
        Message.objects.filter(ticket_id__in=ids, kind=MessageKind.INBOUND)
        .values("ticket_id")
        .annotate(last=Max("id"))
        .values_list("last", flat=True)
    )
    last_channel = dict(
        Message.objects.filter(pk__in=list(latest)).values_list("ticket_id", "channel")
    )
    live_chats = {
        chat.ticket_id: chat
        for chat in ChatSession.objects.filter(ticket_id__in=ids).exclude(status=ChatStatus.ENDED)
    }
    kinds: dict[int, set[str]] = {}
    for customer_id, kind in ContactPoint.objects.filter(
        customer_id__in={t.customer_id for t in tickets}
    ).values_list("customer_id", "kind"):
        kinds.setdefault(customer_id, set()).add(kind)
    channels = {}
    for ticket in tickets:
        channel = default_reply_channel(last_channel.get(ticket.pk), ticket.channel)
        if channel == Channel.CHAT and ticket.pk not in live_chats:
            channel = Channel.EMAIL  # they left the chat: answered by email
        needed = contact_needed(channel)
        if needed and needed not in kinds.get(ticket.customer_id, set()):
            channel = "!" + unreachable_by(channel)
        channels[ticket.pk] = channel
    return channels, live_chats


def _write(
    tickets: list[Ticket],
    channels: dict[int, str],
    *,
    text: str,
    actor: Actor,
    now: datetime,
    event: tuple[EventKind, dict[str, Any]] | None,
) -> None:
    if not tickets:
        return
    agent = placeholders.agent_values(actor) if actor is not None else {}
    messages, events, was = [], [], {}
    for ticket in tickets:
        channel = channels[ticket.pk]
        message = _answer(ticket, channel, text, agent, actor=actor, now=now)
        metrics.agent_replied(ticket, message, now)
        messages.append(message)
        was[ticket.pk] = ticket.status
        set_status(ticket, TicketStatus.RESOLVED, now=now)
        ticket.first_responded_at = ticket.first_responded_at or now
        ticket.last_message_at, ticket.routing_due_at, ticket.updated_at = now, None, now
    Message.objects.bulk_create(messages, batch_size=500)
    for ticket, message in zip(tickets, messages, strict=True):
        events += _events(ticket, message, was[ticket.pk], actor=actor, event=event)
        _send(ticket, message)
    sla_clocks.answered_and_resolved(tickets, was, now)
    bulk_write(tickets, _TICKET_FIELDS)
    metrics.save_many(tickets)
    record_events(events)


def _answer(
    ticket: Ticket, channel: str, text: str, agent: dict[str, str], *, actor: Actor, now: datetime
) -> Message:
    body = placeholders.fill(text, placeholders.ticket_values(ticket) | agent)
    return Message(
        ticket=ticket,
        kind=MessageKind.OUTBOUND,
        channel=channel,
        author_user=actor,
        body_text=with_rating_request(body, rating_link(ticket)),
        external_id=new_message_id(ticket.pk) if channel == Channel.EMAIL else None,
        delivery_status=initial_delivery(channel),
        created_at=now,
    )


def _events(
    ticket: Ticket,
    message: Message,
    was: str,
    *,
    actor: Actor,
    event: tuple[EventKind, dict[str, Any]] | None,
) -> list[TicketEvent]:
    events = [
        new_event(
            ticket, EventKind.REPLIED, actor=actor, message=message.pk, channel=message.channel
        ),
        status_event(ticket, was, actor=actor),
    ]
    if event is not None:
        events.append(new_event(ticket, event[0], actor=actor, **event[1]))
    return events


def _send(ticket: Ticket, message: Message) -> None:
    if message.channel == Channel.CHAT:
        chat = ChatSession.objects.filter(ticket=ticket).exclude(status=ChatStatus.ENDED).first()
        if chat is not None:
            live.publish_chat(
                chat.pk, "message", live.chat_message_payload(message, chat), side="agent"
            )
    elif message.delivery_status == DeliveryStatus.PENDING:
        schedule_delivery(message.pk)
