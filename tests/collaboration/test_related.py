"""Related tickets: linked from either page, shown on both with their status, unlinked,
an event on both each time; the API too."""

import pytest

from tests.conftest import _client_for
from tickets.models import EventKind, TicketLink, TicketStatus

pytestmark = pytest.mark.django_db


def test_link_and_unlink_from_the_ticket_page(as_user, ann, ticket, open_ticket):
    other = open_ticket(subject="Sync fails for the Berlin office")
    other.status = TicketStatus.ON_HOLD
    other.save()
    client = as_user(ann)
    response = client.post(f"/agent/tickets/{ticket.pk}/related/", {"other": other.reference})
    assert response.status_code == 302

    here = client.get(f"/agent/tickets/{ticket.pk}/").content.decode()
    related = here.split('id="related"')[1].split("</ul>")[0]
    assert f"{other.reference} Sync fails for the Berlin office" in related
    assert "On hold" in related
    there = client.get(f"/agent/tickets/{other.pk}/").content.decode()
    assert f"{ticket.reference} Invoices do not sync" in there.split('id="related"')[1]
    for one, two in ((ticket, other), (other, ticket)):
        event = one.events.get(kind=EventKind.TICKET_LINKED)
        assert (event.actor, event.data["other_ref"]) == (ann, two.reference)
    assert f"Related to {other.reference}" in here

    client.post(f"/agent/tickets/{other.pk}/related/", {"other": str(ticket.pk), "unlink": "1"})
    assert not TicketLink.objects.exists()
    assert ticket.events.filter(kind=EventKind.TICKET_UNLINKED).count() == 1
    assert other.events.filter(kind=EventKind.TICKET_UNLINKED).count() == 1
    assert (
        "None"
        in client.get(f"/agent/tickets/{ticket.pk}/")
        .content.decode()
        .split('id="related"')[1]
        .split("</ul>")[0]
    )


@pytest.mark.parametrize(
    "other, error",
    [
        ("self", "cannot be related to itself"),
        ("HD-999999", "No ticket"),
        ("twelve", "No ticket"),
    ],
)
def test_a_wrong_link_is_refused_and_writes_nothing(as_user, ann, ticket, other, error):
    value = ticket.reference if other == "self" else other
    client = as_user(ann)
    response = client.post(f"/agent/tickets/{ticket.pk}/related/", {"other": value}, follow=True)
    assert error in response.content.decode()
    assert not TicketLink.objects.exists()
    assert not ticket.events.filter(kind=EventKind.TICKET_LINKED).exists()


def test_related_tickets_through_the_api(ann, ticket, open_ticket):
    other = open_ticket(subject="Second one")
    api = _client_for(ann)
    url = f"/api/v1/tickets/{ticket.pk}/related/"
    created = api.post(url, {"ticket": other.pk}, format="json")
    assert created.status_code == 201
    assert created.json() == [
        {"id": other.pk, "reference": other.reference, "subject": "Second one", "status": "new"}
    ]
    assert api.post(url, {"ticket": other.pk}, format="json").status_code == 409
    assert api.get(f"/api/v1/tickets/{other.pk}/related/").json()[0]["id"] == ticket.pk
    assert api.delete(f"{url}{other.pk}/").status_code == 204
    assert api.delete(f"{url}{other.pk}/").status_code == 409
    assert api.get(url).json() == []


def test_linking_from_the_ticket_page_is_said_in_the_agents_language(
    as_user, ann, ticket, open_ticket
):
    other = open_ticket(subject="Sync fails for the Berlin office")
    client = as_user(ann)

    response = client.post(
        f"/agent/tickets/{ticket.pk}/related/",
        {"other": other.reference},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9",
    )

    said = [str(message) for message in response.context["messages"]]
    assert said == ["Als verwandt verknüpft."]
