"""Automations: when a ticket has been in a state for a while, the desk acts by itself
(the beat task), once for each time the ticket enters that state."""

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core import mail

from tests.factories import AgentFactory
from tickets import services
from tickets.automation import dispatch, timed
from tickets.automation.manage import automation_save
from tickets.automation.tasks import run_automations
from tickets.errors import InvalidInput
from tickets.models import (
    AutomationFiring,
    BusinessCalendar,
    EventKind,
    Message,
    Notification,
    OpeningHours,
    SLAPolicy,
    Ticket,
)
from tickets.roles import LEADS_GROUP

pytestmark = pytest.mark.django_db

# A Monday morning in London (UTC in winter).
MONDAY = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
PENDING = {"all": [{"field": "status", "op": "is", "value": "pending_customer"}]}


@pytest.fixture(autouse=True)
def _rules(celery_eager: Any) -> None:
    dispatch.forget_rules_in_use()


@pytest.fixture
def office_hours(db: None) -> SLAPolicy:
    calendar = BusinessCalendar.objects.create(name="London office", time_zone="Europe/London")
    for weekday in range(5):
        OpeningHours.objects.create(calendar=calendar, weekday=weekday, start=time(9), end=time(17))
    return SLAPolicy.objects.create(name="Office", is_default=True, calendar=calendar)


def waiting_on_customer(open_ticket: Any, agent: Any, at: datetime) -> Ticket:
    with time_machine.travel(at, tick=False):
        ticket = open_ticket(sender="ann@example.com", sender_name="Ann Lee")
        services.ticket_reply(
            ticket=ticket, actor=agent, text="Could you send a screenshot?",
            status="pending_customer",
        )  # fmt: skip
    ticket.refresh_from_db()
    assert (ticket.status, ticket.status_since) == ("pending_customer", at)
    return ticket


def test_waiting_on_the_customer_reminder_after_3_business_days_resolved_after_7_days(
    open_ticket, agent, office_hours, django_capture_on_commit_callbacks
):
    automation_save(
        automation=None, name="Remind", since="status_changed", hours=24, business_hours=True,
        conditions=PENDING, actor=None,
        actions=[{"type": "message_customer",
                  "value": "Hello {{ customer.first_name }}, do you still need help with "
                           "{{ ticket.reference }}?"}],
    )  # fmt: skip
    automation_save(
        automation=None, name="Close the silent ones", since="status_changed", hours=168,
        conditions=PENDING, actor=None,
        actions=[{"type": "add_note", "value": "No answer for a week."},
                 {"type": "set_status", "value": "resolved"}],
    )  # fmt: skip
    ticket = waiting_on_customer(open_ticket, agent, MONDAY)
    mail.outbox.clear()

    # Three calendar days on, Thursday 09:59: 23 hours 59 minutes of business time.
    assert timed.run_automations(now=MONDAY + timedelta(days=2, hours=23, minutes=59)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert timed.run_automations(now=MONDAY + timedelta(days=3)) == 1
        assert timed.run_automations(now=MONDAY + timedelta(days=4)) == 0  # once
    [reminder] = mail.outbox
    assert reminder.body.startswith(f"Hello Ann, do you still need help with {ticket.reference}?")

    with django_capture_on_commit_callbacks(execute=True):
        assert timed.run_automations(now=MONDAY + timedelta(days=7)) == 1
    ticket.refresh_from_db()
    assert ticket.status == "resolved"
    note = Message.objects.get(ticket=ticket, kind="note")
    assert note.body_text == "Automation: Close the silent ones: No answer for a week."
    resolved = ticket.events.get(kind=EventKind.STATUS_CHANGED, data__to="resolved")
    assert resolved.actor_label == "Automation: Close the silent ones"


def test_it_acts_again_when_the_ticket_enters_the_state_again(
    open_ticket, agent, inbound, django_capture_on_commit_callbacks
):
    automation_save(
        automation=None, name="Tag the slow ones", since="status_changed", hours=48,
        conditions=PENDING, actor=None, actions=[{"type": "add_note", "value": "Nudge."}],
    )  # fmt: skip
    ticket = waiting_on_customer(open_ticket, agent, MONDAY)
    assert timed.run_automations(now=MONDAY + timedelta(days=3)) == 1

    later = MONDAY + timedelta(days=4)
    with time_machine.travel(later, tick=False):  # the customer answers, the agent asks again
        services.ticket_ingest(
            inbound=inbound(sender="ann@example.com", subject=f"Re: [{ticket.reference}]")
        )
        services.ticket_reply(
            ticket=ticket, actor=agent, text="And the log?", status="pending_customer"
        )
    assert timed.run_automations(now=later + timedelta(days=1)) == 0
    assert timed.run_automations(now=later + timedelta(days=2)) == 1
    assert AutomationFiring.objects.filter(ticket=ticket).count() == 2


def test_unassigned_in_tier_2_for_4_hours_tells_the_leads(
    open_ticket, tier2_agent, django_capture_on_commit_callbacks
):
    lead = AgentFactory(username="lead", tiers=[1])
    lead.groups.add(Group.objects.get(name=LEADS_GROUP))
    automation_save(
        automation=None, name="Unassigned in tier 2", since="tier_entered", hours=4,
        conditions={"all": [{"field": "tier", "op": "is", "value": 2},
                            {"field": "assignee", "op": "is_empty"}]},
        actor=None,
        actions=[{"type": "notify", "to": ["leads"],
                  "value": "{{ ticket.reference }} waits for a tier-2 agent"}],
    )  # fmt: skip
    with time_machine.travel(MONDAY, tick=False):
        waiting = open_ticket(tier_level=2)
        taken = open_ticket(tier_level=2)
        services.ticket_assign(ticket=taken, assignee=tier2_agent, actor=tier2_agent)
        open_ticket(tier_level=1)

    assert timed.run_automations(now=MONDAY + timedelta(hours=3, minutes=59)) == 0
    assert timed.run_automations(now=MONDAY + timedelta(hours=4)) == 1
    assert run_automations.delay().get() == 0  # the beat task, days later: once is enough
    told = Notification.objects.filter(kind="rule").values_list("user__username", "text")
    assert list(told) == [
        ("lead", f"Automation: Unassigned in tier 2: {waiting.reference} waits for a tier-2 agent")
    ]


def test_the_due_tickets_are_read_through_an_index(open_ticket, agent) -> None:
    automation = automation_save(
        automation=None, name="Resolved a week", since="status_changed", hours=168,
        conditions={"all": [{"field": "status", "op": "is", "value": "resolved"}]},
        actor=None, actions=[{"type": "set_status", "value": "closed"}],
    )  # fmt: skip
    query = str(timed.due_ids(automation, MONDAY).query)
    assert '"status_since" <=' in query and "NOT (EXISTS" in query.replace(
        "NOT EXISTS", "NOT (EXISTS"
    )


def test_automations_that_cannot_mean_anything_are_refused() -> None:
    cases = [
        ({"since": "birthday"}, "Count the time from one of: status_changed"),
        ({"hours": "soon"}, "Give the time in hours"),
        ({"hours": 0}, "between 0.01 hours and ten years"),
        ({"conditions": None}, "Say which status the time is counted in"),
        ({"actions": [{"type": "explode"}]}, "Action 1: the type is one of"),
    ]
    for change, message in cases:
        values = {"since": "status_changed", "hours": 4, "conditions": PENDING,
                  "actions": [{"type": "add_note", "value": "x"}], **change}  # fmt: skip
        with pytest.raises(InvalidInput) as refused:
            automation_save(automation=None, name="Bad", actor=None, **values)
        assert message in str(refused.value)
