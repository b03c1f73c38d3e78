"""The overview over long periods reads daily counts for whole past days, and gives what the
tickets give: after counting, after changes through the doors agents use (bulk actions,
merge, reopen, erasing a customer) before the days are counted again and after, in the
desk's time zone and in an agent's own."""

import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import F
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.conftest import _client_for
from tests.reports.conftest import YEAR_START, travel
from tickets import services
from tickets.models import (
    DailyTargetCount,
    DailyTicketCount,
    Organization,
    RollupDay,
    RollupDirty,
    Ticket,
    TicketMetrics,
)
from tickets.reporting import rollups
from tickets.workspace.preferences import TIME_ZONE_KEY

pytestmark = pytest.mark.django_db
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')

NOW = datetime(2026, 1, 10, 12, tzinfo=UTC)
PERIODS = [
    {"since": "2025-01-01", "until": "2025-12-31", "bucket": "week"},
    {"since": "2025-01-01", "until": "2025-12-31"},
    {"since": "2025-03-01", "until": "2025-06-30"},  # a past period: the backlog at its start
    {"since": "2025-12-01", "until": "2026-01-10"},  # up to today
    {},  # the last 30 days
    {"since": "2025-01-01", "until": "2025-12-31", "tier": "2"},
    {"since": "2025-01-01", "until": "2025-12-31", "channel": "email", "priority": "high"},
    {"since": "2025-01-01", "until": "2025-12-31", "organization": "{org}"},
    {"since": "2025-01-01", "until": "2025-12-31", "agent": "{agent}"},
]


@pytest.fixture
def desk(office_policy, year_of_tickets, lead, inbound):
    """The year of tickets under an office-hours SLA policy (its clocks), a few of its
    customers in an organization, one customer with a second ticket in the autumn; a lead
    reading the reports (API and pages) and the agent who worked the tickets, in the
    browser."""
    with travel(YEAR_START + timedelta(days=250)):
        services.ticket_open(inbound=inbound(sender="year20@example.com"), tier_level=1)
    acme = Organization.objects.create(name="Acme")
    for ticket in Ticket.objects.order_by("pk")[:12:3]:
        services.customer_set_organization(customer=ticket.customer, organization=acme)
    agent = year_of_tickets
    page = Client()
    page.force_login(lead)
    worker = Client()
    worker.force_login(agent)
    return {"api": _client_for(lead), "page": page, "agent": agent, "worker": worker, "org": acme}


def _seen(desk) -> dict:
    """What a lead reads: the overview's and the SLA report's JSON for each period and
    filter, their pages and a table of each as CSV for a year."""
    found = {}
    for name in ("overview", "sla"):
        for n, period in enumerate(PERIODS):
            params = {
                k: v.format(org=desk["org"].pk, agent=desk["agent"].pk) for k, v in period.items()
            }
            response = desk["api"].get(f"/api/v1/reports/{name}/", params)
            assert response.status_code == 200
            found[name, n] = response.json()
    year = PERIODS[0]
    found["page"] = _page(desk["page"], "overview", year)
    found["sla page"] = _page(desk["page"], "sla", year)
    found["csv"] = desk["page"].get("/agent/reports/overview/tier.csv", year).content.decode()
    found["sla csv"] = desk["page"].get("/agent/reports/sla/targets.csv", year).content.decode()
    return found


def _page(client, name, params) -> str:
    response = client.get(f"/agent/reports/{name}/", params)
    assert response.status_code == 200
    return CSRF.sub("", response.content.decode())  # a new token each time


def _from_the_tickets(desk) -> dict:
    """The same, with no day counted: every figure from the tickets."""
    with transaction.atomic():
        RollupDay.objects.all().delete()
        found = _seen(desk)
        transaction.set_rollback(True)
    return found


def _count_all() -> None:
    call_command("rollup_reports", stdout=io.StringIO())


def test_counted_days_give_what_the_tickets_give(desk):
    with travel(NOW):
        before = _seen(desk)  # nothing counted yet
        _count_all()
        counted = _seen(desk)

    assert RollupDay.objects.filter(day=date(2025, 6, 1)).exists()
    assert not RollupDirty.objects.exists()
    assert counted == before
    assert counted["overview", 1]["created"] == 40
    assert counted["sla", 1]["total"]["met"] > 0 and counted["sla", 1]["total"]["breached"] > 0
    assert {r["label"]: r["created"] for r in counted["overview", 1]["by_organization"]} == {
        "No organization": 37,
        "Acme": 3,  # the fourth of the four tickets was merged into another
    }


def test_the_counts_are_what_a_past_day_is_read_from(desk):
    # A count made wrong on purpose shows: the report reads it, not the tickets.
    with travel(NOW):
        _count_all()
        right = desk["api"].get("/api/v1/reports/overview/", PERIODS[1]).json()
        right_sla = desk["api"].get("/api/v1/reports/sla/", PERIODS[1]).json()
        row = DailyTicketCount.objects.filter(grain="dimensions", created__gt=0).first()
        DailyTicketCount.objects.filter(pk=row.pk).update(created=row.created + 100)
        target = DailyTargetCount.objects.filter(grain="total").first()
        DailyTargetCount.objects.filter(pk=target.pk).update(met=F("met") + 7)
        read = desk["api"].get("/api/v1/reports/overview/", PERIODS[1]).json()
        read_sla = desk["api"].get("/api/v1/reports/sla/", PERIODS[1]).json()

    assert read["created"] == right["created"] + 100
    assert read_sla["total"]["met"] == right_sla["total"]["met"] + 7


def test_changes_through_the_doors_are_counted_again(
    desk, admin_client, celery_eager, django_capture_on_commit_callbacks
):
    agent, worker = desk["agent"], desk["worker"]
    with travel(NOW):
        _count_all()
        counted = _seen(desk)
        tickets = list(Ticket.objects.filter(merged_into__isnull=True).order_by("pk"))
        solved = [t for t in tickets if t.status == "resolved"]
        unsolved = [t for t in tickets if t.status != "resolved"]
        # Bulk: a tier move and a priority change of tickets from the spring, and two
        # solved today that came in last year.
        moved = [t.pk for t in tickets[5:9]]
        worker.post(
            "/agent/bulk/",
            {"tickets": moved, "action": "tier", "tier": 2, "reason": "r", "handoff_note": "n"},
        )
        worker.post("/agent/bulk/", {"tickets": moved, "action": "priority", "priority": "urgent"})
        worker.post(
            "/agent/bulk/",
            {"tickets": [t.pk for t in unsolved[:2]], "action": "status", "status": "resolved"},
        )
        # Merge, in bulk: a ticket of the autumn into one of the summer (both tier 1).
        target, source = Ticket.objects.filter(customer__contact_points__value="year20@example.com")
        merged = worker.post(
            "/agent/bulk/",
            {
                "tickets": [source.pk, target.pk],
                "action": "merge",
                "merge_into": target.reference,
                "confirm": "on",
            },
        )
        assert merged.status_code == 302
        # Reopened through the API: last year's solve no longer counts.
        reopened = solved[-1]
        response = _client_for(agent).patch(
            f"/api/v1/tickets/{reopened.pk}/", {"status": "open"}, format="json"
        )
        assert response.status_code == 200, response.content
        # A customer erased with their tickets.
        erased = solved[0].customer
        with django_capture_on_commit_callbacks(execute=True):
            admin_client.post(
                f"/agent/customers/{erased.pk}/erase/", {"mode": "delete", "confirm": "1"}
            )

        assert TicketMetrics.objects.get(pk=source.pk).merged
        assert TicketMetrics.objects.get(pk=reopened.pk).solved_at is None
        assert not Ticket.objects.filter(customer=erased).exists()
        assert set(
            TicketMetrics.objects.filter(pk__in=moved).values_list("tier_level", "priority")
        ) == {(2, "urgent")}
        assert RollupDirty.objects.exists()
        marked = _seen(desk)  # changed days not counted again yet: read from the tickets
        truth = _from_the_tickets(desk)
        from tickets.tasks import rollup_reports

        changed_days = {m.at.date() for m in RollupDirty.objects.all()}
        assert rollup_reports.delay().get() == len(changed_days)  # only those
        again = _seen(desk)

    assert marked == truth == again
    assert marked != counted
    assert (
        again["overview", 1]["created"] == counted["overview", 1]["created"] - 2
    )  # merged away, erased
    assert not RollupDirty.objects.exists()


def test_days_in_the_desks_time_zone_and_an_agents_own(desk, settings, inbound):
    settings.TIME_ZONE = "Pacific/Auckland"
    # Late in the evening UTC: the next day in Auckland.
    with travel(datetime(2025, 7, 1, 23, 30, tzinfo=UTC)):
        services.ticket_open(inbound=inbound(sender="late@example.com"), tier_level=1)
    with travel(NOW):
        _count_all()
        counted = _seen(desk)
        truth = _from_the_tickets(desk)
        session = desk["page"].session
        session[TIME_ZONE_KEY] = "America/Los_Angeles"
        session.save()
        own = _page(desk["page"], "overview", PERIODS[0])
        with transaction.atomic():
            RollupDay.objects.all().delete()
            own_truth = _page(desk["page"], "overview", PERIODS[0])
            transaction.set_rollback(True)

    assert counted == truth
    assert RollupDay.objects.filter(time_zone="Pacific/Auckland").exists()
    assert DailyTicketCount.objects.filter(day=date(2025, 7, 2), time_zone="Pacific/Auckland")
    assert own == own_truth


def test_the_task_fills_in_the_past_a_quarter_at_a_time(celery_eager):
    from tickets.tasks import rollup_reports

    with travel(NOW):
        runs = [rollup_reports.delay().get() for _ in range(10)]

    assert runs == [92] * 7 + [rollups.KEPT_DAYS - 7 * 92, 0, 0]
    assert RollupDay.objects.count() == rollups.KEPT_DAYS
    assert not RollupDay.objects.filter(day__gte=date(2026, 1, 10)).exists()  # not today


def test_a_new_ticket_marks_its_day_and_the_task_counts_it(open_ticket, celery_eager):
    from tickets.tasks import rollup_reports

    with travel(NOW):
        rollups.count_days([date(2026, 1, 9)], zone=UTC, now=NOW)
    with travel(NOW - timedelta(days=1)):
        open_ticket()
    assert RollupDirty.objects.count() == 1
    with travel(NOW):
        rollup_reports.delay().get()

    assert not RollupDirty.objects.exists()
    (row,) = DailyTicketCount.objects.filter(day=date(2026, 1, 9), grain="dimensions")
    assert (row.created, row.channel, row.tier_level) == (1, "email", 1)


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--since", "2026-13-01"], "is not a date"),
        (["--since", "2026-02-01", "--until", "2026-01-01"], "must not be after"),
    ],
)
def test_the_command_refuses_a_wrong_range(args, said):
    with pytest.raises(CommandError, match=said):
        call_command("rollup_reports", *args, stdout=io.StringIO())
    assert not RollupDay.objects.exists()


def test_the_command_counts_a_range(open_ticket):
    with travel(YEAR_START + timedelta(hours=5)):
        open_ticket(tier_level=2, priority="high")
    out = io.StringIO()
    call_command("rollup_reports", "--since", "2025-01-01", "--until", "2025-01-31", stdout=out)

    assert "counted for 31 day(s)" in out.getvalue()
    (row,) = DailyTicketCount.objects.filter(grain="dimensions")
    assert (row.day, row.tier_level, row.priority, row.created) == (date(2025, 1, 1), 2, "high", 1)


def test_a_bulk_update_of_a_customers_organization_is_counted_again(
    desk, admin_client, celery_eager
):
    """An organization adopting its domain's customers rewrites their tickets' figures in
    one UPDATE (no per-ticket hook): the trigger still marks every day it touches."""
    from tickets.tasks import rollup_reports

    globex = Organization.objects.create(name="Globex")
    with travel(NOW):
        _count_all()
        admin_client.post(f"/agent/organizations/{globex.pk}/domains/", {"domain": "example.com"})
        (domain,) = globex.domains.all()
        admin_client.post(f"/agent/organizations/{globex.pk}/domains/{domain.pk}/adopt/")
        marked = _seen(desk)
        truth = _from_the_tickets(desk)
        rollup_reports.delay().get()
        again = _seen(desk)

    assert marked == truth == again
    organizations = {r["label"]: r["created"] for r in again["overview", 1]["by_organization"]}
    assert organizations == {"Globex": 37, "Acme": 3}
    assert not RollupDirty.objects.exists()


def test_a_year_costs_the_same_statements_however_many_days_are_marked(desk):
    """The days read from the tickets are one condition of each query, not a query each."""
    agent = desk["agent"]

    def statements() -> list[int]:
        counts = []
        for name in ("overview", "sla"):
            with CaptureQueriesContext(connection) as queries:
                response = desk["api"].get(f"/api/v1/reports/{name}/", PERIODS[0])
                assert response.status_code == 200
            counts.append(len(queries))
        return counts

    tickets = Ticket.objects.filter(merged_into__isnull=True).order_by("pk")
    with travel(NOW):
        _count_all()
        statements()  # the sidebar's cached set-up, read once
        services.ticket_change_priority(ticket=tickets[0], priority="urgent", actor=agent)
        one_day = statements()
        for ticket in tickets[2:14:2]:
            services.ticket_change_priority(ticket=ticket, priority="urgent", actor=agent)
        assert len({m.at.date() for m in RollupDirty.objects.all()}) > 6
        many_days = statements()

    assert many_days == one_day
