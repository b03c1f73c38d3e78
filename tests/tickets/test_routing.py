"""Routing through the tiers: tier 0 hands over to tier 1, tiers assign available agents."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import AgentFactory
from tickets import services
from tickets.models import AgentProfile, EventKind, Ticket, TicketEvent, Tier

pytestmark = pytest.mark.django_db


def route(ticket, minutes_later=0):
    now = ticket.created_at + timedelta(minutes=minutes_later)
    outcome = services.ticket_route(ticket_id=ticket.pk, now=now)
    ticket.refresh_from_db()
    return outcome


def set_mode(level, mode):
    Tier.objects.filter(level=level).update(assignment_mode=mode)


def test_new_ticket_waits_in_self_service_then_moves_to_tier_1(open_ticket, kb_answer):
    ticket = open_ticket(tier_level=0)
    assert ticket.routing_due_at is not None  # routing will look at it

    assert route(ticket) == "waiting in self-service"
    assert ticket.tier.level == 0
    assert ticket.routing_due_at == ticket.created_at + timedelta(minutes=15)

    assert route(ticket, minutes_later=15) == "handed to tier 1"
    assert ticket.tier.level == 1
    event = TicketEvent.objects.get(ticket=ticket, kind=EventKind.ESCALATED)
    assert (event.actor, event.actor_label) == (None, "Routing")
    assert event.data["reason"] == "Self-service did not resolve it in time"


@pytest.mark.parametrize("priority", ["high", "urgent"])
def test_high_and_urgent_skip_the_wait(open_ticket, priority):
    ticket = open_ticket(tier_level=0, priority=priority)
    assert route(ticket) == "handed to tier 1"


def test_customer_writing_again_moves_it_on_at_once(open_ticket, inbound, kb_answer):
    ticket = open_ticket(tier_level=0, sender="kim@example.com")
    route(ticket)
    services.ticket_add_inbound(ticket=ticket, inbound=inbound(sender="kim@example.com"))
    ticket.refresh_from_db()
    assert ticket.routing_due_at is not None
    assert route(ticket, minutes_later=1) == "handed to tier 1"
    assert TicketEvent.objects.get(ticket=ticket, kind=EventKind.ESCALATED).data["reason"] == (
        "The customer wrote again"
    )


def test_handoff_wait_is_configurable(open_ticket, kb_answer):
    Tier.objects.filter(level=0).update(handoff_after_minutes=60)
    ticket = open_ticket(tier_level=0)
    assert route(ticket, minutes_later=30) == "waiting in self-service"
    assert route(ticket, minutes_later=60) == "handed to tier 1"


def test_manual_tier_leaves_the_ticket_in_the_queue(open_ticket, agent):
    ticket = open_ticket(tier_level=1)
    assert route(ticket) == "waiting in the queue"
    assert ticket.assignee is None
    assert ticket.routing_due_at is None


def test_round_robin_among_available_agents_of_the_tier(open_ticket):
    set_mode(1, "round_robin")
    AgentFactory(username="rr-a", tiers=[1])
    AgentFactory(username="rr-b", tiers=[1])
    away = AgentFactory(username="rr-away", tiers=[1])
    AgentProfile.objects.filter(user=away).update(is_available=False)
    AgentFactory(username="rr-tier2", tiers=[2])

    assignees = []
    for _ in range(4):
        ticket = open_ticket(tier_level=1)
        route(ticket)
        assignees.append(ticket.assignee.username)

    assert assignees == ["rr-a", "rr-b", "rr-a", "rr-b"]
    event = TicketEvent.objects.filter(kind=EventKind.ASSIGNED).first()
    assert event.actor_label == "Routing"


def test_least_open_picks_the_agent_with_fewest_open_tickets(open_ticket):
    set_mode(1, "least_open")
    busy = AgentFactory(username="busy", tiers=[1])
    free = AgentFactory(username="free", tiers=[1])
    for _ in range(2):
        services.ticket_assign(ticket=open_ticket(tier_level=1), assignee=busy, actor=busy)
    resolved = open_ticket(tier_level=1)
    services.ticket_assign(ticket=resolved, assignee=free, actor=free)
    services.ticket_resolve(ticket=resolved, actor=free)  # no longer counts

    ticket = open_ticket(tier_level=1)
    assert route(ticket) == "assigned to free"


def test_no_available_agent_leaves_it_unassigned(open_ticket):
    set_mode(1, "round_robin")
    ticket = open_ticket(tier_level=1)
    assert route(ticket) == "no available agent"
    assert ticket.assignee is None


def test_escalation_routes_in_the_new_tier(open_ticket, agent):
    set_mode(2, "round_robin")
    expert = AgentFactory(username="expert", tiers=[2])
    ticket = open_ticket(tier_level=1)
    services.ticket_escalate(ticket=ticket, actor=agent, reason="r", handoff_note="n")
    ticket.refresh_from_db()
    assert ticket.routing_due_at is not None
    assert route(ticket) == "assigned to expert"
    assert ticket.assignee == expert


def test_closed_tickets_are_not_routed(open_ticket, agent):
    ticket = open_ticket(tier_level=0)
    services.ticket_close(ticket=ticket, actor=agent)
    assert route(ticket) == "inactive"
    assert ticket.routing_due_at is None


def test_routing_due_lists_only_what_is_due(open_ticket, django_assert_num_queries):
    due = open_ticket(tier_level=0)
    later = open_ticket(tier_level=0)
    Ticket.objects.filter(pk=later.pk).update(routing_due_at=timezone.now() + timedelta(hours=1))
    with django_assert_num_queries(1):
        assert services.routing_due(now=timezone.now()) == [(due.pk, 0)]


def test_admin_returns_an_unavailable_agents_tickets_to_the_queue(
    open_ticket, admin_client, celery_eager, django_capture_on_commit_callbacks
):
    set_mode(1, "round_robin")
    leaving = AgentFactory(username="leaving", tiers=[1])
    staying = AgentFactory(username="staying", tiers=[1])
    tickets = [open_ticket(tier_level=1) for _ in range(2)]
    for ticket in tickets:
        services.ticket_assign(ticket=ticket, assignee=leaving, actor=leaving)
    profile = AgentProfile.objects.get(user=leaving)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/tickets/agentprofile/",
            {"action": "release_tickets", "_selected_action": [profile.pk]},
        )

    assert response.status_code == 302
    profile.refresh_from_db()
    assert not profile.is_available
    for ticket in tickets:
        ticket.refresh_from_db()
        assert ticket.assignee == staying  # routed again, to the available agent
        unassigned = TicketEvent.objects.get(ticket=ticket, kind=EventKind.UNASSIGNED)
        assert "unavailable" in unassigned.data["reason"]


def test_broker_down_at_creation_then_the_sweep_routes(
    open_ticket, monkeypatch, celery_eager, django_capture_on_commit_callbacks
):
    from tickets import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.route_ticket, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(tier_level=0, priority="urgent")  # created all the same
    ticket.refresh_from_db()
    assert ticket.tier.level == 0 and ticket.routing_due_at is not None

    monkeypatch.undo()
    assert tasks.sweep_routing.apply().get() == 1  # the broker is back
    ticket.refresh_from_db()
    assert ticket.tier.level == 1
