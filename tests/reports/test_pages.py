"""The reports in the workspace, as a lead uses them: each page, its charts and tables,
the tickets behind every number, CSV, the filters, the weekly summary opt-in."""

import csv
import io
import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import AgentFactory
from tests.reports.conftest import at, travel
from tickets.models import ReportSubscription
from tickets.roles import LEADS_GROUP

pytestmark = pytest.mark.django_db
WEEK = {"since": "2026-01-09", "until": "2026-01-15"}
NAMES = ["overview", "responsiveness", "sla", "satisfaction", "tiers", "agents"]
# Numbers that count replies, targets, moves or assignments: several can share a ticket.
NOT_TICKETS = {
    "replied", "assigned", "next_replied", "sla_met", "sla_breached", "sla_running", "moved",
    "escalated", "sent_down", "entered_from_below", "entered_from_above",
}  # fmt: skip
DRILL = re.compile(r'<a href="(/agent/reports/tickets/\?[^"]+)">([\d,]+)</a>')


@pytest.fixture
def lead():
    user = AgentFactory(tiers=[1, 2])
    user.groups.add(Group.objects.get(name=LEADS_GROUP))
    client = Client()
    client.force_login(user)
    return user, client


def _get(client, path, params=None, status=200):
    response = client.get(path, params or {})
    assert response.status_code == status, (path, response.status_code)
    return response.content.decode()


@pytest.mark.parametrize("name", NAMES)
def test_every_report_page_shows_figures_charts_and_tables(history, lead, name):
    _user, client = lead
    with travel(at(16, 12)):
        html = _get(client, f"/agent/reports/{name}/", WEEK)

    assert '<dl class="figures">' in html
    assert '<svg class="chart"' in html and "<table" in html
    assert "Download CSV" in html
    assert "What these numbers mean" in html  # the definitions, from docs/reports.md


@pytest.mark.parametrize("name", NAMES)
def test_every_number_drills_down_to_the_tickets_it_counts(history, lead, name):
    _user, client = lead
    with travel(at(16, 12)):
        html = _get(client, f"/agent/reports/{name}/", WEEK)
        links = {(unescape(href), int(n.replace(",", ""))) for href, n in DRILL.findall(html)}
        assert links, "no number links to its tickets"
        for href, number in links:
            drilled = _get(client, href)
            total = int(re.search(r"<strong>([\d,]+)</strong> ticket", drilled)[1])
            metric = parse_qs(urlsplit(href).query)["metric"][0]
            if metric in NOT_TICKETS:
                assert (total > 0) == (number > 0) and total <= number, (href, number, total)
            else:
                assert total == number, (href, number, total)
            assert drilled.count('<tr data-ticket="') == min(total, 50)


def test_the_drill_down_lists_the_ticket(history, lead):
    ticket_id, duplicate_id = history
    _user, client = lead
    html = _get(client, "/agent/reports/tickets/", {**WEEK, "metric": "solved"})

    assert f'<tr data-ticket="{ticket_id}">' in html
    assert f'<tr data-ticket="{duplicate_id}">' not in html  # merged: counted in the ticket


def test_tables_download_as_csv(history, lead):
    _user, client = lead
    response = client.get("/agent/reports/tiers/flow.csv", WEEK)

    assert response["Content-Type"].startswith("text/csv")
    assert "tiers-flow-2026-01-09-2026-01-15.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:7] == [
        "Tier", "New", "From below", "From above", "Solved here", "Escalated", "Sent down"
    ]  # fmt: skip
    # Raw values: minutes as numbers, rates as fractions.
    assert [row[1:10] for row in rows[1:3]] == [
        ["1", "0", "0", "0", "1", "0", "0.0", "30", "30"],
        ["0", "1", "1", "1", "1", "0", "0.5", "780", "780"],
    ]


def test_csv_quotes_text_a_spreadsheet_would_run(history, lead, open_ticket):
    user, client = lead
    user.first_name = "=HYPERLINK(1)"
    user.save()
    with travel(at(13, 12)):
        ticket = open_ticket()
    from tickets import services

    with travel(at(13, 13)):
        services.ticket_reply(ticket=ticket, actor=user, text="Hello")
    rows = list(csv.reader(io.StringIO(_get(client, "/agent/reports/agents/agents.csv", WEEK))))
    names = [row[0] for row in rows[1:]]
    assert any(name.startswith("'=HYPERLINK") for name in names)


def test_filters_narrow_every_figure(history, lead):
    _user, client = lead
    html = _get(client, "/agent/reports/overview/", {**WEEK, "channel": "sms"})

    created = re.search(r"<dt>Created</dt><dd><a [^>]+>(\d+)</a>", html)[1]
    assert created == "0"
    assert 'value="sms" selected' in html


def test_a_wrong_filter_is_refused_clearly(lead):
    _user, client = lead
    html = _get(client, "/agent/reports/sla/", {"since": "yesterday"}, status=400)

    assert "since must be a date like 2026-01-31." in html
    drill = _get(client, "/agent/reports/tickets/", {"metric": "nonsense"}, status=400)
    assert "Unknown report number" in drill


def test_only_admins_and_leads_open_the_reports(client, django_user_model):
    agent = AgentFactory(tiers=[1])
    client.force_login(agent)
    assert client.get("/agent/reports/overview/").status_code == 403
    assert client.get("/agent/reports/tickets/?metric=created").status_code == 403
    assert client.get("/agent/reports/overview/overview.csv").status_code == 403
    assert "Reports</a>" not in client.get("/agent/queue/mine/").content.decode()
    client.logout()
    assert client.get("/agent/reports/overview/").status_code == 302


def test_the_header_links_leads_to_the_reports(lead):
    _user, client = lead
    assert 'href="/agent/reports/"' in _get(client, "/agent/queue/mine/")


def test_unknown_reports_and_tables_are_not_found(lead):
    _user, client = lead
    assert client.get("/agent/reports/nonsense/").status_code == 404
    assert client.get("/agent/reports/overview/nonsense.csv").status_code == 404


@pytest.mark.parametrize("name", NAMES)
def test_a_report_page_costs_the_same_statements_however_many_tickets(
    history, lead, open_ticket, name
):
    _user, client = lead

    def statements() -> int:
        with CaptureQueriesContext(connection) as queries:
            _get(client, f"/agent/reports/{name}/", WEEK)
        return len(queries)

    statements()  # the sidebar's cached set-up and counts, read once
    before = statements()
    with travel(at(13, 12)):
        for _ in range(5):
            open_ticket()
    statements()
    assert statements() == before


def test_leads_opt_in_and_out_of_the_weekly_summary(lead):
    user, client = lead
    response = client.post(
        "/agent/reports/weekly/", {"subscribe": "1", "next": "https://evil.example/"}
    )

    assert response.status_code == 302 and response["Location"] == "/agent/reports/"
    assert ReportSubscription.objects.filter(user=user).exists()
    assert "Stop the weekly summary" in _get(client, "/agent/reports/overview/")
    client.post("/agent/reports/weekly/", {"subscribe": "0"})
    assert not ReportSubscription.objects.filter(user=user).exists()


def test_the_weekly_summary_mails_last_weeks_figures_once(history, lead, mailoutbox, celery_eager):
    from tickets.tasks import mail_weekly_reports

    user, client = lead
    client.post("/agent/reports/weekly/", {"subscribe": "1"})
    AgentFactory(tiers=[1])  # an agent who did not ask (and may not read reports)
    with travel(at(19, 7)):  # Monday 19 January: the week of 12 to 18 January
        assert mail_weekly_reports.delay().get() == 1
        assert mail_weekly_reports.delay().get() == 0  # a second run sends nothing more

    (mail,) = mailoutbox
    assert mail.to == [user.email]
    assert mail.subject == "Help desk: the week of 12 January 2026"
    # Created Friday 9th: not last week's; solved Thursday 15th with a first reply on the
    # 13th after 120 business minutes; rated 5.
    assert "Tickets created: 0\n" in mail.body and "Tickets solved: 1\n" in mail.body
    assert "Median first reply: 2 h\n" in mail.body
    assert "CSAT: 100.0%\n" in mail.body
    assert "/agent/reports/overview/?since=2026-01-12&until=2026-01-18" in mail.body
    html = mail.alternatives[0][0]
    assert '<th scope="row"' in html and "100.0%" in html
