"""Moving a ticket between tiers, always with a reason and a hand-off note."""

from typing import Any

from django.db import transaction
from django.utils import timezone

from tickets.errors import Conflict, InvalidInput
from tickets.models import EventKind, NoticeKind, Ticket, TicketStatus, Tier
from tickets.services import sla_clocks
from tickets.services._common import Actor, lock_ticket, record_event, refuse_if_merged
from tickets.services.assignment import agent_in_tier
from tickets.services.notices import notify_agents, notify_customer
from tickets.services.queueing import schedule_routing

HIGHEST_TIER = 3


def ticket_move_tier(
    *,
    ticket: Ticket,
    tier_level: int,
    reason: str,
    handoff_note: str,
    actor: Actor,
    label: str = "",
) -> Ticket:
    """Escalate (to a higher tier) or de-escalate (to a lower one).

    The reason and hand-off note travel with the ticket so the next tier never has to
    ask the customer again. An assignee who is not in the new tier is unassigned.
    """
    reason, handoff_note = reason.strip(), handoff_note.strip()
    if not reason:
        raise InvalidInput("Say why the ticket changes tier.", code="reason_required")
    if not handoff_note:
        raise InvalidInput("Write a hand-off note for the next tier.", code="handoff_note_required")
    target = Tier.objects.filter(level=tier_level).first()
    if target is None:
        raise InvalidInput(f"There is no tier {tier_level}.", code="invalid_tier")
    with transaction.atomic():
        ticket = lock_ticket(ticket)
        refuse_if_merged(ticket)
        if ticket.status == TicketStatus.CLOSED:
            raise Conflict(f"{ticket.reference} is closed.", code="ticket_closed")
        source = ticket.tier
        if source.pk == target.pk:
            raise InvalidInput(f"{ticket.reference} is already in {target}.", code="same_tier")
        data: dict[str, Any] = {
            "from": source.level,
            "to": target.level,
            "reason": reason,
            "handoff_note": handoff_note,
        }
        if ticket.assignee is not None and not agent_in_tier(ticket.assignee, target.pk):
            data["unassigned"] = ticket.assignee_id
            ticket.assignee = None
        kind = EventKind.ESCALATED if target.level > source.level else EventKind.DEESCALATED
        record_event(ticket, kind, actor=actor, label=label, **data)
        ticket.tier = target
        sla_clocks.reevaluate(ticket, timezone.now())
        # The new tier's routing (assignment) looks at it next.
        ticket.routing_due_at = timezone.now()
        ticket.save(update_fields=["tier", "assignee", "routing_due_at", "updated_at"])
        schedule_routing(ticket.pk, target.level)
        if kind == EventKind.ESCALATED:
            notify_agents(
                user_ids=target.agents.filter(user__is_active=True).values_list(
                    "user_id", flat=True
                ),
                ticket=ticket,
                kind="escalated",
                text=f"{ticket.reference} was escalated to {target}: {reason}",
            )
            notify_customer(ticket=ticket, kind=NoticeKind.ESCALATED)
    return ticket


def ticket_escalate(
    *,
    ticket: Ticket,
    reason: str,
    handoff_note: str,
    actor: Actor,
    tier_level: int | None = None,
    label: str = "",
) -> Ticket:
    """Move the ticket up: to the next tier, or to any higher one."""
    current = ticket.tier.level
    if current >= HIGHEST_TIER:
        raise Conflict(
            f"{ticket.reference} is already in tier {HIGHEST_TIER}, the highest.",
            code="highest_tier",
        )
    level = current + 1 if tier_level is None else tier_level
    if level <= current:
        raise InvalidInput(
            f"Escalation goes up: choose a tier above {current}.", code="not_higher_tier"
        )
    return ticket_move_tier(
        ticket=ticket,
        tier_level=level,
        reason=reason,
        handoff_note=handoff_note,
        actor=actor,
        label=label,
    )
