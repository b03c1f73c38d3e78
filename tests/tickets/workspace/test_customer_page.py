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


def _said(response: Any) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def test_an_agent_adds_and_removes_contacts_but_never_the_last(
    agent_client: Any, open_ticket: Any
) -> None:
    ann = open_ticket(sender="ann@example.com").customer
    url = f"/agent/customers/{ann.pk}/"
    other = open_ticket(sender="taken@example.com").customer

    added = agent_client.post(
        f"{url}contacts/", {"kind": "phone", "value": "(415) 555-0100"}, follow=True
    )
    assert "Contact added." in _said(added)
    assert "+14155550100" in added.content.decode()
    taken = agent_client.post(
        f"{url}contacts/", {"kind": "email", "value": "TAKEN@example.com"}, follow=True
    )
    assert f"already belongs to customer {other.pk}" in _said(taken)
    bad = agent_client.post(
        f"{url}contacts/", {"kind": "email", "value": "not an address"}, follow=True
    )
    assert "Contact added." not in _said(bad) and _said(bad)

    phone = ann.contact_points.get(kind="phone")
    agent_client.post(f"{url}contacts/{phone.pk}/remove/")
    email = ann.contact_points.get()
    last = agent_client.post(f"{url}contacts/{email.pk}/remove/", follow=True)
    assert "This is the customer's only contact" in _said(last)
    assert list(ann.contact_points.values_list("value", flat=True)) == ["ann@example.com"]
    mine = agent_client.post(f"{url}contacts/{other.contact_points.get().pk}/remove/", follow=True)
    assert "not one of this customer's contacts" in _said(mine)
    assert other.contact_points.exists()


def test_agents_keep_notes_about_a_customer(agent_client: Any, open_ticket: Any) -> None:
    ann = open_ticket(sender="ann@example.com").customer
    url = f"/agent/customers/{ann.pk}/"
    agent_client.post(f"{url}notes/", {"text": "Prefers phone calls after 5pm."})
    assert (
        "Note needs"
        not in agent_client.post(f"{url}notes/", {"text": " "}, follow=True).content.decode()
    )
    page = agent_client.get(url).content.decode()
    assert "Prefers phone calls after 5pm." in page
    assert ann.notes.count() == 1


def test_an_agent_merges_a_customer_after_seeing_what_moves(
    agent_client: Any, agent: Any, open_ticket: Any
) -> None:
    kept = open_ticket(sender="ann@example.com").customer
    twin_ticket = open_ticket(
        channel=Channel.SMS, sender_kind=ContactKind.PHONE, sender="+14155550100", text="Hi"
    )
    twin = twin_ticket.customer
    fibre = Product.objects.create(name="Fibre")
    service_save(service=None, product=fibre, customer=twin, identifier="FB-7", actor=None)
    services.customer_note(customer=twin, actor=agent, text="Calls at night.")
    url = f"/agent/customers/{kept.pk}/merge/"

    preview = agent_client.post(url, {"other": "(415) 555-0100"})

    text = preview.content.decode()
    assert "1 ticket," in text and "+14155550100" in text and "1 service" in text
    twin.refresh_from_db()
    assert twin.merged_into is None, "nothing moves before it is confirmed"

    done = agent_client.post(url, {"other": str(twin.pk), "confirm": "1"}, follow=True)

    assert "Merged" in _said(done)
    twin_ticket.refresh_from_db()
    assert twin_ticket.customer_id == kept.pk
    assert kept.services.get().identifier == "FB-7"
    page = done.content.decode()
    assert "Calls at night." in page and f"Merged in: customer {twin.pk}" in page
    assert "+14155550100" in page


def test_merging_oneself_or_nobody_is_refused(agent_client: Any, open_ticket: Any) -> None:
    ann = open_ticket(sender="ann@example.com").customer
    url = f"/agent/customers/{ann.pk}/merge/"
    for other in ("ann@example.com", "nobody@example.com", "#999999", "not a contact"):
        response = agent_client.post(url, {"other": other, "confirm": "1"}, follow=True)
        assert "Name the customer to merge" in _said(response), other
    ann.refresh_from_db()
    assert ann.merged_into is None
