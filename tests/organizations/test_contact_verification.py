"""Verifying a customer's address or number: the agent sends a link from the customer's
page; the customer opens it and confirms; the page then shows the contact verified."""

import re
from typing import Any

import pytest
from django.core import mail

from channels_ingest.sms import backends as sms
from tickets import services

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://[^/\s]+(/support/verify/[^\s]+/)")


@pytest.fixture
def agent_client(client: Any, agent: Any) -> Any:
    client.force_login(agent)
    return client


@pytest.fixture
def ask(agent_client: Any, django_capture_on_commit_callbacks: Any) -> Any:
    """The agent's "Verify" click, and what it sends after commit (the test's transaction
    never commits)."""

    def click(customer_id: int, contact_id: int) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return agent_client.post(
                f"/agent/customers/{customer_id}/contacts/{contact_id}/verify/", follow=True
            )

    return click


def _said(response: Any) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def test_a_customer_confirms_their_address_from_the_emailed_link(
    agent_client: Any, open_ticket: Any, celery_eager: Any, ask: Any
) -> None:
    ann = open_ticket(sender="ann@example.com").customer
    email = ann.contact_points.get()
    page = f"/agent/customers/{ann.pk}/"

    sent = ask(ann.pk, email.pk)

    assert "Confirmation link sent." in _said(sent)
    (letter,) = mail.outbox
    assert letter.to == ["ann@example.com"] and "confirm" in letter.subject.lower()
    path = LINK.search(letter.body).group(1)  # type: ignore[union-attr]
    customer_side = type(agent_client)()
    asked = customer_side.get(path)
    assert asked.status_code == 200 and "Is this yours?" in asked.content.decode()
    email.refresh_from_db()
    assert email.verified_at is None  # opening the link (a mail scanner) verifies nothing
    confirmed = customer_side.post(path)
    assert "is confirmed" in confirmed.content.decode()
    email.refresh_from_db()
    assert email.verified_at is not None
    shown = agent_client.get(page).content.decode()
    assert "verified</span>" in shown and "Send ann@example.com a confirmation link" not in shown
    again = ask(ann.pk, email.pk)
    assert "verified already" in _said(again) and len(mail.outbox) == 1


def test_a_number_gets_its_link_by_text(
    agent_client: Any, open_ticket: Any, celery_eager: Any, ask: Any
) -> None:
    ann = open_ticket(sender="ann@example.com").customer
    phone = services.customer_add_contact_point(customer=ann, kind="phone", value="+14155550100")
    sms.outbox.clear()

    ask(ann.pk, phone.pk)

    (text,) = sms.outbox
    assert text.to == "+14155550100"
    path = LINK.search(text.body).group(1)  # type: ignore[union-attr]
    agent_client.post(path)
    phone.refresh_from_db()
    assert phone.verified_at is not None


def test_a_link_stops_working_once_the_contact_is_gone_or_tampered(
    agent_client: Any, open_ticket: Any, celery_eager: Any, ask: Any
) -> None:
    ann = open_ticket(sender="ann@example.com").customer
    other = services.customer_add_contact_point(customer=ann, kind="email", value="a2@example.com")
    ask(ann.pk, other.pk)
    path = LINK.search(mail.outbox[0].body).group(1)  # type: ignore[union-attr]

    assert agent_client.get(path[:-3] + "xx/").status_code == 400
    services.customer_remove_contact_point(customer=ann, contact_id=other.pk)
    gone = agent_client.post(path)
    assert gone.status_code == 400 and "does not work any more" in gone.content.decode()


def test_another_customers_contact_cannot_be_sent_a_link(
    agent_client: Any, open_ticket: Any, celery_eager: Any, ask: Any
) -> None:
    ann = open_ticket(sender="ann@example.com").customer
    bob_email = open_ticket(sender="bob@example.com").customer.contact_points.get()
    refused = ask(ann.pk, bob_email.pk)
    assert "not one of this customer's contacts" in _said(refused) and not mail.outbox


def test_signing_in_to_the_portal_by_link_verifies_the_address(
    client: Any, open_ticket: Any
) -> None:
    ann = open_ticket(sender="ann@example.com").customer
    contact = ann.contact_points.get()
    from tickets.services.portal import sign_in_token

    client.post(f"/support/login/{sign_in_token(contact)}/")

    contact.refresh_from_db()
    assert contact.verified_at is not None
