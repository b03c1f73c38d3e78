"""Two customers with portal accounts and tickets: everything in the portal is tested from
both sides, so one customer never sees the other's tickets by any door."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from tests.conftest import browser
from tests.factories import UserFactory
from tickets import services
from tickets.inbound import InboundAttachment
from tickets.models import Customer, Ticket


@dataclass
class PortalCustomer:
    email: str
    customer: Customer
    user: Any
    ticket: Ticket
    client: Client


def _portal_customer(
    open_ticket: Callable[..., Ticket], email: str, username: str, **ticket: Any
) -> PortalCustomer:
    first = open_ticket(sender=email, sender_name=username.title(), **ticket)
    customer = first.customer
    user = UserFactory(username=username, email=email)
    customer.user = user
    customer.save(update_fields=["user"])
    client = Client()
    client.force_login(user)
    return PortalCustomer(email=email, customer=customer, user=user, ticket=first, client=client)


@pytest.fixture
def ann(open_ticket: Callable[..., Ticket]) -> PortalCustomer:
    """Customer A: one ticket, with an attachment, answered by an agent."""
    return _portal_customer(
        open_ticket,
        "ann@example.com",
        "ann",
        subject="Printer on fire",
        text="Smoke comes out of the printer.",
        attachments=(InboundAttachment("smoke.txt", "text/plain", b"smoke log"),),
    )


@pytest.fixture
def bob(open_ticket: Callable[..., Ticket]) -> PortalCustomer:
    """Customer B, who must never reach Ann's tickets."""
    return _portal_customer(open_ticket, "bob@example.com", "bob", subject="Bob's laptop")


@pytest.fixture
def staff_client(agent: Any) -> Client:
    return browser(agent)


@pytest.fixture
def admin_client_(admin_user: Any) -> Client:
    return browser(admin_user)


def resolve(ticket: Ticket, actor: Any) -> Ticket:
    services.ticket_reply(ticket=ticket, actor=actor, text="Unplug it and let it cool down.")
    return services.ticket_resolve(ticket=Ticket.objects.get(pk=ticket.pk), actor=actor)
