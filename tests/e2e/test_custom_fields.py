"""Custom fields in a real browser: a team lead defines a drop-down and a form in the admin
(and makes a newcomer a light agent on the team page), a customer picks the form in the
contact form and fills the field, and an agent sees the value on the ticket and filters the
queue by it."""

from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from tests.e2e.agents import sign_in
from tests.factories import AgentFactory, LeadFactory
from tickets.models import TicketForm
from tickets.roles import role_of


@pytest.fixture
def team() -> None:
    LeadFactory(username="ada", first_name="Ada", tiers=[1])
    AgentFactory(username="tom", tiers=[1])
    AgentFactory(username="nell", first_name="Nell", tiers=[1])
    TicketForm.objects.create(name="General question", position=0)


def test_a_field_defined_by_a_lead_is_filled_by_a_customer_and_filtered_by_an_agent(
    new_page: Callable[[], Page], screenshot: Callable[..., Path], team: None
) -> None:
    admin = new_page()
    sign_in(admin, "ada")
    admin.goto("/admin/tickets/ticketfield/add/")
    admin.get_by_label("Agent label").fill("Region")
    admin.get_by_label("Customer label").fill("Where are you?")
    admin.get_by_label("Key").fill("region")
    admin.get_by_label("Kind").select_option(label="Drop-down")
    admin.get_by_label("Customer editable").check()
    admin.locator('[name="choices-0-value"]').fill("eu")
    admin.locator('[name="choices-0-label"]').fill("Europe")
    admin.locator('[name="choices-1-value"]').fill("us")
    admin.locator('[name="choices-1-label"]').fill("Americas")
    admin.locator('[name="choices-1-position"]').fill("1")
    admin.get_by_role("button", name="Save", exact=True).click()
    expect(admin.get_by_text("was added successfully")).to_be_visible()

    admin.goto("/admin/tickets/ticketform/add/")
    admin.get_by_label("Name").fill("Shipping problem")
    admin.locator('[name="position"]').fill("1")
    admin.locator('[name="members-0-field"]').select_option(label="Region")
    admin.get_by_role("button", name="Save", exact=True).click()
    expect(admin.get_by_text("was added successfully")).to_be_visible()
    screenshot("forms-in-admin", admin)

    # The lead also runs the team: the newcomer starts as a light agent.
    admin.goto("/agent/team/")
    admin.get_by_label("Role of nell").select_option(label="Light agent")
    admin.locator("tr", has_text="nell").get_by_role("button", name="Save").click()
    expect(admin.locator("p.success")).to_contain_text("saved.")
    assert role_of(User.objects.get(username="nell")) == "light_agent"

    customer = new_page()
    customer.goto("/support/new/")
    customer.get_by_label("What kind of request is it?").select_option(label="Shipping problem")
    customer.get_by_role("button", name="Choose").click()
    customer.get_by_label("Your name").fill("Grace Hopper")
    customer.get_by_label("Your email").fill("grace@example.com")
    customer.get_by_label("Subject").fill("Parcel never arrived")
    customer.get_by_label("What happened?").fill("Ordered two weeks ago, still nothing.")
    customer.get_by_label("Where are you?").select_option(label="Americas")
    screenshot("contact-form", customer)
    customer.get_by_role("button", name="Send", exact=True).click()
    expect(customer.get_by_text("we received your request")).to_be_visible()
    reference = customer.locator(".reference").inner_text()

    agent = new_page()
    sign_in(agent, "tom")
    agent.goto("/agent/queue/any/")
    agent.locator("summary", has_text="Filters").click()
    agent.get_by_label("Field", exact=True).select_option(label="Region")
    agent.get_by_label("Value", exact=True).fill("eu")
    agent.locator(".filter-form").get_by_role("button", name="Apply").click()
    expect(agent.locator("#queue-table")).not_to_contain_text(reference)
    # The filters stay open while they apply.
    agent.get_by_label("Value", exact=True).fill("us")
    agent.locator(".filter-form").get_by_role("button", name="Apply").click()
    row = agent.locator("#queue-table tr", has_text=reference)
    expect(row).to_contain_text("Region: Americas")
    screenshot("queue-filtered", agent)
    row.get_by_role("link").click()
    expect(agent.get_by_label("Region")).to_have_value("us")
    expect(
        agent.get_by_text("Fields (form “Shipping problem”): Region: empty → us")
    ).to_be_visible()
