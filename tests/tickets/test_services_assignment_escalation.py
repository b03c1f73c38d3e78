"""Assignment within a tier; escalation and de-escalation with reason and hand-off note."""

import pytest

from tests.factories import AgentFactory
from tickets import services
from tickets.errors import Conflict, InvalidInput
from tickets.models import EventKind, TicketEvent

pytestmark = pytest.mark.django_db


def last_event(ticket):
    return TicketEvent.objects.filter(ticket=ticket).last()


def test_assign_to_agent_of_the_tier(open_ticket, agent):
    ticket = open_ticket(tier_level=1)
    lead = AgentFactory(username="lead", tiers=[1])

    services.ticket_assign(ticket=ticket, assignee=agent, actor=lead)

    ticket.refresh_from_db()
    assert ticket.assignee == agent
    event = last_event(ticket)
    assert (event.kind, event.actor, event.data["from"], event.data["to"]) == (
        EventKind.ASSIGNED,
        lead,
        None,
        agent.pk,
    )


def test_reassign_records_previous_assignee(open_ticket, agent):
    ticket = open_ticket(tier_level=1)
    other = AgentFactory(username="other", tiers=[1])
    services.ticket_assign(ticket=ticket, assignee=agent, actor=agent)
    services.ticket_assign(ticket=ticket, assignee=other, actor=agent)
    assert last_event(ticket).data["from"] == agent.pk


def test_assigning_the_same_agent_again_is_a_no_op(open_ticket, agent):
    ticket = open_ticket(tier_level=1)
    services.ticket_assign(ticket=ticket, assignee=agent, actor=agent)
    count = TicketEvent.objects.count()
    services.ticket_assign(ticket=ticket, assignee=agent, actor=agent)
    assert TicketEvent.objects.count() == count


def test_agent_outside_the_tier_cannot_be_assigned(open_ticket, tier2_agent):
    ticket = open_ticket(tier_level=1)
    with pytest.raises(InvalidInput) as error:
        services.ticket_assign(ticket=ticket, assignee=tier2_agent, actor=tier2_agent)
    assert error.value.code == "assignee_not_in_tier"
    ticket.refresh_from_db()
    assert ticket.assignee is None


def test_inactive_agent_cannot_be_assigned(open_ticket, agent):
    agent.is_active = False
    agent.save()
    with pytest.raises(InvalidInput):
        services.ticket_assign(ticket=open_ticket(tier_level=1), assignee=agent, actor=None)


def test_closed_ticket_cannot_be_assigned(open_ticket, agent):
    ticket = open_ticket(tier_level=1)
    services.ticket_close(ticket=ticket, actor=agent)
    with pytest.raises(Conflict):
        services.ticket_assign(ticket=ticket, assignee=agent, actor=agent)


def test_unassign_records_event_once(open_ticket, agent):
    ticket = open_ticket(tier_level=1)
    services.ticket_assign(ticket=ticket, assignee=agent, actor=agent)
    services.ticket_unassign(ticket=ticket, actor=agent, reason="Going on leave")
    services.ticket_unassign(ticket=ticket, actor=agent)
    ticket.refresh_from_db()
    assert ticket.assignee is None
    unassigned = TicketEvent.objects.filter(ticket=ticket, kind=EventKind.UNASSIGNED)
    assert [e.data for e in unassigned] == [{"from": agent.pk, "reason": "Going on leave"}]


def test_escalate_to_next_tier_carries_the_handoff(open_ticket, agent):
    ticket = open_ticket(tier_level=1)

    services.ticket_escalate(
        ticket=ticket,
        actor=agent,
        reason="Needs log analysis",
        handoff_note="Customer on v4.2, logs attached, restart did not help.",
    )

    ticket.refresh_from_db()
    assert ticket.tier.level == 2
    event = last_event(ticket)
    assert event.kind == EventKind.ESCALATED
    assert event.actor == agent
    assert event.data == {
        "from": 1,
        "to": 2,
        "reason": "Needs log analysis",
        "handoff_note": "Customer on v4.2, logs attached, restart did not help.",
    }


def test_escalate_can_skip_to_a_higher_tier(open_ticket, agent):
    ticket = open_ticket(tier_level=1)
    services.ticket_escalate(ticket=ticket, actor=agent, tier_level=3, reason="r", handoff_note="n")
    ticket.refresh_from_db()
    assert ticket.tier.level == 3


def test_escalate_past_tier_3_is_refused(open_ticket, agent):
    ticket = open_ticket(tier_level=3)
    with pytest.raises(Conflict) as error:
        services.ticket_escalate(ticket=ticket, actor=agent, reason="r", handoff_note="n")
    assert error.value.code == "highest_tier"
    assert not TicketEvent.objects.filter(kind=EventKind.ESCALATED).exists()


def test_escalate_downwards_is_refused(open_ticket, agent):
    with pytest.raises(InvalidInput) as error:
        services.ticket_escalate(
            ticket=open_ticket(tier_level=2),
            actor=agent,
            tier_level=1,
            reason="r",
            handoff_note="n",
        )
    assert error.value.code == "not_higher_tier"


@pytest.mark.parametrize(
    "reason, note, code",
    [("", "note", "reason_required"), ("reason", "   ", "handoff_note_required")],
)
def test_reason_and_handoff_note_are_required(open_ticket, agent, reason, note, code):
    ticket = open_ticket(tier_level=1)
    with pytest.raises(InvalidInput) as error:
        services.ticket_escalate(ticket=ticket, actor=agent, reason=reason, handoff_note=note)
    assert error.value.code == code
    ticket.refresh_from_db()
    assert ticket.tier.level == 1


def test_deescalate_records_its_own_kind(open_ticket, tier2_agent):
    ticket = open_ticket(tier_level=2)
    services.ticket_move_tier(
        ticket=ticket, tier_level=1, reason="Known issue", handoff_note="Send KB-12",
        actor=tier2_agent,
    )  # fmt: skip
    ticket.refresh_from_db()
    assert ticket.tier.level == 1
    assert last_event(ticket).kind == EventKind.DEESCALATED


def test_move_to_same_or_unknown_tier_is_refused(open_ticket, agent):
    ticket = open_ticket(tier_level=1)
    for level, code in [(1, "same_tier"), (9, "invalid_tier")]:
        with pytest.raises(InvalidInput) as error:
            services.ticket_move_tier(
                ticket=ticket, tier_level=level, reason="r", handoff_note="n", actor=agent
            )
        assert error.value.code == code


def test_assignee_outside_the_new_tier_is_unassigned(open_ticket, agent):
    ticket = open_ticket(tier_level=1)
    services.ticket_assign(ticket=ticket, assignee=agent, actor=agent)
    services.ticket_escalate(ticket=ticket, actor=agent, reason="r", handoff_note="n")
    ticket.refresh_from_db()
    assert ticket.assignee is None
    assert last_event(ticket).data["unassigned"] == agent.pk


def test_assignee_in_both_tiers_keeps_the_ticket(open_ticket):
    both = AgentFactory(username="both", tiers=[1, 2])
    ticket = open_ticket(tier_level=1)
    services.ticket_assign(ticket=ticket, assignee=both, actor=both)
    services.ticket_escalate(ticket=ticket, actor=both, reason="r", handoff_note="n")
    ticket.refresh_from_db()
    assert ticket.assignee == both


def test_system_escalation_is_labelled(open_ticket):
    ticket = open_ticket(tier_level=1)
    services.ticket_escalate(
        ticket=ticket, actor=None, label="SLA policy Gold", reason="Breach", handoff_note="n"
    )
    event = last_event(ticket)
    assert (event.actor, event.actor_label) == (None, "SLA policy Gold")
