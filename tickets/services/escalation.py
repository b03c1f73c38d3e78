"""Moving a ticket between tiers, always with a reason and a hand-off note."""

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from tickets import metrics, policy
from tickets.errors import Conflict, InvalidInput
from tickets.models import (
    EventKind,
    NoticeKind,
    Ticket,
    TicketMetrics,
    TicketStatus,
    Tier,
    TierMove,
)
from tickets.services import sla_clocks
from tickets.services._common import (
    Actor,
    bulk_write,
    lock_ticket,
    new_event,
    record_event,
    record_events,
    refuse_if_merged,
)
from tickets.services.assignment import active_agents_by_tier, agent_in_tier
from tickets.services.notices import Said, notify_agents, notify_agents_many, notify_customer
from tickets.services.queueing import schedule_routing, schedule_routing_sweep

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
        raise InvalidInput(_("Say why the ticket changes tier."), code="reason_required")
    if not handoff_note:
        raise InvalidInput(
            _("Write a hand-off note for the next tier."), code="handoff_note_required"
        )
    target = Tier.objects.filter(level=tier_level).first()
    if target is None:
        raise InvalidInput(
            _("There is no tier %(tier_level)s.") % {"tier_level": tier_level}, code="invalid_tier"
        )
    with transaction.atomic():
        ticket = lock_ticket(ticket)
        refuse_if_merged(ticket)
        policy.refuse_tier_move(actor, ticket, target.level)
        policy.refuse_if_closed(ticket)
        source = ticket.tier
        if source.pk == target.pk:
            raise InvalidInput(
                _("%(reference)s is already in %(target)s.")
                % {"reference": ticket.reference, "target": target},
                code="same_tier",
            )
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
        now = timezone.now()
        ticket.tier = target
        metrics.tier_moved(
            ticket, source.level, target.level, now, reason=reason, by_person=actor is not None
        ).save(force_insert=True)
        metrics.assigned(ticket)
        sla_clocks.reevaluate(ticket, now)
        # The new tier's routing (assignment) looks at it next.
        ticket.routing_due_at = now
        ticket.save(update_fields=["tier", "assignee", "routing_due_at", "updated_at"])
        metrics.save(ticket)
        schedule_routing(ticket.pk, target.level)
        if kind == EventKind.ESCALATED:
            notify_agents(
                user_ids=target.agents.filter(user__is_active=True).values_list(
                    "user_id", flat=True
                ),
                ticket=ticket,
                kind="escalated",
                text=_escalated(ticket, target, reason),
            )
            notify_customer(ticket=ticket, kind=NoticeKind.ESCALATED)
    return ticket


def _escalated(ticket: Ticket, tier: Tier | None, reason: str) -> Said:
    """What the tier's agents are told of an escalation."""
    return Said(
        gettext_noop("%(reference)s was escalated to tier %(level)s (%(tier)s): %(reason)s"),
        {
            "reference": ticket.reference,
            "level": tier.level if tier else "",
            "tier": tier.name if tier else "",
            "reason": reason,
        },
    )


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
            _("%(reference)s is already in tier %(level)s, the highest.")
            % {"reference": ticket.reference, "level": HIGHEST_TIER},
            code="highest_tier",
        )
    level = current + 1 if tier_level is None else tier_level
    if level <= current:
        raise InvalidInput(
            _("Escalation goes up: choose a tier above %(current)s.") % {"current": current},
            code="not_higher_tier",
        )
    return ticket_move_tier(
        ticket=ticket,
        tier_level=level,
        reason=reason,
        handoff_note=handoff_note,
        actor=actor,
        label=label,
    )


def ticket_escalate_many(
    *, tickets: list[Ticket], reason: str, handoff_notes: dict[int, str], actor: Actor, label: str
) -> list[Ticket]:
    """ticket_escalate (to the next tier) for many tickets at once, in a few statements for
    all of them: the SLA sweep's breaches. The caller holds the tickets' rows locked and
    passes them fresh. Tickets already in the highest tier, closed or merged stay where they
    are; returns those that moved.

    Each moved ticket gets what ticket_move_tier gives one: its ESCALATED event (unassigned
    from an agent who does not work the new tier), the policy of its new tier, routing (one
    routing sweep queued for all, instead of a task each), and the new tier's agents and its
    customer told.
    """
    now = timezone.now()
    tiers = {tier.level: tier for tier in Tier.objects.all()}
    moving = [
        ticket
        for ticket in tickets
        if ticket.tier.level < HIGHEST_TIER
        and ticket.status != TicketStatus.CLOSED
        and ticket.merged_into_id is None
    ]
    if not moving:
        return []
    targets = {tiers[ticket.tier.level + 1].pk for ticket in moving}
    agents_of = active_agents_by_tier(targets)
    figures = TicketMetrics.objects.in_bulk([ticket.pk for ticket in moving])
    events, moves = [], []
    for ticket in moving:
        if ticket.pk in figures:
            ticket.metrics = figures[ticket.pk]
        source, target = ticket.tier, tiers[ticket.tier.level + 1]
        data: dict[str, Any] = {
            "from": source.level,
            "to": target.level,
            "reason": reason,
            "handoff_note": handoff_notes[ticket.pk],
        }
        if ticket.assignee_id is not None and ticket.assignee_id not in agents_of[target.pk]:
            data["unassigned"] = ticket.assignee_id
            ticket.assignee = None
        events.append(new_event(ticket, EventKind.ESCALATED, actor=actor, label=label, **data))
        ticket.tier = target
        moves.append(
            metrics.tier_moved(
                ticket, source.level, target.level, now, reason=reason, by_person=actor is not None
            )
        )
        metrics.assigned(ticket)
        ticket.routing_due_at = ticket.updated_at = now
    policies = sla_clocks.active_policies()
    for ticket in moving:
        sla_clocks.reevaluate(ticket, now, policies)
    record_events(events)
    bulk_write(moving, ["tier", "assignee", "routing_due_at", "updated_at"])
    TierMove.objects.bulk_create(moves)
    metrics.save_many(moving)
    schedule_routing_sweep()
    notify_agents_many(
        [
            (
                agents_of[ticket.tier_id],
                ticket,
                "escalated",
                _escalated(ticket, ticket.tier, reason),
            )
            for ticket in moving
        ]
    )
    for ticket in moving:
        notify_customer(ticket=ticket, kind=NoticeKind.ESCALATED)
    return moving
