"""The customer's page: contact points, services, their organization's people, and every
ticket on every channel, a page at a time, at the same cost whatever their number."""

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import OrganizationFactory
from tickets import services
from tickets.catalog.services import service_save
from tickets.models import Channel, ContactKind, Customer, Product

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent_client(client: Any, agent: Any) -> Any:
    client.force_login(agent)
    return client


def test_the_page_shows_every_channel_services_and_the_organization(
    agent_client: Any, open_ticket: Any
) -> None:
    by_mail = open_ticket(sender="ann@example.com", subject="Invoice wrong")
    ann = by_mail.customer
    services.customer_add_contact_point(customer=ann, kind=ContactKind.PHONE, value="+14155550100")
    by_text = open_ticket(
        channel=Channel.SMS, sender_kind=ContactKind.PHONE, sender="+14155550100", text="Still?"
    )
    acme = OrganizationFactory(name="Acme")
    services.customer_set_organization(customer=ann, organization=acme)
    bob = Customer.objects.create(name="Bob Builder", organization=acme)
    fibre = Product.objects.create(name="Fibre")
    service_save(
        service=None, product=fibre, organization=acme, identifier="FB-1", region="Leeds",
        actor=None,
    )  # fmt: skip

    page = agent_client.get(f"/agent/customers/{ann.pk}/").content.decode()

    assert by_text.customer_id == ann.pk
    assert f"{by_mail.reference} Invoice wrong" in page and f"{by_text.reference}" in page
    assert "SMS" in page and "Email" in page
    assert "+14155550100" in page and "ann@example.com" in page
    assert "FB-1" in page and "Leeds" in page and "(organization)" in page
    assert f'href="/agent/customers/{bob.pk}/"' in page
    ticket_page = agent_client.get(f"/agent/tickets/{by_mail.pk}/").content.decode()
    assert f'href="/agent/customers/{ann.pk}/"' in ticket_page


def test_tickets_come_a_page_at_a_time_at_the_same_cost(
    agent_client: Any, open_ticket: Any
) -> None:
    first = open_ticket(sender="many@example.com")
    url = f"/agent/customers/{first.customer_id}/"

    def statements() -> int:
        agent_client.get(url)
        with CaptureQueriesContext(connection) as captured:
            assert agent_client.get(url).status_code == 200
        return len(captured)

    few = statements()
    for n in range(30):
        services.ticket_open(inbound=_inbound(n), tier_level=1)
    assert statements() == few
    page = agent_client.get(url)
    assert len(page.context["page"].tickets) == 25
    older = agent_client.get(url, {"after": page.context["page"].next_cursor})
    assert len(older.context["page"].tickets) == 6
    assert agent_client.get(url, {"after": "nonsense"}).status_code == 302


def _inbound(n: int) -> Any:
    from tickets.inbound import InboundMessage

    return InboundMessage(
        channel=Channel.EMAIL, sender_kind=ContactKind.EMAIL, sender="many@example.com",
        subject=f"Again {n}", text="Another one.", external_id=f"<again-{n}@example.com>",
    )  # fmt: skip


def test_a_merged_customer_leads_to_the_one_kept(agent_client: Any, agent: Any) -> None:
    kept = Customer.objects.create(name="Kept")
    gone = Customer.objects.create(name="Gone")
    services.customer_merge(source=gone, target=kept, actor=agent)
    response = agent_client.get(f"/agent/customers/{gone.pk}/")
    assert response.status_code == 302 and response.url == f"/agent/customers/{kept.pk}/"


def test_the_page_is_for_staff_only(client: Any, customer_user: Any) -> None:
    client.force_login(customer_user)
    assert client.get(f"/agent/customers/{customer_user.customer.pk}/").status_code == 403
    assert client.get("/agent/customers/999999/").status_code == 403
