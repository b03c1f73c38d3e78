"""A report over a year gives the figures the tickets themselves give: forty tickets spread
over 2025, answered, solved, reopened and rated through the services, read through the API
by week and by day, and counted again here from the tickets and their messages."""

import io
from datetime import UTC, datetime, timedelta
from statistics import median_low

import pytest
from django.core.management import call_command

from tests.conftest import _client_for
from tests.reports.conftest import YEAR_START, travel
from tickets.models import MessageKind, RollupDay, Ticket

pytestmark = pytest.mark.django_db

YEAR = {"since": "2025-01-01", "until": "2025-12-31"}
START = YEAR_START
NOW = datetime(2026, 1, 10, 12, tzinfo=UTC)


@pytest.fixture
def lead_api(lead):
    return _client_for(lead)


@pytest.fixture(params=["tickets", "daily counts"])
def year_read(request, year_of_tickets):
    """The year read from the tickets alone, or (whole past days) from the daily counts
    `manage.py rollup_reports` makes (tickets.reporting.rollups)."""
    if request.param == "daily counts":
        with travel(NOW):
            call_command("rollup_reports", stdout=io.StringIO())
        assert RollupDay.objects.filter(day__range=("2025-01-01", "2025-12-31")).count() == 365
    return year_of_tickets


def _week(moment: datetime) -> datetime:
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def _in_year(moment: datetime | None) -> bool:
    return moment is not None and START <= moment < START + timedelta(days=365)


def test_a_year_by_week_counts_what_the_tickets_say(year_read, lead_api):
    with travel(NOW):
        report = lead_api.get("/api/v1/reports/overview/", {**YEAR, "bucket": "week"}).json()

    counted = Ticket.objects.filter(merged_into__isnull=True)
    created = [t.created_at for t in counted if _in_year(t.created_at)]
    solved = [t.resolved_at for t in counted.filter(status="resolved") if _in_year(t.resolved_at)]
    assert (report["created"], report["solved"]) == (len(created), len(solved)) == (39, 21)
    series = {p["start"][:10]: (p["created"], p["solved"]) for p in report["series"]}
    for week, (n_created, n_solved) in series.items():
        assert n_created == sum(_week(c).date().isoformat() == week for c in created)
        assert n_solved == sum(_week(s).date().isoformat() == week for s in solved)
    assert sum(c for c, _ in series.values()) == len(created)
    unsolved = counted.exclude(status="resolved").count()
    assert report["backlog_now"] == unsolved
    assert report["series"][-1]["backlog"] == unsolved  # nothing happened after the year
    by_tier = {r["label"]: r["created"] for r in report["by_tier"]}
    assert by_tier == {
        "Tier 1": sum(t.tier.level == 1 for t in counted),
        "Tier 2": sum(t.tier.level == 2 for t in counted),
    }
    by_priority = {r["key"]: r["created"] for r in report["by_priority"]}
    for priority in ("normal", "high", "low"):
        assert by_priority[priority] == counted.filter(priority=priority).count()


def test_a_year_by_day_gives_the_same_totals_as_by_week(year_read, lead_api):
    with travel(NOW):
        by_week = lead_api.get("/api/v1/reports/overview/", {**YEAR, "bucket": "week"}).json()
        by_day = lead_api.get("/api/v1/reports/overview/", YEAR).json()

    assert len(by_day["series"]) == 365
    for name in ("created", "solved", "backlog_at_start", "backlog_now"):
        assert by_day[name] == by_week[name]
    assert sum(p["created"] for p in by_day["series"]) == by_day["created"]
    assert by_day["series"][-1]["backlog"] == by_week["series"][-1]["backlog"]


def test_a_years_reply_times_are_the_tickets_own(year_of_tickets, lead_api):
    with travel(NOW):
        report = lead_api.get("/api/v1/reports/responsiveness/", YEAR).json()
        rated = lead_api.get("/api/v1/reports/satisfaction/", YEAR).json()

    waits = []
    for ticket in Ticket.objects.filter(merged_into__isnull=True):
        first = (
            ticket.messages.filter(kind=MessageKind.OUTBOUND, author_user__isnull=False)
            .order_by("created_at")
            .first()
        )
        if first is not None and _in_year(first.created_at):
            waits.append(int((first.created_at - ticket.created_at).total_seconds() // 60))
    waits.sort()
    # Nearest rank: the smallest value at least half (90%) of the values do not exceed.
    p90 = waits[-(-len(waits) * 9 // 10) - 1]
    assert report["first_reply"]["count"] == len(waits) == 31
    assert report["first_reply"]["median_calendar"] == median_low(waits)
    assert report["first_reply"]["p90_calendar"] == p90
    # No SLA policy: every minute is a business minute.
    assert report["first_reply"]["median"] == median_low(waits)
    solved = Ticket.objects.filter(merged_into__isnull=True, status="resolved")
    assert report["solved"] == sum(_in_year(t.resolved_at) for t in solved)
    # Every rating was given within nine days of the ticket: all fall in the year.
    ratings = [t.satisfaction for t in Ticket.objects.filter(merged_into__isnull=True)]
    given = [r for r in ratings if r is not None]
    assert rated["total"]["rated"] == len(given) > 0
    assert rated["total"]["good"] == sum(r >= 4 for r in given)
