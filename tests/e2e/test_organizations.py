"""In a real browser: a team lead sets up a customer's organization (a domain whose new
customers join it, an SLA plan, notes), and the organization's next new customer joins it
with the plan's targets; an agent reads the page but cannot change it."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.contrib.auth.models import Group
from playwright.sync_api import Page, expect

from tests.e2e.agents import sign_in
from tests.e2e.axe import violations
from tests.factories import AgentFactory, OrganizationFactory
from tickets import services
from tickets.inbound import InboundMessage
from tickets.models import Channel, ContactKind, SLAPolicy, Ticket
from tickets.roles import LEADS_GROUP


def _mail(sender: str, n: int) -> InboundMessage:
    return InboundMessage(
        channel=Channel.EMAIL, sender_kind=ContactKind.EMAIL, sender=sender,
        sender_name="Ann Acme", subject=f"Cannot sign in {n}", text="It says locked.",
        external_id=f"<org-{n}@acme.example>",
    )  # fmt: skip


def test_a_lead_sets_up_an_organization_its_next_customer_joins_it(
    new_page: Callable[[], Page], screenshot: Callable[..., Path], celery_eager: Any
) -> None:
    lead = AgentFactory(username="lena", first_name="Lena", tiers=[1])
    lead.groups.add(Group.objects.get(name=LEADS_GROUP))
    AgentFactory(username="axel", tiers=[1])
    SLAPolicy.objects.create(name="Standard", position=100, first_response_minutes=480)
    SLAPolicy.objects.create(name="Premium", position=500, first_response_minutes=60)
    acme = OrganizationFactory(name="Acme")
    first = services.ticket_open(inbound=_mail("ann@acme.example", 1), tier_level=1).ticket
    services.customer_set_organization(customer=first.customer, organization=acme)

    page = new_page()
    sign_in(page, "lena")
    page.goto(f"/agent/customers/{first.customer_id}/")
    page.get_by_role("link", name="Acme").first.click()
    expect(page.get_by_role("heading", name="Acme", exact=True)).to_be_visible()
    page.get_by_label("Add a domain").fill("gmail.com")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_text("is a public mail service")).to_be_visible()
    page.get_by_label("Add a domain").fill("acme.example")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#organization-domains")).to_contain_text("acme.example")
    page.get_by_label("SLA plan").select_option(label="Premium")
    page.get_by_label("Notes (staff only)").fill("Enterprise contract until 2027.")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("SLA plan: Premium")).to_be_visible()
    assert violations(page) == []
    screenshot("organization", page)

    later = services.ticket_open(inbound=_mail("bob@acme.example", 2), tier_level=1).ticket
    later = Ticket.objects.select_related("customer", "sla_policy").get(pk=later.pk)
    assert later.customer.organization_id == acme.pk and later.sla_policy.name == "Premium"
    page.reload()
    expect(page.locator("#organization-people")).to_contain_text("Ann Acme")
    expect(page.locator("#organization-tickets")).to_contain_text(later.reference)

    agent = new_page()
    sign_in(agent, "axel")
    agent.goto(f"/agent/organizations/{acme.pk}/")
    expect(agent.get_by_text("Enterprise contract until 2027.")).to_be_visible()
    expect(agent.get_by_label("Add a domain")).to_have_count(0)
