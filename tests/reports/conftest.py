"""The fixture history the report tests share, told in the services' own words.

A weekday office (Monday to Friday 09:00-17:00, UTC) with Monday 12 January 2026 a
holiday. The ticket comes in on Friday at 16:00, waits on the customer, is escalated and
sent back down, solved, reopened, solved again, rated; a duplicate is merged into it.
"""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine

from tests.factories import AgentFactory
from tickets import services
from tickets.models import BusinessCalendar, CustomHoliday, OpeningHours, SLAPolicy


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def office_policy():
    calendar = BusinessCalendar.objects.create(name="Office", time_zone="UTC")
    for weekday in range(5):
        OpeningHours.objects.create(calendar=calendar, weekday=weekday, start=time(9), end=time(17))
    CustomHoliday.objects.create(calendar=calendar, date=date(2026, 1, 12), name="Holiday")
    return SLAPolicy.objects.create(
        name="Office hours",
        is_default=True,
        first_response_minutes=60,
        next_response_minutes=120,
        resolution_minutes=960,
        calendar=calendar,
    )


def travel(when: datetime):
    return time_machine.travel(when, tick=False)


@pytest.fixture
def history(office_policy, inbound):
    """The ticket's life, through the services the doors call; returns its id."""
    frontline = AgentFactory(tiers=[1], first_name="Fran", last_name="Front")
    engineer = AgentFactory(tiers=[2], first_name="Erin", last_name="Engineer")
    sender = "ada@example.com"
    with travel(at(9, 16)):
        ticket = services.ticket_open(inbound=inbound(sender=sender), tier_level=0).ticket
    with travel(at(9, 16, 30)):  # routing hands it to a person
        services.ticket_move_tier(
            ticket=ticket, tier_level=1, reason="hand-off", handoff_note="n", actor=None
        )
        services.ticket_assign(ticket=ticket, assignee=frontline, actor=None)
    with travel(at(13, 10)):  # the first reply asks the customer something
        services.ticket_reply(
            ticket=ticket, actor=frontline, text="Which version?", status="pending_customer"
        )
    with travel(at(13, 11)):
        services.ticket_add_inbound(ticket=ticket, inbound=inbound(sender=sender, text="5.2"))
    with travel(at(13, 15)):
        services.ticket_move_tier(
            ticket=ticket, tier_level=2, reason="needs engineering", handoff_note="n",
            actor=frontline,
        )  # fmt: skip
        services.ticket_assign(ticket=ticket, assignee=engineer, actor=engineer)
    with travel(at(13, 16)):
        services.ticket_reply(ticket=ticket, actor=engineer, text="Looking into it.")
    with travel(at(14, 10)):
        services.ticket_move_tier(
            ticket=ticket, tier_level=1, reason="fix deployed", handoff_note="n", actor=engineer
        )
        services.ticket_assign(ticket=ticket, assignee=frontline, actor=frontline)
    with travel(at(14, 11)):
        services.ticket_change_status(ticket=ticket, status="resolved", actor=frontline)
    with travel(at(14, 12)):  # the customer says it is not fixed: reopened
        services.ticket_add_inbound(ticket=ticket, inbound=inbound(sender=sender, text="No"))
    with travel(at(15, 9, 30)):
        services.ticket_reply(ticket=ticket, actor=frontline, text="Fixed now.", status="resolved")
    with travel(at(15, 10)):
        services.ticket_rate(ticket=ticket, rating=5, comment="Fixed at last", actor=None)
    with travel(at(15, 11)):
        duplicate = services.ticket_open(
            inbound=inbound(sender=sender, subject="Same again")
        ).ticket
        services.ticket_merge(source=duplicate, target=ticket, actor=frontline)
    return ticket.pk, duplicate.pk


YEAR_START = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
def year_of_tickets(inbound):
    """Forty tickets, one every nine days or so: most answered after a few minutes to a few
    days, two thirds solved (some the next week), a few reopened and solved again, some
    rated; one merged into another (it counts nowhere)."""
    agent = AgentFactory(tiers=[1, 2])
    tickets = []
    for n in range(40):
        opened = YEAR_START + timedelta(days=9 * n, hours=n % 11, minutes=7 * n % 60)
        with travel(opened):
            ticket = services.ticket_open(
                # The fourth is a duplicate of the seventh's customer: merged below.
                inbound=inbound(sender=f"year{6 if n == 3 else n}@example.com"),
                tier_level=1 + n % 2,
                priority=("normal", "high", "low")[n % 3],
            ).ticket
        tickets.append(ticket)
        if n % 5 == 4:
            continue  # never answered
        with travel(opened + timedelta(minutes=13 + 97 * n % 4000)):
            solve = "resolved" if n % 3 else None
            services.ticket_reply(ticket=ticket, actor=agent, text="Try this.", status=solve)
        if n % 6 == 1:  # reopened a week later, solved again a day after
            with travel(opened + timedelta(days=7)):
                services.ticket_add_inbound(
                    ticket=ticket, inbound=inbound(sender=f"year{n}@example.com", text="No")
                )
            with travel(opened + timedelta(days=8)):
                services.ticket_reply(
                    ticket=ticket, actor=agent, text="Fixed now.", status="resolved"
                )
        if n % 4 == 2 and n % 3:  # solved tickets are rated
            with travel(opened + timedelta(days=9)):
                services.ticket_rate(ticket=ticket, rating=1 + n % 5, comment="", actor=None)
    with travel(YEAR_START + timedelta(days=200)):
        services.ticket_merge(source=tickets[3], target=tickets[6], actor=agent)
    return agent
