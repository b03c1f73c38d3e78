"""A lead reads the reports in a real browser: filters, a chart beside each table, a
number opened to its tickets, a table downloaded as CSV; and no serious accessibility
violation on any report page (axe-core)."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import Page, expect

from tests.e2e.agents import sign_in
from tests.e2e.axe import violations
from tests.factories import AgentFactory
from tickets import services
from tickets.inbound import InboundMessage
from tickets.models import Channel, ContactKind, Ticket
from tickets.roles import LEADS_GROUP

REPORTS = ["Overview", "Responsiveness", "SLA", "Satisfaction", "Tier flow", "Agents"]


@pytest.fixture
def desk() -> dict[str, Any]:
    lead = AgentFactory(username="lena", first_name="Lena", last_name="Lead", tiers=[1, 2])
    lead.groups.add(Group.objects.get(name=LEADS_GROUP))
    tickets = []
    for number, channel in enumerate([Channel.EMAIL, Channel.EMAIL, Channel.SMS]):
        sender_kind = ContactKind.PHONE if channel == Channel.SMS else ContactKind.EMAIL
        sender = f"+1415555000{number}" if channel == Channel.SMS else f"c{number}@example.com"
        inbound = InboundMessage(
            channel=channel, sender_kind=sender_kind, sender=sender, subject=f"Problem {number}",
            text="It broke.", external_id=f"<reports-{number}@example.com>",
        )  # fmt: skip
        tickets.append(services.ticket_open(inbound=inbound, tier_level=1).ticket)
    services.ticket_assign(ticket=tickets[0], assignee=lead, actor=lead)
    services.ticket_reply(ticket=tickets[0], actor=lead, text="Fixed.", status="resolved")
    services.ticket_rate(ticket=tickets[0], rating=5, comment="Thanks!", actor=None)
    return {"lead": lead, "tickets": tickets}


def test_a_lead_reads_the_overview_and_opens_the_tickets_behind_a_number(
    page: Page, screenshot: Callable[..., Path], desk: dict[str, Any]
) -> None:
    sign_in(page, "lena")
    page.get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reports: Overview")
    created = page.locator(".figure", has_text="Created").get_by_role("link")
    expect(created).to_have_text("3")
    expect(page.get_by_role("img", name="Tickets created and solved, by channel")).to_be_visible()
    screenshot("overview")

    page.get_by_label("Channel", exact=True).select_option("sms")
    page.get_by_role("button", name="Apply").click()
    expect(created).to_have_text("1")

    created.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reports: Created in the period")
    rows = page.locator("#drill-table tbody tr")
    expect(rows).to_have_count(1)
    sms: Ticket = desk["tickets"][2]
    expect(rows.first).to_contain_text(sms.reference)


def test_a_table_downloads_as_csv(page: Page, desk: dict[str, Any]) -> None:
    sign_in(page, "lena")
    page.goto("/agent/reports/satisfaction/")
    comments = page.locator("#comments")
    expect(comments).to_contain_text("Thanks!")
    with page.expect_download() as download:
        comments.get_by_role("link", name="Download CSV").click()
    text = Path(download.value.path()).read_text()
    assert text.splitlines()[0] == "Ticket,Rating,Comment,Rated"
    assert ",5,Thanks!," in text


def test_report_pages_have_no_serious_accessibility_violations(
    page: Page, desk: dict[str, Any]
) -> None:
    sign_in(page, "lena")
    page.goto("/agent/reports/")
    found: list[str] = []
    for name in REPORTS:
        page.get_by_role("navigation", name="Reports").get_by_role("link", name=name).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Reports: {name}")
        found += violations(page)
    page.goto("/agent/reports/tickets/?metric=created")
    found += violations(page)
    assert not found, "\n".join(found)
