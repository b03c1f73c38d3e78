"""After resolution, "How did we do?": 1-5 and a comment, in the portal or from the signed
link in the resolution email; a "rated" event and Ticket.satisfaction, shown to agents."""

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client

from tests.tickets.portal.conftest import resolve
from tickets import services
from tickets.errors import Conflict, InvalidInput
from tickets.models import EventKind, Ticket, TicketEvent
from tickets.services.satisfaction import rating_token

pytestmark = pytest.mark.django_db


def rated_events(ticket: Ticket) -> list[dict]:
    return [
        event.data
        for event in TicketEvent.objects.filter(ticket=ticket, kind=EventKind.RATED).order_by("id")
    ]


def test_survey_appears_only_after_resolution(ann, agent):
    page = ann.client.get(f"/support/tickets/{ann.ticket.pk}/")
    assert "How did we do?" not in page.text
    resolve(ann.ticket, agent)
    page = ann.client.get(f"/support/tickets/{ann.ticket.pk}/")
    assert "How did we do?" in page.text
    assert "<legend>How did we do?</legend>" in page.text
    assert 'name="rating" value="5"' in page.text


def test_rating_in_the_portal_records_an_event_and_can_be_changed(ann, agent):
    resolve(ann.ticket, agent)
    url = f"/support/tickets/{ann.ticket.pk}/rate/"
    response = ann.client.post(url, {"rating": "4", "comment": "Quick, thanks"})
    assert response.status_code == 302
    ann.ticket.refresh_from_db()
    assert ann.ticket.satisfaction == 4
    event = TicketEvent.objects.get(ticket=ann.ticket, kind=EventKind.RATED)
    assert event.actor == ann.user and event.data == {"rating": 4, "comment": "Quick, thanks"}
    page = ann.client.get(f"/support/tickets/{ann.ticket.pk}/")
    assert "Thank you for your feedback!" in page.text
    assert "4 out of 5" in page.text

    ann.client.post(url, {"rating": "2", "comment": ""})
    ann.ticket.refresh_from_db()
    assert ann.ticket.satisfaction == 2
    assert rated_events(ann.ticket) == [
        {"rating": 4, "comment": "Quick, thanks"},
        {"rating": 2, "comment": ""},
    ]


@pytest.mark.parametrize("rating", ["", "0", "6", "five"])
def test_invalid_rating_is_refused_and_nothing_recorded(ann, agent, rating):
    resolve(ann.ticket, agent)
    response = ann.client.post(
        f"/support/tickets/{ann.ticket.pk}/rate/", {"rating": rating, "comment": "kept"}
    )
    assert response.status_code == 400
    assert "kept</textarea>" in response.text
    assert rated_events(ann.ticket) == []


def test_an_open_ticket_cannot_be_rated(ann):
    response = ann.client.post(f"/support/tickets/{ann.ticket.pk}/rate/", {"rating": "5"})
    assert response.status_code == 409
    assert rated_events(ann.ticket) == []


def test_service_rules(ann, agent):
    with pytest.raises(Conflict):
        services.ticket_rate(ticket=ann.ticket, rating=5, actor=None)
    resolve(ann.ticket, agent)
    for bad in (0, 6):
        with pytest.raises(InvalidInput):
            services.ticket_rate(ticket=ann.ticket, rating=bad, actor=None)
    with pytest.raises(InvalidInput):
        services.ticket_rate(ticket=ann.ticket, rating=3, comment="x" * 2001, actor=None)
    assert rated_events(ann.ticket) == []


def test_the_resolution_email_carries_a_signed_rating_link(
    ann, agent, settings, celery_eager, django_capture_on_commit_callbacks
):
    settings.HELPDESK_CUSTOMER_NOTICES = True
    with django_capture_on_commit_callbacks(execute=True):
        resolve(ann.ticket, agent)
    notice = next(m for m in mail.outbox if "is resolved" in m.subject)
    assert notice.to == ["ann@example.com"]
    assert "How did we do?" in notice.body
    link = urlsplit(re.search(r"https?://\S+/support/rate/\S+/", notice.body).group(0)).path

    anonymous = Client()
    form = anonymous.get(link)  # a mail scanner following the link records nothing
    assert form.status_code == 200 and "How did we do?" in form.text
    assert rated_events(ann.ticket) == []

    done = anonymous.post(link, {"rating": "5", "comment": "Great"})
    assert done.status_code == 200 and "Thank you for your feedback!" in done.text
    ann.ticket.refresh_from_db()
    assert ann.ticket.satisfaction == 5
    event = TicketEvent.objects.get(ticket=ann.ticket, kind=EventKind.RATED)
    assert event.actor is None and event.actor_label == "customer (rating link)"
    assert event.data == {"rating": 5, "comment": "Great"}


def test_rating_link_checks(ann, agent):
    client = Client()
    assert client.get("/support/rate/forged/").status_code == 404
    token = rating_token(ann.ticket.pk)
    not_yet = client.post(f"/support/rate/{token}/", {"rating": "5"})
    assert "still open" in not_yet.text and rated_events(ann.ticket) == []
    resolve(ann.ticket, agent)
    bad = client.post(f"/support/rate/{token}/", {"rating": "9"})
    assert bad.status_code == 400 and rated_events(ann.ticket) == []


def test_agents_see_the_rating_in_the_api(ann, agent, agent_api):
    resolve(ann.ticket, agent)
    services.ticket_rate(ticket=ann.ticket, rating=3, comment="OK", actor=ann.user)
    body = agent_api.get(f"/api/v1/tickets/{ann.ticket.pk}/").json()
    assert body["satisfaction"] == 3
    rated = [e for e in body["events"] if e["kind"] == "rated"]
    assert [e["data"] for e in rated] == [{"rating": 3, "comment": "OK"}]


# --- A link of a ticket merged since: the ticket its conversation went on in ------------------


@pytest.fixture
def merged(ann, agent, open_ticket) -> tuple[str, Ticket]:
    """Ann's ticket resolved (its notice carries the rating link), then merged into her
    second ticket on the same printer: the link and the ticket it was merged into."""
    resolve(ann.ticket, agent)
    link = f"/support/rate/{rating_token(ann.ticket.pk)}/"
    again = open_ticket(sender=ann.email, subject="Printer smoking again")
    services.ticket_merge(source=Ticket.objects.get(pk=ann.ticket.pk), target=again, actor=agent)
    return link, again


def test_a_link_of_a_ticket_merged_into_a_resolved_one_rates_that_one(ann, agent, merged):
    link, again = merged
    resolve(again, agent)
    asked, kept = ann.ticket.reference, again.reference

    form = Client().get(link)
    assert form.status_code == 200
    assert "not resolved yet" not in form.text
    assert f"Request {kept}: Printer smoking again" in form.text
    assert (
        f"{asked} was merged into {kept}, where our conversation went on: your rating is for "
        f"{kept}."
    ) in form.text

    done = Client().post(link, {"rating": "4", "comment": "Sorted in the end"})
    assert done.status_code == 200
    assert f"Your rating for {kept} reached our team." in done.text
    assert Ticket.objects.get(pk=again.pk).satisfaction == 4
    assert rated_events(again) == [{"rating": 4, "comment": "Sorted in the end"}]
    assert Ticket.objects.get(pk=ann.ticket.pk).satisfaction is None


def test_a_link_of_a_ticket_merged_into_an_open_one_says_where_it_went(ann, merged):
    link, again = merged

    page = Client().post(link, {"rating": "5"})
    assert page.status_code == 200
    assert (
        f"{ann.ticket.reference} was merged into {again.reference}, where our conversation "
        f"goes on. {again.reference} is not resolved yet, so there is nothing to rate."
    ) in page.text
    assert rated_events(again) == [] and rated_events(ann.ticket) == []


def test_a_link_of_a_ticket_merged_into_another_customers_names_nothing_of_it(ann, bob, agent):
    """Merges join one customer's tickets; one from before that rule is not followed."""
    resolve(ann.ticket, agent)
    resolve(bob.ticket, agent)
    Ticket.objects.filter(pk=ann.ticket.pk).update(status="closed", merged_into=bob.ticket)

    page = Client().post(f"/support/rate/{rating_token(ann.ticket.pk)}/", {"rating": "1"})
    assert page.status_code == 200
    assert f"{ann.ticket.reference} was merged into another request" in page.text
    assert bob.ticket.reference not in page.text and "laptop" not in page.text
    assert rated_events(bob.ticket) == [] and rated_events(ann.ticket) == []


def test_a_link_of_a_ticket_merged_into_a_resolved_one_in_german(ann, agent, merged):
    link, again = merged
    resolve(again, agent)

    form = Client().get(link, HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    assert (
        f"{ann.ticket.reference} wurde mit {again.reference} zusammengeführt, wo unser Gespräch "
        f"weiterging: Ihre Bewertung gilt für {again.reference}."
    ) in form.text


def test_rating_from_a_portal_page_of_a_ticket_merged_since_rates_where_it_went_as_the_link(
    ann, agent, merged
):
    # The page was open on the resolved ticket when it was merged into a resolved one.
    _, again = merged
    resolve(again, agent)
    response = ann.client.post(
        f"/support/tickets/{ann.ticket.pk}/rate/", {"rating": "5", "comment": ""}, follow=True
    )
    assert response.redirect_chain[-1][0] == f"/support/tickets/{again.pk}/"
    assert "Thank you for your feedback!" in response.text
    assert Ticket.objects.get(pk=again.pk).satisfaction == 5
    assert Ticket.objects.get(pk=ann.ticket.pk).satisfaction is None
