"""Ticket metrics kept as the ticket lives, checked against figures worked out by hand.

The history: a weekday office (Monday to Friday 09:00-17:00, UTC) with Monday 12 January
2026 a holiday. The ticket comes in on Friday at 16:00, waits on the customer, is
escalated and sent back down, solved, reopened, solved again, rated; a duplicate is merged
into it. Each figure below is counted by hand from those times.
"""

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import AgentFactory
from tests.reports.conftest import at, travel
from tickets import services
from tickets.models import Message, SLAClock, Ticket, TicketMetrics, TierMove

pytestmark = pytest.mark.django_db


# Worked out by hand (business minutes count Monday to Friday 09:00-17:00, not the 12th).
FIGURES = {
    "first_tier": 0,
    "tier_level": 1,
    "replies": 3,
    # Fri 16:00 to Tue 10:00: 3 days 18 hours; Fri 16-17 and Tue 9-10 in business hours.
    "first_reply_minutes": 5400,
    "first_reply_business_minutes": 120,
    "reopens": 1,
    # Fri 16:00 to Thu 09:30; Fri 60 + Tue 480 + Wed 480 + Thu 30.
    "resolution_minutes": 8250,
    "resolution_business_minutes": 1050,
    "solved_tier": 1,
    # Waiting on the customer Tue 10:00-11:00.
    "waiting_minutes": 60,
    "on_hold_minutes": 0,
    "escalations": 2,
    "deescalations": 1,
    # Tier 0 Fri 16:00-16:30; tier 1 Fri 16:30-17:00, Tue 9-15, Wed 10-11 and, reopened,
    # Wed 12:00-Thu 09:30 (30 + 360 + 60 + 330); tier 2 Tue 15-17 and Wed 9-10.
    "tier0_minutes": 30,
    "tier1_minutes": 780,
    "tier2_minutes": 180,
    "tier3_minutes": 0,
    "rating": 5,
    "merged": False,
}


def figures_of(ticket_id: int) -> dict:
    row = TicketMetrics.objects.get(ticket_id=ticket_id)
    return {name: getattr(row, name) for name in FIGURES}


def test_each_figure_is_what_the_history_says(history):
    ticket_id, duplicate_id = history

    assert figures_of(ticket_id) == FIGURES
    row = TicketMetrics.objects.get(ticket_id=ticket_id)
    assert row.solved_at == at(15, 9, 30)
    assert row.first_solved_at == at(14, 11)
    assert row.first_reply_at == at(13, 10)
    assert row.rated_at == at(15, 10)
    assert TicketMetrics.objects.get(ticket_id=duplicate_id).merged is True


def test_each_reply_records_how_long_the_customer_waited(history):
    ticket_id, _ = history
    replies = Message.objects.filter(ticket_id=ticket_id, kind="outbound", waited_minutes__gt=0)

    # First reply from the ticket's start; next replies from the customer's message:
    # Tue 11:00-16:00; Wed 12:00-Thu 09:30 (Wed 12-17 and Thu 9-9:30 in business hours).
    assert sorted(
        replies.values_list("first_reply", "waited_minutes", "waited_business_minutes")
    ) == [(False, 300, 300), (False, 1290, 330), (True, 5400, 120)]


def test_tier_moves_are_kept_with_their_reasons(history):
    ticket_id, _ = history
    moves = TierMove.objects.filter(ticket_id=ticket_id).order_by("at")

    assert [(m.from_level, m.to_level, m.reason, m.by_person) for m in moves] == [
        (0, 1, "hand-off", False),
        (1, 2, "needs engineering", True),
        (2, 1, "fix deployed", True),
    ]


def test_sla_targets_record_whether_they_were_met(history):
    ticket_id, _ = history
    clocks = SLAClock.objects.filter(ticket_id=ticket_id).order_by("kind", "cycle")

    # First response due Fri 16:00 + 60 business minutes = Tue 09:00, answered at 10:00;
    # the next response (Tue 11:00, 120 minutes) at 16:00: breached; the one from Wed 12:00
    # due Wed 14:00, answered Thu: breached. Resolution: 960 business minutes; by Thu 09:30
    # it ran Fri 60 + Tue 420 (not the hour waiting on the customer) + Wed 420 (not the
    # hour it was resolved) + Thu 30 = 930: met.
    assert [(c.kind, c.cycle, c.breached) for c in clocks] == [
        ("first_response", 1, True),
        ("next_response", 1, True),
        ("next_response", 2, True),
        ("resolution", 1, False),
    ]


def test_the_backfill_computes_the_same_figures_from_history(history):
    ticket_id, duplicate_id = history
    kept = figures_of(ticket_id)
    TicketMetrics.objects.all().delete()
    TierMove.objects.all().delete()
    Message.objects.update(waited_minutes=None, waited_business_minutes=None, first_reply=False)
    Ticket.objects.update(awaiting_reply_since=None)

    call_command("backfill_metrics")

    # The history's events are stamped when they were written: the clock of each travel.
    assert figures_of(ticket_id) == kept
    assert TicketMetrics.objects.get(ticket_id=duplicate_id).merged is True
    assert TierMove.objects.filter(ticket_id=ticket_id).count() == 3
    assert Message.objects.filter(first_reply=True).count() == 1


def test_a_ticket_answered_at_once_is_solved_at_first_contact(office_policy, open_ticket):
    agent = AgentFactory(tiers=[1])
    with travel(at(13, 9)):
        ticket = open_ticket()
    with travel(at(13, 9, 20)):
        services.ticket_reply(ticket=ticket, actor=agent, text="Done.", status="resolved")

    row = TicketMetrics.objects.get(ticket=ticket)
    assert (row.replies, row.reopens, row.solved_tier, row.first_reply_minutes) == (1, 0, 1, 20)
    assert row.first_reply_by == agent


def test_keeping_the_metrics_costs_one_statement_per_write_at_most(open_ticket, inbound):
    """Statements of each write through the door people use. Before the metrics were kept
    (commit 29bddcc) the same steps took 16, 7, 15, 16 and 8: a reply and a reopen write
    the ticket's metrics row once more; a customer's follow-up writes nothing more (the
    wait starts on the ticket row it already writes). A new ticket's row is in
    tests/channels_ingest/test_pipeline.py (13 and 11, one more than before)."""
    agent = AgentFactory(tiers=[1])
    client = Client()
    client.force_login(agent)
    ticket = open_ticket(sender="pat@example.com")
    client.get(f"/agent/tickets/{ticket.pk}/")  # the agent's cached set-up, read once

    def statements(action) -> int:
        with CaptureQueriesContext(connection) as queries:
            action()
        return len(queries)

    def reply(text: str, status: str = "") -> None:
        response = client.post(
            f"/agent/tickets/{ticket.pk}/reply/",
            {"text": text, "channel": "email", "status": status},
        )
        assert response.status_code == 302

    def follow_up(text: str) -> None:
        services.ticket_add_inbound(
            ticket=ticket, inbound=inbound(sender="pat@example.com", text=text)
        )

    # Without Redis (the embedded default) a request reads its session from the database.
    session = 0 if settings.SESSION_ENGINE == "helpdesk.sessions" else 1
    assert [
        statements(lambda: reply("Hello")),
        statements(lambda: follow_up("More detail")),
        statements(lambda: reply("Again")),
        statements(lambda: reply("Done", "resolved")),
        statements(lambda: follow_up("Still broken")),
    ] == [18 + session, 7, 17 + session, 18 + session, 9]  # a write reads the role once
