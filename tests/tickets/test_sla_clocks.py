"""SLA clocks on real tickets: policies, business hours, pauses, and the sweep firing once."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from tests.factories import AgentFactory
from tickets import services
from tickets.models import (
    BusinessCalendar,
    ClockKind,
    EventKind,
    Notification,
    OpeningHours,
    SLAClock,
    SLAFiring,
    SLAPolicy,
    Ticket,
    TicketEvent,
)

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in the week of Monday 2026-01-05, London time."""
    return datetime(2026, 1, day, hour, minute, tzinfo=LONDON)


@pytest.fixture
def office():
    calendar = BusinessCalendar.objects.create(name="London office", time_zone="Europe/London")
    for weekday in range(5):
        OpeningHours.objects.create(calendar=calendar, weekday=weekday, start=time(9), end=time(17))
    return calendar


@pytest.fixture
def policy(office):
    return SLAPolicy.objects.create(
        name="Standard",
        is_default=True,
        first_response_minutes=60,
        next_response_minutes=120,
        resolution_minutes=480,
        calendar=office,
        warning_percent=80,
        warning_actions=["notify_tier"],
        breach_actions=["notify_assignee", "escalate"],
    )


def opened(open_ticket, when, **kwargs) -> Ticket:
    with time_machine.travel(when, tick=False):
        ticket = open_ticket(tier_level=1, **kwargs)
    ticket.refresh_from_db()
    return ticket


def test_new_ticket_gets_the_policy_and_business_hour_deadlines(open_ticket, policy):
    ticket = opened(open_ticket, at(5, 16, 30))  # Monday 16:30
    assert ticket.sla_policy == policy
    assert ticket.first_response_due_at == at(6, 9, 30)  # Tuesday 09:30
    assert ticket.resolution_due_at == at(6, 16, 30)  # 30 min Monday + 7.5 h Tuesday
    assert ticket.sla_due_at == ticket.first_response_due_at
    warning = SLAClock.objects.get(ticket=ticket, kind=ClockKind.FIRST_RESPONSE).warning_at
    assert warning == at(6, 9, 18)  # 48 of 60 minutes
    assert ticket.sla_next_check_at == warning


def test_weekend_and_night_do_not_count(open_ticket, policy):
    ticket = opened(open_ticket, at(9, 16, 45))  # Friday 16:45
    assert ticket.first_response_due_at == at(12, 9, 45)  # Monday 09:45


def test_first_public_reply_meets_first_response_but_a_note_does_not(open_ticket, policy, agent):
    ticket = opened(open_ticket, at(5, 10))
    with time_machine.travel(at(5, 10, 20), tick=False):
        services.ticket_add_note(ticket=ticket, actor=agent, text="looking")
        ticket.refresh_from_db()
        assert ticket.first_response_due_at == at(5, 11)
        services.ticket_reply(ticket=ticket, actor=agent, text="On it")
    ticket.refresh_from_db()
    assert ticket.first_response_due_at is None
    assert ticket.sla_due_at == ticket.resolution_due_at


def test_each_answer_leaves_the_other_clocks_deadlines_and_what_has_fired(
    open_ticket, policy, agent, inbound
):
    ticket = opened(open_ticket, at(5, 9), sender="cust@example.com")
    resolution = SLAClock.objects.get(ticket=ticket, kind=ClockKind.RESOLUTION)
    assert resolution.due_at == at(5, 17)
    SLAFiring.objects.create(clock=resolution, kind="warning")  # as if its 80% had passed
    with time_machine.travel(at(5, 9, 30), tick=False):
        services.ticket_reply(ticket=ticket, actor=agent, text="On it")
    ticket.refresh_from_db()
    assert (ticket.first_response_due_at, ticket.next_response_due_at) == (None, None)
    assert ticket.resolution_due_at == ticket.sla_due_at == at(5, 17)
    assert ticket.sla_next_check_at == at(5, 17)  # its warning fired: the breach is next

    with time_machine.travel(at(5, 11), tick=False):
        services.ticket_add_inbound(ticket=ticket, inbound=inbound(sender="cust@example.com"))
    ticket.refresh_from_db()
    assert ticket.next_response_due_at == ticket.sla_due_at == at(5, 13)
    assert ticket.sla_next_check_at == at(5, 12, 36)  # 96 of 120 minutes

    for minute in (30, 31):  # the second answer stops nothing and changes nothing
        with time_machine.travel(at(5, 11, minute), tick=False):
            services.ticket_reply(ticket=ticket, actor=agent, text="Still on it")
        ticket.refresh_from_db()
        assert ticket.next_response_due_at is None
        assert ticket.sla_due_at == ticket.sla_next_check_at == at(5, 17)
        assert ticket.resolution_due_at == at(5, 17)


def test_a_customer_reply_starts_its_clock_in_a_fixed_number_of_statements(
    open_ticket, policy, agent, inbound
):
    """The frequent write of a conversation (every chat message): only the new clock is
    timed, on the policy's calendar read with it; the other clocks are left as they are."""
    ticket = opened(open_ticket, at(5, 9), sender="cust@example.com")
    counts = []
    for hour in (10, 12, 14):
        with time_machine.travel(at(5, hour), tick=False):
            services.ticket_reply(ticket=ticket, actor=agent, text="Which version?")
        with (
            time_machine.travel(at(5, hour, 30), tick=False),
            CaptureQueriesContext(connection) as queries,
        ):
            services.ticket_add_inbound(ticket=ticket, inbound=inbound(sender="cust@example.com"))
        counts.append(len(queries))
        ticket.refresh_from_db()
        assert ticket.next_response_due_at == at(5, hour + 2, 30)
    assert counts[0] == counts[2] <= 14, counts  # 17 when every running clock was timed again
    assert ticket.resolution_due_at == at(5, 17)


def test_waiting_on_the_customer_pauses_and_their_answer_starts_next_response(
    open_ticket, policy, agent, inbound
):
    ticket = opened(open_ticket, at(5, 9), sender="cust@example.com")
    with time_machine.travel(at(5, 10), tick=False):
        services.ticket_reply(
            ticket=ticket, actor=agent, text="Which version?", status="pending_customer"
        )
    ticket.refresh_from_db()
    assert ticket.resolution_due_at is None  # paused: no deadline while we wait
    with time_machine.travel(at(6, 9), tick=False):
        services.ticket_add_inbound(ticket=ticket, inbound=inbound(sender="cust@example.com"))
    ticket.refresh_from_db()
    # 60 minutes ran before the pause; 420 remain from Tuesday 09:00.
    assert ticket.resolution_due_at == at(6, 16)
    assert ticket.next_response_due_at == at(6, 11)


def test_priority_change_applies_another_policy_keeping_elapsed_time(open_ticket, policy, office):
    SLAPolicy.objects.create(
        name="Urgent",
        position=1,
        priorities=["urgent"],
        first_response_minutes=15,
        resolution_minutes=120,
        calendar=office,
    )
    ticket = opened(open_ticket, at(5, 9))
    with time_machine.travel(at(5, 9, 10), tick=False):
        services.ticket_change_priority(ticket=ticket, priority="urgent", actor=None)
    ticket.refresh_from_db()
    assert ticket.sla_policy.name == "Urgent"
    assert ticket.first_response_due_at == at(5, 9, 15)  # still counted from 09:00


def test_sweep_fires_warning_then_breach_exactly_once_and_acts(open_ticket, policy, agent):
    tier_agent = AgentFactory(username="tier1-mate", tiers=[1])
    ticket = opened(open_ticket, at(5, 9))
    services.ticket_assign(ticket=ticket, assignee=agent, actor=agent)

    assert services.sla_sweep(now=at(5, 9, 47)) == 0  # nothing due yet
    assert services.sla_sweep(now=at(5, 9, 50)) == 1  # warning at 09:48
    assert services.sla_sweep(now=at(5, 9, 55)) == 0  # fires once
    assert Notification.objects.filter(user=tier_agent, kind="sla").count() == 1

    assert services.sla_sweep(now=at(5, 10, 5)) == 1  # breach at 10:00
    assert services.sla_sweep(now=at(5, 10, 6)) == 0
    ticket.refresh_from_db()
    assert ticket.tier.level == 2  # escalated by the policy
    escalated = TicketEvent.objects.get(ticket=ticket, kind=EventKind.ESCALATED)
    assert (escalated.actor, escalated.actor_label) == (None, "SLA policy Standard")
    breach = TicketEvent.objects.get(ticket=ticket, kind=EventKind.SLA_BREACH)
    assert breach.data["clock"] == "first_response"
    assert Notification.objects.filter(user=agent, text__contains="breached").exists()


def test_a_firing_cannot_happen_twice_even_past_the_code(open_ticket, policy):
    ticket = opened(open_ticket, at(5, 9))
    clock = SLAClock.objects.get(ticket=ticket, kind=ClockKind.FIRST_RESPONSE)
    SLAFiring.objects.create(clock=clock, kind="breach")
    with pytest.raises(IntegrityError):
        SLAFiring.objects.create(clock=clock, kind="breach")


def test_sweep_selection_costs_the_same_whatever_the_number_of_open_tickets(open_ticket, policy):
    for _ in range(3):
        opened(open_ticket, at(5, 9))
    with CaptureQueriesContext(connection) as few:
        services.sla_sweep(now=at(5, 9, 1))
    for _ in range(30):
        opened(open_ticket, at(5, 9))
    with CaptureQueriesContext(connection) as many:
        services.sla_sweep(now=at(5, 9, 1))
    assert len(many) == len(few)


def test_no_policy_means_no_clocks(open_ticket):
    ticket = opened(open_ticket, at(5, 9))
    assert ticket.sla_due_at is None
    assert not SLAClock.objects.exists()
    assert services.sla_sweep(now=at(5, 9) + timedelta(days=30)) == 0


def test_api_explains_each_clock(open_ticket, policy, agent_api):
    ticket = opened(open_ticket, at(5, 9))
    with time_machine.travel(at(5, 9, 30), tick=False):
        clocks = agent_api.get(f"/api/v1/tickets/{ticket.pk}/").json()["sla_clocks"]
    first = next(c for c in clocks if c["kind"] == "first_response")
    assert first["policy"] == "Standard"
    assert first["target_minutes"] == 60
    assert first["elapsed_business_minutes"] == 30.0
    assert first["state"] == "running"


def test_admin_configures_calendars_and_policies(admin_client, office):
    response = admin_client.post(
        "/admin/tickets/slapolicy/add/",
        {
            "name": "Gold",
            "position": 5,
            "is_active": "on",
            "priorities": ["high", "urgent"],
            "tier_levels": ["1", "2"],
            "first_response_minutes": 30,
            "resolution_minutes": 240,
            "calendar": office.pk,
            "warning_percent": 75,
            "breach_actions": ["escalate", "notify_assignee"],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    gold = SLAPolicy.objects.get(name="Gold")
    assert (gold.priorities, gold.tier_levels, gold.breach_actions) == (
        ["high", "urgent"],
        [1, 2],
        ["escalate", "notify_assignee"],
    )
    assert (
        admin_client.get(f"/admin/tickets/businesscalendar/{office.pk}/change/").status_code == 200
    )


def test_organization_change_applies_its_policy(open_ticket, policy, office):
    from tickets.models import Organization

    vip = Organization.objects.create(name="VIP Corp")
    SLAPolicy.objects.create(
        name="VIP", position=1, organization=vip, first_response_minutes=20, calendar=office
    )
    ticket = opened(open_ticket, at(5, 9))
    with time_machine.travel(at(5, 9, 5), tick=False):
        services.customer_set_organization(customer=ticket.customer, organization=vip)
    ticket.refresh_from_db()
    assert ticket.sla_policy.name == "VIP"
    assert ticket.first_response_due_at == at(5, 9, 20)


def test_routing_and_sweeps_run_twice_do_nothing_twice(open_ticket, policy, agent):
    """A redelivered task (worker killed after acting, before acking) has no double effect."""
    ticket = opened(open_ticket, at(5, 9), priority="urgent")
    ticket.tier = ticket.tier.__class__.objects.get(level=0)
    ticket.save()
    services.ticket_route(ticket_id=ticket.pk, now=at(5, 9))
    services.ticket_route(ticket_id=ticket.pk, now=at(5, 9))
    assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.ESCALATED).count() == 1
    services.sla_sweep(now=at(5, 12))
    services.sla_sweep(now=at(5, 12))
    assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.SLA_BREACH).count() == 1


def test_on_hold_pauses_only_when_the_policy_says_so(open_ticket, policy, agent):
    ticket = opened(open_ticket, at(5, 9))
    with time_machine.travel(at(5, 10), tick=False):
        services.ticket_change_status(ticket=ticket, status="on_hold", actor=agent)
    ticket.refresh_from_db()
    assert ticket.resolution_due_at is None  # paused on hold

    SLAPolicy.objects.filter(pk=policy.pk).update(pause_on_hold=False)
    other = opened(open_ticket, at(5, 9))
    with time_machine.travel(at(5, 10), tick=False):
        services.ticket_change_status(ticket=other, status="on_hold", actor=agent)
    other.refresh_from_db()
    assert other.resolution_due_at == at(5, 17)


def test_escalation_applies_the_policy_of_the_new_tier(open_ticket, policy, office, agent):
    SLAPolicy.objects.create(
        name="Tier 2", position=1, tier_levels=[2], first_response_minutes=240, calendar=office
    )
    ticket = opened(open_ticket, at(5, 9))
    with time_machine.travel(at(5, 9, 30), tick=False):
        services.ticket_escalate(ticket=ticket, actor=agent, reason="r", handoff_note="n")
    ticket.refresh_from_db()
    assert ticket.sla_policy.name == "Tier 2"
    assert ticket.first_response_due_at == at(5, 13)


def test_admin_ticket_page_explains_the_clocks(open_ticket, policy, admin_client):
    ticket = opened(open_ticket, at(5, 9))
    with time_machine.travel(at(5, 9, 30), tick=False):
        page = admin_client.get(f"/admin/tickets/ticket/{ticket.pk}/change/").content.decode()
    assert "First response: running, 30 of 60 business minutes" in page


def test_sweep_of_many_due_tickets_acts_on_each_in_a_fixed_number_of_statements(
    open_ticket, policy, agent
):
    """Breaches are handled together: the statements do not grow with the due tickets, and
    each ticket gets what a sweep of it alone would give."""
    tier2_agent = AgentFactory(username="expert", tiers=[2])

    def breach_all(count: int) -> tuple[list[Ticket], int]:
        tickets = [opened(open_ticket, at(5, 9)) for _ in range(count)]
        for ticket in tickets:
            services.ticket_assign(ticket=ticket, assignee=agent, actor=agent)
        services.sla_sweep(now=at(5, 9, 50))  # the warnings, out of the way
        with CaptureQueriesContext(connection) as queries:
            assert services.sla_sweep(now=at(5, 10, 5)) == count  # first-response breaches
        return tickets, len(queries)

    few, few_statements = breach_all(2)
    many, many_statements = breach_all(12)
    assert many_statements == few_statements

    for ticket in few + many:
        ticket.refresh_from_db()
        assert ticket.tier.level == 2
        assert ticket.assignee is None  # agent1 works tier 1 only
        escalated = TicketEvent.objects.get(ticket=ticket, kind=EventKind.ESCALATED)
        assert escalated.data["unassigned"] == agent.pk
        assert escalated.data["handoff_note"].startswith(f"{ticket.reference}: First response")
        assert Notification.objects.filter(user=agent, ticket=ticket, kind="sla").exists()
        assert Notification.objects.filter(user=tier2_agent, ticket=ticket).count() == 1
        # The breach is behind it: the next check is the resolution clock's warning.
        resolution = SLAClock.objects.get(ticket=ticket, kind=ClockKind.RESOLUTION)
        assert ticket.sla_next_check_at == resolution.warning_at
    assert services.sla_sweep(now=at(5, 10, 6)) == 0


def test_a_one_minute_target_warns_once_then_breaches_once_with_one_notice_each(
    open_ticket, agent, time_machine
):
    """Warnings are timed to the second (not rounded up to the breach), and an assignee
    who is also one of the tier's agents is told once."""
    from tickets import tasks
    from tickets.models import Notification

    SLAPolicy.objects.create(
        name="Tight", is_default=True, first_response_minutes=1, warning_percent=50,
        warning_actions=["notify_assignee", "notify_tier"],
        breach_actions=["notify_assignee", "notify_tier"],
    )  # fmt: skip
    start = datetime(2026, 1, 5, 10, tzinfo=UTC)
    time_machine.move_to(start, tick=False)
    ticket = open_ticket(tier_level=1)
    services.ticket_assign(ticket=ticket, assignee=agent, actor=agent)

    def fired() -> list[str]:
        return list(
            ticket.events.filter(kind__in=["sla_warning", "sla_breach"]).values_list(
                "kind", flat=True
            )
        )

    time_machine.move_to(start + timedelta(seconds=35), tick=False)
    tasks.sla_sweep()
    assert fired() == ["sla_warning"]
    time_machine.move_to(start + timedelta(seconds=65), tick=False)
    tasks.sla_sweep()
    assert fired() == ["sla_warning", "sla_breach"]
    texts = sorted(
        Notification.objects.filter(user=agent, kind="sla").values_list("text", flat=True)
    )
    assert len(texts) == 2, texts  # one each, not one per reason
    assert "SLA breached" in texts[0] and "SLA will breach" in texts[1]
