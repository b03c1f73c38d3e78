"""A lead sets up a shared view for tier 1 in the browser (solved tickets, chosen columns);
an agent of tier 1 finds it in the sidebar with its count and sorts it by a column; a light
agent opens a ticket, sees no reply box and adds an internal note. A lead makes a team
across tiers and shares a view with a custom field's column with it."""

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.agents import sign_in
from tests.e2e.axe import violations
from tests.factories import AgentFactory, LeadFactory, LightAgentFactory
from tickets import services
from tickets.fields.services import ticket_set_fields
from tickets.models import FieldChoice, FieldKind, Ticket, TicketField


@pytest.fixture
def solved(open_ticket: Callable[..., Ticket]) -> list[Ticket]:
    lead = LeadFactory(username="lena", first_name="Lena", tiers=[1])
    AgentFactory(username="arne", first_name="Arne", tiers=[1])
    LightAgentFactory(username="lia", first_name="Lia", tiers=[1])
    tickets = [open_ticket(tier_level=1, subject=s) for s in ("Beta", "Alpha", "Gamma")]
    for ticket in tickets[:2]:
        services.ticket_change_status(ticket=ticket, status="resolved", actor=lead)
    open_ticket(tier_level=2, subject="Delta")  # another tier, not solved
    return tickets[:2]


def test_a_lead_shares_a_view_an_agent_sorts_it_a_light_agent_notes(
    new_page: Callable[[], Page], screenshot: Callable[..., Path], solved: list[Ticket]
) -> None:
    lead = new_page()
    sign_in(lead, "lena")
    lead.get_by_role("link", name="New view").click()
    lead.get_by_label("Name", exact=True).fill("Solved in tier 1")
    lead.get_by_label("Shared with", exact=True).select_option(label="One tier")
    lead.get_by_label("Tier to share with").select_option(label="Tier 1: Frontline")
    lead.get_by_label("Tickets of", exact=True).select_option(label="All tickets")
    status = lead.get_by_role("group", name="Status")
    status.get_by_label("Resolved").check()
    status.get_by_label("Closed").check()
    columns = lead.locator(".columns-chooser")
    columns.get_by_label("Priority", exact=True).uncheck()
    columns.get_by_label("Subject", exact=True).check()
    columns.get_by_label("Updated", exact=True).check()
    for position, label in enumerate(
        ["Ticket", "Subject", "Updated", "Customer", "Status", "Tier", "Assignee", "SLA due"]
    ):
        columns.get_by_label(f"Position of {label}").fill(str(position + 1))
    lead.get_by_label("Sort by", exact=True).select_option(label="Updated, descending")
    screenshot("view-form", lead)
    found = violations(lead)
    lead.get_by_role("button", name="Save view").click()
    expect(lead.get_by_role("heading", name="Solved in tier 1")).to_be_visible()
    expect(lead.locator("#view-audience")).to_have_text("Shared with Tier 1: Frontline.")
    lead.get_by_role("link", name="Team").click()
    expect(lead.get_by_role("row", name=re.compile(r"^Lia "))).to_contain_text("Light agent")
    found += violations(lead)

    agent = new_page()
    sign_in(agent, "arne")
    link = agent.locator("#shared-views").get_by_role("link", name="Solved in tier 1")
    expect(link.locator(".count")).to_have_text("2")
    link.click()
    headers = agent.locator("#queue-table thead th[data-column]")
    expect(headers).to_have_text(["Ticket", "Subject", "Updated ↓", "Customer", "Status",
                                  "Tier", "Assignee", "SLA due"])  # fmt: skip
    rows = agent.locator("#queue-table tbody tr")
    expect(rows).to_have_count(2)
    # Updated, newest first: Alpha was solved last.
    expect(rows.first).to_contain_text("Alpha")
    agent.get_by_role("link", name="Subject", exact=True).click()
    expect(agent.locator('th[data-column="subject"]')).to_have_attribute("aria-sort", "ascending")
    expect(rows.first).to_contain_text("Alpha")
    agent.get_by_role("link", name="Subject ↑").click()
    expect(agent.locator('th[data-column="subject"]')).to_have_attribute("aria-sort", "descending")
    expect(rows.first).to_contain_text("Beta")
    expect(agent.locator("#edit-view")).to_have_count(0)  # shared views are the leads'
    screenshot("agent-sorted-view", agent)
    found += violations(agent)

    light = new_page()
    sign_in(light, "lia")
    light.goto(f"/agent/tickets/{solved[0].pk}/")
    expect(light.locator("#reply-form")).to_have_count(0)
    expect(light.locator("#side-status")).to_have_count(0)
    expect(light.get_by_text("As a light agent you read tickets")).to_be_visible()
    light.get_by_label("Internal note (customers never see it)").fill("Customer called: all good.")
    light.get_by_role("button", name="Add note").click()
    expect(light.get_by_text("Note added.")).to_be_visible()
    expect(light.get_by_text("Customer called: all good.")).to_be_visible()
    screenshot("light-agent-note", light)
    found += violations(light)
    assert not found, "\n".join(found)


def test_a_lead_makes_a_team_and_shares_a_view_of_a_custom_field_with_it(
    new_page: Callable[[], Page],
    screenshot: Callable[..., Path],
    open_ticket: Callable[..., Ticket],
) -> None:
    LeadFactory(username="lena", first_name="Lena", tiers=[1])
    AgentFactory(username="bo", first_name="Bo", tiers=[2])
    AgentFactory(username="cy", first_name="Cy", tiers=[1])
    plan = TicketField.objects.create(key="plan", kind=FieldKind.DROPDOWN, agent_label="Plan")
    for n, value in enumerate(("basic", "pro")):
        FieldChoice.objects.create(field=plan, value=value, label=value.title(), position=n)
    for subject, value in (("Invoice twice", "pro"), ("Card declined", "basic")):
        ticket = open_ticket(tier_level=2, subject=subject)
        ticket_set_fields(ticket=ticket, values={"plan": value}, actor=None)

    lead = new_page()
    sign_in(lead, "lena")
    lead.get_by_role("link", name="Team").click()
    new_team = lead.locator("#new-team")
    new_team.get_by_label("Name").fill("Billing squad")
    new_team.get_by_label("Bo").check()
    new_team.get_by_role("button", name="Make the team").click()
    expect(lead.get_by_text("Team “Billing squad” saved.")).to_be_visible()
    expect(lead.get_by_role("row", name=re.compile(r"^Bo "))).to_contain_text("Billing squad")
    found = violations(lead)

    lead.get_by_role("link", name="New view").click()
    lead.get_by_label("Name", exact=True).fill("Billing by plan")
    lead.get_by_label("Shared with", exact=True).select_option(label="One team")
    lead.get_by_label("Team to share with").select_option(label="Billing squad")
    lead.get_by_label("Tickets of", exact=True).select_option(label="All open")
    columns = lead.locator(".columns-chooser")
    columns.get_by_label("Plan", exact=True).check()
    columns.get_by_label("Position of Plan").fill("2")
    lead.get_by_label("Sort by", exact=True).select_option(label="Plan, descending")
    lead.get_by_role("button", name="Save view").click()
    expect(lead.locator("#view-audience")).to_have_text("Shared with the team Billing squad.")

    member = new_page()
    sign_in(member, "bo")
    member.locator("#shared-views").get_by_role("link", name="Billing by plan").click()
    expect(member.locator('#queue-table th[data-column="field:plan"]')).to_have_text("Plan ↓")
    rows = member.locator("#queue-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Pro")  # "pro" after "basic": first, descending
    member.get_by_role("link", name="Plan ↓").click()
    expect(rows.first).to_contain_text("Basic")
    # The built-in queues sort by their headers too.
    member.goto("/agent/queue/all/")
    member.locator("#queue-table").get_by_role("link", name="Priority", exact=True).click()
    expect(member.locator('th[data-column="priority"]')).to_have_attribute("aria-sort", "ascending")
    screenshot("team-view-by-field", member)
    found += violations(member)

    outsider = new_page()
    sign_in(outsider, "cy")
    expect(outsider.locator("#shared-views").get_by_text("Billing by plan")).to_have_count(0)
    assert not found, "\n".join(found)
