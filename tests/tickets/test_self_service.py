"""Tier 0: confident answers go to the customer with a signed "solved" link; none, tier 1."""

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client

from tests.tickets.test_routing import route
from tickets import services
from tickets.models import Channel, ContactKind, EventKind, TicketEvent, TicketStatus
from tickets.services import self_service

pytestmark = pytest.mark.django_db


def solved_link(text: str) -> str:
    """The path of the "solved" link in an offer (PUBLIC_BASE_URL + path)."""
    return urlsplit(re.search(r"https?://\S+/support/solved/\S+/", text).group(0)).path


@pytest.fixture
def notices(settings, celery_eager):
    settings.HELPDESK_CUSTOMER_NOTICES = True


def test_without_a_confident_answer_the_ticket_goes_straight_to_tier_1(open_ticket):
    ticket = open_ticket(tier_level=0)
    assert route(ticket) == "handed to tier 1"
    event = TicketEvent.objects.get(ticket=ticket, kind=EventKind.ESCALATED)
    assert event.data["reason"] == "No confident self-service answer"


def test_confident_answer_is_offered_and_the_link_resolves_as_deflected(
    open_ticket,
    kb_answer,
    notices,
    django_capture_on_commit_callbacks,
):
    ticket = open_ticket(tier_level=0, sender="ann@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        assert route(ticket) == "waiting in self-service"
    offer = next(m for m in mail.outbox if "may already answer" in m.body)
    assert "/kb/basics/something-broken/" in offer.body
    link = solved_link(offer.body)

    client = Client(enforce_csrf_checks=False)
    page = client.get(link)
    assert "Did the article solve your problem?" in page.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.NEW  # a GET (a mail scanner) changes nothing

    done = client.post(link)
    assert "Glad it is solved" in done.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED
    assert TicketEvent.objects.get(ticket=ticket, kind=EventKind.DEFLECTED).data == {"via": "link"}
    assert services.ticket_route(ticket_id=ticket.pk) == "inactive"


def test_the_solved_link_used_again_says_solved_not_that_a_person_has_it(
    open_ticket, kb_answer, client
):
    # A second click (the email opened again, the page sent twice) found the ticket
    # resolved and told the customer a person was handling it.
    ticket = open_ticket(tier_level=0)
    route(ticket)
    link = f"/support/solved/{self_service.solved_token(ticket.pk)}/"
    for _ in range(2):
        page = client.post(link).content.decode()
        assert "Glad it is solved" in page and "Our team already has" not in page
    assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.DEFLECTED).count() == 1


def test_link_after_hand_off_does_not_resolve(open_ticket, kb_answer, client):
    ticket = open_ticket(tier_level=0)
    route(ticket)
    route(ticket, minutes_later=60)  # handed to tier 1
    token = self_service.solved_token(ticket.pk)
    page = client.post(f"/support/solved/{token}/").content.decode()
    assert "Our team already has your request" in page
    ticket.refresh_from_db()
    assert ticket.status != TicketStatus.RESOLVED


def test_forged_link_is_refused(client):
    response = client.get("/support/solved/not-a-token/")
    assert response.status_code == 404


def test_texter_answers_solved_by_keyword(open_ticket, inbound, kb_answer):
    sms = {"channel": Channel.SMS, "sender_kind": ContactKind.PHONE, "sender": "+14155550177"}
    ticket = open_ticket(tier_level=0, **sms)
    route(ticket)
    services.ticket_ingest(inbound=inbound(text="Solved!", **sms))
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED
    assert TicketEvent.objects.get(ticket=ticket, kind=EventKind.DEFLECTED).data == {
        "via": "sms keyword"
    }
