"""Saying what a request is about: signed-in customers choose one of their services (or a
product), anyone else a product; the ticket opens with it, whichever path opens it."""

import re
from html import unescape
from typing import Any

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import Client

from tests.factories import CustomerFactory, OrganizationFactory
from tickets import services
from tickets.catalog.services import service_save
from tickets.models import Channel, ContactKind, EventKind, Product, Service, Ticket
from tickets.selectors import customer_for_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    cache.clear()


@pytest.fixture
def fibre(db: None) -> Product:
    return Product.objects.create(name="Fibre broadband")


@pytest.fixture
def router(db: None) -> Product:
    return Product.objects.create(name="Router X2")


@pytest.fixture
def retired(db: None) -> Product:
    return Product.objects.create(name="Dial-up", active=False)


def _form(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Dana Scully",
        "email": "dana@example.org",
        "subject": "No internet",
        "description": "The light is red since this morning.",
        "urgency": "normal",
        "website": "",
        **overrides,
    }


def _about_select(client: Client) -> str:
    html = unescape(client.get("/support/new/").content.decode())
    assert '<label for="id_about">What is it about?</label>' in html
    return re.search(r'<select name="about".*?</select>', html, re.S).group(0)


def _about(ticket: Ticket) -> tuple[Any, Any, str]:
    event = ticket.events.get(kind=EventKind.PRODUCT_SET)
    return ticket.product, ticket.service, event.actor_label


def test_anyone_chooses_among_the_products_offered(
    client: Client, fibre: Product, router: Product, retired: Product
) -> None:
    select = _about_select(client)
    assert f'<option value="product:{fibre.pk}">Fibre broadband</option>' in select
    assert "Router X2" in select and "Dial-up" not in select and "service:" not in select

    assert client.post("/support/new/", _form(about=f"product:{router.pk}")).status_code == 302

    ticket = Ticket.objects.get()
    assert _about(ticket) == (router, None, "Chosen by the customer")
    assert ticket.events.get(kind=EventKind.PRODUCT_SET).data["to"] == "Router X2"


def test_a_signed_in_customer_chooses_one_of_their_services(
    client: Client, customer_user: Any, fibre: Product, router: Product
) -> None:
    customer = customer_for_user(customer_user)
    organization = OrganizationFactory()
    customer.organization = organization
    customer.save()
    line = service_save(
        service=None, product=fibre, actor=None, customer=customer, identifier="LN-4411"
    )
    shared = service_save(
        service=None, product=router, actor=None, organization=organization, identifier="RT-9"
    )
    someone_elses = service_save(
        service=None, product=router, actor=None, customer=CustomerFactory(), identifier="RT-7"
    )
    client.force_login(customer_user)

    select = _about_select(client)
    assert '<optgroup label="Your services">' in select
    assert f'value="service:{line.pk}">Fibre broadband LN-4411<' in select
    assert f'value="service:{shared.pk}">Router X2 RT-9<' in select
    assert f"service:{someone_elses.pk}" not in select
    assert f'value="product:{fibre.pk}"' in select

    response = client.post(
        "/support/new/", _form(email="portal@example.com", about=f"service:{shared.pk}")
    )

    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.customer == customer
    assert _about(ticket) == (router, shared, "Chosen by the customer")


def test_a_choice_not_offered_is_refused_and_nothing_is_opened(
    client: Client, fibre: Product, retired: Product
) -> None:
    theirs = service_save(
        service=None, product=fibre, actor=None, customer=CustomerFactory(), identifier="LN-1"
    )
    for about in (f"service:{theirs.pk}", f"product:{retired.pk}", "product:x"):
        response = client.post("/support/new/", _form(about=about))
        assert response.status_code == 200
        assert "Select a valid choice." in unescape(response.content.decode())
    assert not Ticket.objects.exists()


def test_without_a_choice_an_identifier_in_the_message_is_still_recognised(
    client: Client, fibre: Product
) -> None:
    customer = CustomerFactory()
    services.customer_add_contact_point(
        customer=customer, kind=ContactKind.EMAIL, value="dana@example.org"
    )
    line = service_save(
        service=None, product=fibre, actor=None, customer=customer, identifier="LN-4411"
    )

    client.post("/support/new/", _form(description="Line ln 4411 is down.", about=""))

    assert _about(Ticket.objects.get()) == (fibre, line, "Recognised")


def test_a_held_request_keeps_its_choice_when_released(
    client: Client, admin_user: Any, router: Product
) -> None:
    from channels_ingest.models import InboundItem

    client.post("/support/new/", _form(website="http://spam.example", about=f"product:{router.pk}"))
    item = InboundItem.objects.get()
    client.force_login(admin_user)
    client.post(
        "/admin/channels_ingest/inbounditem/",
        {"action": "release_held", "_selected_action": [item.pk]},
    )

    assert _about(Ticket.objects.get()) == (router, None, "Chosen by the customer")


def test_every_path_that_opens_a_ticket_checks_the_choice(
    inbound: Any, fibre: Product, router: Product, retired: Product
) -> None:
    ann = CustomerFactory()
    services.customer_add_contact_point(
        customer=ann, kind=ContactKind.EMAIL, value="ann@example.com"
    )
    anns = service_save(service=None, product=fibre, actor=None, customer=ann, identifier="LN-1")
    bobs = service_save(
        service=None, product=router, actor=None, customer=CustomerFactory(), identifier="RT-2"
    )
    web = {"channel": Channel.WEB}
    with transaction.atomic():
        results = services.ticket_ingest_many(
            [
                inbound(sender="ann@example.com", service_id=anns.pk, **web),
                # someone else's service: ignored, the product chosen with it stands
                inbound(service_id=anns.pk, product_id=router.pk, **web),
                inbound(service_id=bobs.pk, **web),  # someone else's: ignored
                inbound(product_id=retired.pk, **web),  # not offered: ignored
                inbound(product_id=fibre.pk, service_id=999_999, **web),
            ]
        )
    tickets = [Ticket.objects.get(pk=r.ticket.pk) for r in results]

    assert [(t.product, t.service) for t in tickets] == [
        (fibre, anns),
        (router, None),
        (None, None),
        (None, None),
        (fibre, None),
    ]
    assert not tickets[2].events.filter(kind=EventKind.PRODUCT_SET).exists()
    # A lone message (ticket_open) decides the same way.
    lone = services.ticket_open(inbound=inbound(sender="ann@example.com", service_id=anns.pk))
    assert (lone.ticket.product, lone.ticket.service) == (fibre, anns)
    assert Service.objects.count() == 2
