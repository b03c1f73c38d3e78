"""The organization's page: its people and their tickets, its services; admins and leads
edit its name, notes, SLA plan and domains (whose new customers join it); agents read."""

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import AgentFactory, OrganizationFactory
from tickets import services
from tickets.inbound import InboundMessage
from tickets.models import (
    Channel,
    ContactKind,
    Customer,
    OrganizationDomain,
    Priority,
    SLAPolicy,
    Ticket,
)
from tickets.roles import LEADS_GROUP

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead_client() -> Client:
    user = AgentFactory(tiers=[1])
    user.groups.add(Group.objects.get(name=LEADS_GROUP))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def agent_client(client: Any, agent: Any) -> Any:
    client.force_login(agent)
    return client


def _said(response: Any) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def _mail(sender: str, n: int = 0) -> InboundMessage:
    return InboundMessage(
        channel=Channel.EMAIL, sender_kind=ContactKind.EMAIL, sender=sender,
        sender_name="Someone", subject=f"Help {n}", text="It broke.",
        external_id=f"<{n}-{sender}>",
    )  # fmt: skip


def test_the_page_lists_people_and_their_tickets_on_every_channel(
    agent_client: Any, open_ticket: Any
) -> None:
    acme = OrganizationFactory(name="Acme")
    ann = open_ticket(sender="ann@acme.example", subject="Invoice wrong")
    bob = open_ticket(
        channel=Channel.SMS, sender_kind=ContactKind.PHONE, sender="+14155550100", text="Down?"
    )
    for ticket in (ann, bob):
        services.customer_set_organization(customer=ticket.customer, organization=acme)
    stranger = open_ticket(sender="eve@elsewhere.example", subject="Not theirs")

    page = agent_client.get(f"/agent/organizations/{acme.pk}/").content.decode()

    assert f"{ann.reference} Invoice wrong" in page and bob.reference in page
    assert stranger.reference not in page
    assert f'href="/agent/customers/{ann.customer_id}/"' in page and "People (2)" in page
    listing = agent_client.get("/agent/organizations/", {"q": "acm"}).content.decode()
    assert f'href="/agent/organizations/{acme.pk}/"' in listing
    customer_page = agent_client.get(f"/agent/customers/{ann.customer_id}/").content.decode()
    assert f'href="/agent/organizations/{acme.pk}/"' in customer_page


def test_pages_of_the_organization_cost_the_same_whatever_its_size(
    agent_client: Any, open_ticket: Any
) -> None:
    acme = OrganizationFactory(name="Acme")
    first = open_ticket(sender="one@acme.example")
    services.customer_set_organization(customer=first.customer, organization=acme)

    def statements(url: str) -> int:
        agent_client.get(url)
        with CaptureQueriesContext(connection) as captured:
            assert agent_client.get(url).status_code == 200
        return len(captured)

    page, listing = f"/agent/organizations/{acme.pk}/", "/agent/organizations/"
    few = statements(page), statements(listing)
    for n in range(30):
        ticket = services.ticket_open(inbound=_mail(f"p{n}@acme.example", n), tier_level=1).ticket
        services.customer_set_organization(customer=ticket.customer, organization=acme)
        OrganizationFactory(name=f"Other {n}")
    assert (statements(page), statements(listing)) == few
    shown = agent_client.get(page)
    assert len(shown.context["page"].tickets) == 25
    assert len(shown.context["people"].object_list) == 25
    older = agent_client.get(page, {"after": shown.context["page"].next_cursor})
    assert len(older.context["page"].tickets) == 6


def test_new_customers_from_a_domain_join_on_every_ingest_path(lead_client: Client) -> None:
    acme = OrganizationFactory(name="Acme")
    added = lead_client.post(
        f"/agent/organizations/{acme.pk}/domains/", {"domain": "@ACME.example"}, follow=True
    )
    assert "acme.example now join" in _said(added)

    alone = services.ticket_open(inbound=_mail("ann@acme.example"), tier_level=1).ticket
    with transaction.atomic():
        batch = services.ticket_ingest_many(
            [_mail("bob@acme.example", 1), _mail("cy@Sub.elsewhere.example", 2)]
        )
    by_agent = services.customer_create(name="Dee", contacts=[("email", "dee@acme.example")])

    assert alone.customer.organization_id == acme.pk
    bob = Customer.objects.get(contact_points__value="bob@acme.example")
    cy = Customer.objects.get(contact_points__value="cy@sub.elsewhere.example")
    assert bob.organization_id == acme.pk and cy.organization_id is None
    assert by_agent.organization_id == acme.pk
    assert len(batch) == 2


def test_domains_are_checked_and_belong_to_one_organization(lead_client: Client) -> None:
    acme, other = OrganizationFactory(name="Acme"), OrganizationFactory(name="Other")
    OrganizationDomain.objects.create(organization=other, domain="other.example")
    url = f"/agent/organizations/{acme.pk}/domains/"

    cases = {
        "gmail.com": "public mail service",
        "not a domain": "is not a domain",
        "other.example": "already belongs to Other",
        "localhost": "is not a domain",
    }
    for domain, refusal in cases.items():
        assert refusal in _said(lead_client.post(url, {"domain": domain}, follow=True)), domain
    assert not acme.domains.exists()
    lead_client.post(url, {"domain": "acme.example"})
    kept = acme.domains.get()
    removed = lead_client.post(f"{url}{kept.pk}/remove/", follow=True)
    assert "Domain removed" in _said(removed) and not acme.domains.exists()


def test_customers_already_writing_from_a_domain_join_when_asked(
    lead_client: Client, open_ticket: Any
) -> None:
    early = open_ticket(sender="early@acme.example")
    placed = open_ticket(sender="placed@acme.example").customer
    elsewhere = OrganizationFactory(name="Elsewhere")
    services.customer_set_organization(customer=placed, organization=elsewhere)
    acme = OrganizationFactory(name="Acme")
    lead_client.post(f"/agent/organizations/{acme.pk}/domains/", {"domain": "acme.example"})
    domain = acme.domains.get()

    joined = lead_client.post(
        f"/agent/organizations/{acme.pk}/domains/{domain.pk}/adopt/", follow=True
    )

    assert "1 customer joined" in _said(joined)
    early.customer.refresh_from_db()
    placed.refresh_from_db()
    assert early.customer.organization_id == acme.pk
    assert placed.organization_id == elsewhere.pk
    assert early.metrics.organization_id == acme.pk


def test_the_plan_applies_to_the_organizations_tickets_at_once(
    lead_client: Client, open_ticket: Any
) -> None:
    # Without a plan, Standard comes first for everyone.
    SLAPolicy.objects.create(name="Standard", position=100, first_response_minutes=480)
    premium = SLAPolicy.objects.create(name="Premium", position=500, first_response_minutes=60)
    acme = OrganizationFactory(name="Acme")
    ticket = open_ticket(sender="ann@acme.example")
    services.customer_set_organization(customer=ticket.customer, organization=acme)
    ticket.refresh_from_db()
    assert ticket.sla_policy.name == "Standard"

    saved = lead_client.post(
        f"/agent/organizations/{acme.pk}/edit/",
        {"name": "Acme Ltd", "notes": "Pays for premium.", "sla_policy": premium.pk},
        follow=True,
    )

    assert "Organization saved." in _said(saved)
    ticket.refresh_from_db()
    assert ticket.sla_policy_id == premium.pk
    assert ticket.first_response_due_at == ticket.created_at + premium_delay()
    later = open_ticket(sender="bob@elsewhere.example")
    services.customer_set_organization(customer=later.customer, organization=acme)
    fresh = services.ticket_open(inbound=_mail("ann@acme.example", 9), tier_level=1).ticket
    assert Ticket.objects.get(pk=fresh.pk).sla_policy_id == premium.pk
    page = lead_client.get(f"/agent/organizations/{acme.pk}/").content.decode()
    assert "Acme Ltd" in page and "Pays for premium." in page and "SLA plan: Premium" in page


def premium_delay() -> Any:
    from datetime import timedelta

    return timedelta(minutes=60)


def test_a_plan_still_has_its_conditions(lead_client: Client, open_ticket: Any) -> None:
    SLAPolicy.objects.create(name="Standard", is_default=True, first_response_minutes=480)
    urgent_only = SLAPolicy.objects.create(
        name="Urgent plan", priorities=[Priority.URGENT], first_response_minutes=15
    )
    acme = OrganizationFactory(name="Acme", sla_policy=urgent_only)
    OrganizationDomain.objects.create(organization=acme, domain="acme.example")

    ticket = services.ticket_open(inbound=_mail("ann@acme.example"), tier_level=1).ticket

    assert ticket.customer.organization_id == acme.pk
    assert Ticket.objects.get(pk=ticket.pk).sla_policy.name == "Standard"


def test_agents_read_but_only_admins_and_leads_edit(
    agent_client: Any, client: Any, customer_user: Any
) -> None:
    acme = OrganizationFactory(name="Acme")
    page = agent_client.get(f"/agent/organizations/{acme.pk}/").content.decode()
    assert "Add a domain" not in page and "SLA plan</label>" not in page
    for path, data in [
        ("edit/", {"name": "Hacked"}),
        ("domains/", {"domain": "acme.example"}),
    ]:
        assert agent_client.post(f"/agent/organizations/{acme.pk}/{path}", data).status_code == 403
    acme.refresh_from_db()
    assert acme.name == "Acme" and not acme.domains.exists()
    client.force_login(customer_user)
    assert client.get(f"/agent/organizations/{acme.pk}/").status_code == 403
    assert client.get("/agent/organizations/").status_code == 403


def test_a_name_is_required_and_kept_unique(lead_client: Client) -> None:
    acme = OrganizationFactory(name="Acme")
    OrganizationFactory(name="Taken")
    url = f"/agent/organizations/{acme.pk}/edit/"
    assert "needs a name" in _said(lead_client.post(url, {"name": " "}, follow=True))
    assert "Another organization is called Taken" in _said(
        lead_client.post(url, {"name": "Taken"}, follow=True)
    )
    acme.refresh_from_db()
    assert acme.name == "Acme"
