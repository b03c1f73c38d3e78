"""The services customers have: kept one per identifier, found in what they write."""

from datetime import date

import pytest
from django.test import Client

from tests.factories import CustomerFactory, OrganizationFactory
from tickets.catalog.selectors import customer_services, services_named_in
from tickets.catalog.services import service_save
from tickets.errors import InvalidInput
from tickets.models import Product, ProductPlan, Service

pytestmark = pytest.mark.django_db


@pytest.fixture
def fibre() -> Product:
    return Product.objects.create(name="Fibre")


@pytest.fixture
def router() -> Product:
    return Product.objects.create(name="Router X2")


def test_a_message_names_a_customers_services_however_written(fibre, router) -> None:
    acme = OrganizationFactory(name="Acme")
    ann = CustomerFactory(name="Ann", organization=acme)
    bob = CustomerFactory(name="Bob")
    plan = ProductPlan.objects.create(product=fibre, name="500")
    line = service_save(
        service=None, product=fibre, plan=plan, customer=ann, identifier="0207 946 0000",
        since=date(2024, 3, 1), actor=None,
    )  # fmt: skip
    box = service_save(
        service=None, product=router, organization=acme, identifier="RT-88-1234", actor=None
    )
    service_save(service=None, product=router, customer=bob, identifier="RT-99-0001", actor=None)

    text = "My line 02079460000 is down again and the router (rt 88 1234) blinks red. RT-99-0001?"
    assert set(services_named_in(text, ann)) == {line, box}  # not Bob's router
    assert services_named_in("Hello, nothing here. Call me at 5 pm.", ann) == []
    assert list(customer_services(ann)) == [line, box]
    assert [s.identifier for s in customer_services(bob)] == ["RT-99-0001"]


def test_what_cannot_be_a_service_is_refused_and_nothing_is_kept(fibre, router) -> None:
    ann, acme = CustomerFactory(name="Ann"), OrganizationFactory(name="Acme")
    service_save(service=None, product=fibre, customer=ann, identifier="L-100", actor=None)
    router_plan = ProductPlan.objects.create(product=router, name="firmware 4")
    cases = [
        ({"customer": None}, "A service belongs to a customer or to an organization."),
        ({"organization": acme}, "A service belongs to a customer or to an organization."),
        ({"plan": router_plan}, "“firmware 4” is not a plan of Fibre."),
        ({"identifier": "l 100"}, "Fibre l 100 is another customer's service already."),
        ({"status": "lost"}, "The status is one of active, suspended, ended."),
    ]
    for change, message in cases:
        values = {"product": fibre, "customer": ann, "identifier": "L-200", **change}
        with pytest.raises(InvalidInput) as refused:
            service_save(service=None, actor=None, **values)
        assert refused.value.message == message
    assert Service.objects.count() == 1


def test_an_admin_adds_a_service_and_a_taken_identifier_is_explained(admin_user, fibre) -> None:
    ann = CustomerFactory(name="Ann")
    client = Client()
    client.force_login(admin_user)
    form = {"product": fibre.pk, "customer": ann.pk, "identifier": "AB-1234", "status": "active"}
    response = client.post("/admin/tickets/service/add/", form)
    assert response.status_code == 302
    assert Service.objects.get().key == "AB1234"
    again = client.post("/admin/tickets/service/add/", {**form, "identifier": "ab 1234"})
    assert again.status_code == 200
    assert "Fibre AB1234 is another service already." in again.content.decode()
    assert Service.objects.count() == 1
    response = client.post(
        "/admin/tickets/service/add/", {**form, "identifier": "CD-9", "region": " North  East "}
    )
    assert Service.objects.get(key="CD9").region == "North East"
    page = client.get(f"/admin/tickets/customer/{ann.pk}/change/").content.decode()
    assert "AB-1234" in page and "North East" in page, "the customer's page lists them"


def test_the_ticket_page_lists_the_customers_services(agent, open_ticket, fibre, router) -> None:
    ticket = open_ticket(sender="ann@example.com")
    acme = OrganizationFactory(name="Acme")
    ticket.customer.organization = acme
    ticket.customer.save()
    plan = ProductPlan.objects.create(product=fibre, name="500")
    service_save(
        service=None, product=fibre, plan=plan, customer=ticket.customer,
        identifier="0207 946 0000", actor=None,
    )  # fmt: skip
    service_save(
        service=None, product=router, organization=acme, identifier="RT-88-1234",
        status="suspended", actor=None,
    )  # fmt: skip
    client = Client()
    client.force_login(agent)
    page = client.get(f"/agent/tickets/{ticket.pk}/").content.decode()
    assert "Fibre 500 · <code>0207 946 0000</code>" in page
    assert 'Router X2 · <code>RT-88-1234</code> <span class="help">(organization)</span>' in page
    assert '<span class="status">Suspended</span>' in page
