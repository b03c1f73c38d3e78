"""Ticket metrics computed from history, for tickets that have none (written before the
metrics existed) or, on request, for all: each ticket's events are replayed through the
same moments the services call as they happen (tickets/metrics.py).

History does not say which SLA policy a ticket had at each moment: business minutes
count in its current policy's calendar.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q

from tickets import metrics
from tickets.models import (
    EventKind,
    FiringKind,
    Message,
    SLAClock,
    SLAFiring,
    Ticket,
    TicketEvent,
    TicketMetrics,
    Tier,
    TierMove,
)
from tickets.services._common import bulk_write

BATCH = 500
_REPLAYED = (
    EventKind.CREATED,
    EventKind.MESSAGE_RECEIVED,
    EventKind.REPLIED,
    EventKind.CALL_LOGGED,
    EventKind.STATUS_CHANGED,
    EventKind.ESCALATED,
    EventKind.DEESCALATED,
    EventKind.ASSIGNED,
    EventKind.UNASSIGNED,
    EventKind.PRIORITY_CHANGED,
    EventKind.RATED,
    EventKind.MERGED_INTO,
)


def backfill_metrics(*, everything: bool = False, batch: int = BATCH) -> int:
    """Compute the metrics of tickets without them (all tickets with `everything`), a batch
    per transaction; returns how many tickets were computed."""
    tickets = Ticket.objects.order_by("pk")
    if not everything:
        tickets = tickets.filter(metrics__isnull=True)
    tiers = {tier.level: tier for tier in Tier.objects.all()}
    done = 0
    for ids in _chunks(tickets.values_list("pk", flat=True).iterator(), batch):
        with transaction.atomic():
            done += _backfill(ids, tiers)
    mark_breached_clocks()
    return done


def _chunks(values: Iterator[int], size: int) -> Iterator[list[int]]:
    while chunk := list(islice(values, size)):
        yield chunk


def _backfill(ids: list[int], tiers: dict[int, Tier]) -> int:
    tickets = list(Ticket.objects.filter(pk__in=ids).select_related("tier", "customer"))
    events: dict[int, list[TicketEvent]] = defaultdict(list)
    for event in TicketEvent.objects.filter(ticket_id__in=ids, kind__in=_REPLAYED).order_by(
        "ticket_id", "created_at", "id"
    ):
        events[event.ticket_id].append(event)
    reply_ids = [
        e.data.get("message") for es in events.values() for e in es if e.kind == EventKind.REPLIED
    ]
    replies = Message.objects.in_bulk([pk for pk in reply_ids if pk is not None])
    rows, moves, answered = [], [], []
    for ticket in tickets:
        replayed = replay(ticket, events[ticket.pk], replies, tiers)
        rows.append(replayed.metrics)
        moves += replayed.moves
        ticket.awaiting_reply_since = replayed.awaiting_reply_since
    for message in replies.values():
        if message.waited_minutes is not None:
            answered.append(message)
    TicketMetrics.objects.filter(ticket_id__in=ids).delete()
    TicketMetrics.objects.bulk_create(rows)
    TierMove.objects.filter(ticket_id__in=ids).delete()
    TierMove.objects.bulk_create(moves)
    bulk_write(answered, ["waited_minutes", "waited_business_minutes", "first_reply"])
    bulk_write(tickets, ["awaiting_reply_since"])
    return len(tickets)


@dataclass
class Replayed:
    metrics: TicketMetrics
    moves: list[TierMove]
    awaiting_reply_since: datetime | None


def replay(
    ticket: Ticket,
    events: Iterable[TicketEvent],
    replies: dict[int, Message],
    tiers: dict[int, Tier],
) -> Replayed:
    """The ticket's metrics as the services would have kept them through its history."""
    events = list(events)
    created = next((e for e in events if e.kind == EventKind.CREATED), None)
    first_tier = created.data.get("tier", ticket.tier.level) if created else ticket.tier.level
    past = Ticket(
        pk=ticket.pk,
        created_at=ticket.created_at,
        channel=ticket.channel,
        priority=_first_priority(events, ticket.priority),
        tier=tiers.get(first_tier, ticket.tier),
        customer=ticket.customer,
        sla_policy_id=ticket.sla_policy_id,
    )
    row = metrics.opened(past)
    moves: list[TierMove] = []
    for event in events:
        moved = _apply(past, event, replies, tiers)
        if moved is not None:
            moves.append(moved)
    for move in moves:
        move.ticket = ticket
    row.ticket = ticket
    return Replayed(row, moves, past.awaiting_reply_since)


def _first_priority(events: list[TicketEvent], current: str) -> str:
    changes = [e for e in events if e.kind == EventKind.PRIORITY_CHANGED]
    return str(changes[0].data.get("from", current)) if changes else current


def _apply(
    past: Ticket, event: TicketEvent, replies: dict[int, Message], tiers: dict[int, Tier]
) -> TierMove | None:
    at, data = event.created_at, event.data
    if event.kind == EventKind.MESSAGE_RECEIVED:
        metrics.customer_wrote(past, at)
    elif event.kind == EventKind.REPLIED:
        reply = replies.get(data.get("message"))
        metrics.agent_replied(past, reply, reply.created_at if reply else at)
    elif event.kind == EventKind.CALL_LOGGED and event.actor_id is not None:
        metrics.agent_replied(past, None, at)
    elif event.kind == EventKind.STATUS_CHANGED:
        metrics.status_changed(past, data["from"], data["to"], at)
    elif event.kind in (EventKind.ESCALATED, EventKind.DEESCALATED):
        return _moved(past, event, tiers)
    elif event.kind in (EventKind.ASSIGNED, EventKind.UNASSIGNED):
        past.assignee_id = data.get("to") if event.kind == EventKind.ASSIGNED else None
        metrics.assigned(past)
    elif event.kind == EventKind.PRIORITY_CHANGED:
        past.priority = data["to"]
        metrics.priority_changed(past)
    elif event.kind == EventKind.RATED:
        metrics.rated(past, int(data["rating"]), at)
    elif event.kind == EventKind.MERGED_INTO:
        metrics.merged(past)
    return None


def _moved(past: Ticket, event: TicketEvent, tiers: dict[int, Tier]) -> TierMove:
    old, new = int(event.data["from"]), int(event.data["to"])
    past.tier = tiers.get(new, past.tier)
    move = metrics.tier_moved(
        past,
        old,
        new,
        event.created_at,
        reason=str(event.data.get("reason", "")),
        by_person=event.actor_id is not None,
    )
    if "unassigned" in event.data:
        past.assignee_id = None
        metrics.assigned(past)
    return move


def mark_breached_clocks() -> int:
    """Clocks whose breach fired, or that stopped after they were due, missed their target
    (kept by the services since the metrics exist; set here for older clocks)."""
    breach = SLAFiring.objects.filter(clock=OuterRef("pk"), kind=FiringKind.BREACH)
    late = Q(stopped_at__isnull=False, due_at__isnull=False, stopped_at__gt=F("due_at"))
    return (
        SLAClock.objects.filter(breached=False)
        .filter(Q(Exists(breach)) | late)
        .update(breached=True)
    )
