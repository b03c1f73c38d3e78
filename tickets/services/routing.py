"""Routing a ticket through the tiers: tier 0 hands over to tier 1, tiers assign agents.

A routing task runs on the queue of the ticket's tier (`tier0` ... `tier3`), so each
tier's automation can have its own workers. Tasks are queued after commit; if that
fails (broker down), `routing_due_at` stays set and the routing sweep picks it up.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tickets.errors import InvalidInput
from tickets.models import (
    ACTIVE_STATUSES,
    AgentProfile,
    AssignmentMode,
    Channel,
    ChatSession,
    ChatStatus,
    MessageKind,
    Priority,
    Ticket,
    Tier,
)
from tickets.roles import light_agents
from tickets.services import self_service
from tickets.services._common import lock_row
from tickets.services.assignment import ticket_assign
from tickets.services.escalation import ticket_move_tier

ROUTING = "Routing"
# These never wait in self-service.
HANDOFF_AT_ONCE = {Priority.HIGH, Priority.URGENT}


def ticket_route(*, ticket_id: int, now: datetime | None = None) -> str:
    """Move the ticket one routing step on; returns what happened, for logs and tests."""
    now = now or timezone.now()
    with transaction.atomic():
        ticket = lock_row(Ticket.objects.select_related("tier"), ticket_id)
        if ticket is None:
            return "gone"
        if ticket.status not in ACTIVE_STATUSES or ticket.merged_into_id is not None:
            _done(ticket)
            return "inactive"
        if ticket.tier.level == 0:
            return _self_service_step(ticket, now)
        return _assign_in_tier(ticket)


def _self_service_step(ticket: Ticket, now: datetime) -> str:
    handoff_at = ticket.created_at + timedelta(minutes=ticket.tier.handoff_after_minutes)
    wrote_again = ticket.messages.filter(kind=MessageKind.INBOUND).count() > 1
    if ticket.priority in HANDOFF_AT_ONCE:
        # Kept in the ticket's history: in the default language, whoever's request ran it.
        with translation.override(settings.LANGUAGE_CODE):
            reason = f"{ticket.get_priority_display()} priority goes straight to a person"
    elif wrote_again:
        reason = "The customer wrote again"
    elif not self_service.was_offered(ticket) and not self_service.offer_articles(ticket):
        reason = "No confident self-service answer"
    elif now < handoff_at:
        ticket.routing_due_at = handoff_at
        ticket.save(update_fields=["routing_due_at", "updated_at"])
        return "waiting in self-service"
    else:
        reason = "Self-service did not resolve it in time"
    ticket_move_tier(
        ticket=ticket,
        tier_level=1,
        reason=reason,
        handoff_note="Nothing was tried yet beyond self-service; see the customer's messages.",
        actor=None,
        label=ROUTING,
    )
    return "handed to tier 1"


def _chat_is_live(ticket: Ticket) -> bool:
    # A live chat is taken by an agent who accepts it; once it ended, it is a ticket.
    return ChatSession.objects.filter(ticket=ticket).exclude(status=ChatStatus.ENDED).exists()


def _assign_in_tier(ticket: Ticket) -> str:
    tier = Tier.objects.select_for_update().get(pk=ticket.tier_id)  # one pick at a time
    if ticket.channel == Channel.CHAT and _chat_is_live(ticket):
        _done(ticket)
        return "chat waits for an agent to accept it"
    if ticket.assignee_id is not None or tier.assignment_mode == AssignmentMode.MANUAL:
        _done(ticket)
        return "assigned" if ticket.assignee_id else "waiting in the queue"
    agent = _pick_agent(tier)
    if agent is None:
        _done(ticket)
        return "no available agent"
    ticket_assign(ticket=ticket, assignee=agent.user, actor=None, label=ROUTING)
    tier.last_assigned = agent.user
    tier.save(update_fields=["last_assigned"])
    Ticket.objects.filter(pk=ticket.pk).update(routing_due_at=None)
    return f"assigned to {agent.user.get_username()}"


def ticket_assign_in_turn(*, ticket: Ticket, tier_level: int, label: str) -> User | None:
    """Give the ticket to the next available agent of its tier (its tier's assignment mode:
    in turn, or the least loaded); None when no agent is available."""
    with transaction.atomic():
        tier = Tier.objects.select_for_update().get(pk=ticket.tier_id)  # one pick at a time
        if tier.level != tier_level:
            raise InvalidInput(
                _("%(reference)s is in %(tier)s, not tier %(tier_level)s.")
                % {"reference": ticket.reference, "tier": tier, "tier_level": tier_level},
                code="wrong_tier",
            )
        agent = _pick_agent(tier)
        if agent is None:
            return None
        ticket_assign(ticket=ticket, assignee=agent.user, actor=None, label=label)
        tier.last_assigned = agent.user
        tier.save(update_fields=["last_assigned"])
        return agent.user


def _pick_agent(tier: Tier) -> AgentProfile | None:
    agents = (
        AgentProfile.objects.filter(tiers=tier, is_available=True, user__is_active=True)
        .exclude(user__in=light_agents())  # they read tickets, not answer them
        .select_related("user")
    )
    if tier.assignment_mode == AssignmentMode.LEAST_OPEN:
        open_tickets = Count(
            "user__assigned_tickets", filter=Q(user__assigned_tickets__status__in=ACTIVE_STATUSES)
        )
        return agents.annotate(load=open_tickets).order_by("load", "user_id").first()
    after = tier.last_assigned_id or 0
    return (
        agents.filter(user_id__gt=after).order_by("user_id").first()
        or agents.order_by("user_id").first()
    )


def _done(ticket: Ticket) -> None:
    if ticket.routing_due_at is not None:
        ticket.routing_due_at = None
        ticket.save(update_fields=["routing_due_at", "updated_at"])


def routing_due(*, now: datetime, limit: int = 1000) -> list[tuple[int, int]]:
    """(ticket id, tier level) of tickets whose routing is due: an index range scan."""
    return list(
        Ticket.objects.filter(routing_due_at__lte=now, status__in=ACTIVE_STATUSES)
        .order_by("routing_due_at")
        .values_list("pk", "tier__level")[:limit]
    )
