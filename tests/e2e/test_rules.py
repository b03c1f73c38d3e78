"""An admin builds a trigger in a real browser and sees it act on the next ticket a
customer sends through the contact form; the rules' pages pass axe."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.agents import sign_in
from tests.e2e.axe import violations
from tests.factories import AdminFactory, AgentFactory


@pytest.fixture
def team() -> None:
    AdminFactory(username="ada", first_name="Ada")
    AgentFactory(username="tom", tiers=[2])


def test_an_admin_builds_a_trigger_and_the_next_outage_is_urgent_in_tier_2(
    new_page: Callable[[], Page],
    screenshot: Callable[..., Path],
    team: None,
    celery_eager: Any,
) -> None:
    admin = new_page()
    sign_in(admin, "ada")
    admin.get_by_role("link", name="Rules", exact=True).click()
    admin.get_by_role("link", name="New trigger").click()
    admin.get_by_label("Name").fill("Outages to tier 2")
    admin.get_by_label("Ticket created").check()
    admin.get_by_label("Field of condition 1").select_option(label="Subject")
    admin.get_by_label("Test of condition 1").select_option("contains")
    admin.get_by_label("Value of condition 1").fill("outage")
    admin.get_by_label("Action 1", exact=True).select_option(label="Set priority")
    admin.get_by_label("Value of action 1").fill("urgent")
    admin.get_by_label("Action 2", exact=True).select_option(label="Move to tier")
    admin.get_by_label("Value of action 2").fill("2")
    admin.get_by_label("Details of action 2").fill("Outage reported: check the status page.")
    admin.get_by_role("button", name="Save trigger").click()
    expect(admin.get_by_text("Trigger “Outages to tier 2” saved.")).to_be_visible()
    screenshot("trigger", admin)

    customer = new_page()
    customer.goto("/support/new/")
    customer.get_by_label("Your name").fill("Grace Hopper")
    customer.get_by_label("Your email").fill("grace@example.com")
    customer.get_by_label("Subject").fill("Outage: nothing loads")
    customer.get_by_label("What happened?").fill("Since nine this morning no page loads at all.")
    customer.get_by_role("button", name="Send", exact=True).click()
    expect(customer.get_by_text("we received your request")).to_be_visible()
    reference = customer.locator(".reference").inner_text()

    admin.goto("/agent/queue/all/")
    admin.locator("#queue-table tr", has_text=reference).get_by_role("link").click()
    expect(admin.get_by_text("Trigger: Outages to tier 2").first).to_be_visible()
    expect(admin.get_by_text("Outage reported: check the status page.")).to_be_visible()
    screenshot("ticket-changed-by-trigger", admin)


def test_rule_pages_have_no_serious_accessibility_violations(page: Page, team: None) -> None:
    sign_in(page, "ada")
    for path in ["/agent/rules/", "/agent/rules/triggers/new/",
                 "/agent/rules/automations/new/", "/agent/rules/webhooks/new/"]:  # fmt: skip
        page.goto(path)
        assert violations(page) == [], path


def test_an_admin_builds_an_automation_in_the_browser(page: Page, team: None) -> None:
    from tickets.models import Automation

    sign_in(page, "ada")
    page.goto("/agent/rules/")
    page.get_by_role("link", name="New automation").click()
    page.get_by_label("Name").fill("Unassigned in tier 2 for 4 hours")
    page.get_by_label("After").fill("4")
    page.get_by_label("counted").select_option("tier_entered")
    page.get_by_label("Field of condition 1").select_option(label="Tier")
    page.get_by_label("Test of condition 1").select_option("is")
    page.get_by_label("Value of condition 1").fill("2")
    page.get_by_label("Field of condition 2").select_option(label="Assignee (user id)")
    page.get_by_label("Test of condition 2").select_option("is_empty")
    page.get_by_label("Action 1", exact=True).select_option(label="Notify agents")
    page.get_by_label("Value of action 1").fill("{{ ticket.reference }} waits in tier 2")
    page.get_by_label("Details of action 1").fill("leads")
    page.get_by_role("button", name="Save automation").click()
    expect(page.get_by_text("Automation “Unassigned in tier 2 for 4 hours” saved.")).to_be_visible()
    automation = Automation.objects.get()
    assert (automation.since, automation.hours) == ("tier_entered", 4)
    assert automation.conditions["all"] == [
        {"field": "tier", "op": "is", "value": 2},
        {"field": "assignee", "op": "is_empty", "value": None},
    ]
    assert automation.actions == [
        {"type": "notify", "to": ["leads"], "value": "{{ ticket.reference }} waits in tier 2"}
    ]
