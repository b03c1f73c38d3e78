"""The portal shows a customer the values of the fields they may see, never agents' own."""

import pytest
from django.test import Client

from tests.factories import UserFactory
from tickets.fields.services import ticket_set_fields

pytestmark = pytest.mark.django_db


def test_the_customer_sees_their_visible_fields_only(desk, open_ticket, agent):
    ticket = open_ticket(sender="ann@example.com")
    user = UserFactory(username="ann", email="ann@example.com")
    ticket.customer.user = user
    ticket.customer.save(update_fields=["user"])
    ticket_set_fields(
        ticket=ticket,
        values={"plan": "enterprise", "modules": ["crm"], "root_cause": "bug", "seats": 40},
        actor=agent,
    )
    client = Client()
    client.force_login(user)
    page = client.get(f"/support/tickets/{ticket.pk}/").content.decode()
    assert "<dt>Your plan</dt><dd>Enterprise</dd>" in page
    assert "<dt>Modules</dt><dd>Crm</dd>" in page  # they filled it: they see it
    assert "Root cause" not in page and "Seats" not in page
