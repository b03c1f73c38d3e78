"""@mentions in internal notes: the colleague is told (in the app, by email if they asked),
the note links to the ticket, they may open it outside their tier, read-only beyond what
every agent may do."""

import pytest
from django.core import mail

from tests.conftest import _client_for
from tickets import services
from tickets.models import EventKind, Notification, Priority, TicketFollower

pytestmark = pytest.mark.django_db


def note(client, ticket, text: str):
    return client.post(f"/agent/tickets/{ticket.pk}/note/", {"text": text})


def test_a_mentioned_colleague_is_notified_with_a_link_and_email_as_they_asked(
    as_user, ann, bob, cleo, ticket, celery_eager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = note(as_user(ann), ticket, "@bob can you check the sync logs? cc @Cleo.")
    assert response.status_code == 302

    told = Notification.objects.filter(kind="mention").order_by("user__username")
    assert [(n.user.username, n.ticket_id) for n in told] == [
        ("bob", ticket.pk),
        ("cleo", ticket.pk),
    ]
    assert told[0].text.startswith(f"Ann Lee mentioned you on {ticket.reference}: @bob can you")
    # Bob asked for email, Cleo did not: one email, to Bob, with the ticket's link.
    assert [m.to for m in mail.outbox] == [["bob@example.com"]]
    assert f"/agent/tickets/{ticket.pk}/" in mail.outbox[0].body
    # Both follow the ticket now; the author was not told of their own note.
    assert set(TicketFollower.objects.values_list("user__username", flat=True)) == {"bob", "cleo"}
    assert not Notification.objects.filter(user=ann).exists()

    # Bob's notifications page lists it; opening it marks it read and goes to the ticket.
    bob_client = as_user(bob)
    assert "Ann Lee mentioned you on" in bob_client.get("/agent/notifications/").content.decode()
    opened = bob_client.post("/agent/notifications/read/", {"notification": told[0].pk})
    assert opened["Location"] == f"/agent/tickets/{ticket.pk}/"


def test_the_mention_outside_the_tier_opens_the_ticket_read_only(as_user, ann, bob, ticket):
    note(as_user(ann), ticket, "Over to you @bob")
    client = as_user(bob)
    page = client.get(f"/agent/tickets/{ticket.pk}/").content.decode()
    # The note shows the mention highlighted; the side panel is read-only for tier 2.
    assert '<mark class="mention" title="Bob Stone">@bob</mark>' in page
    assert 'id="side-readonly"' in page and 'id="side-priority"' not in page
    # Being mentioned grants no rights: the tier's controls are refused as before.
    client.post(f"/agent/tickets/{ticket.pk}/change/", {"field": "priority", "value": "urgent"})
    ticket.refresh_from_db()
    assert ticket.priority == Priority.NORMAL


def test_only_active_staff_are_mentioned(as_user, ann, bob, ticket, customer_user):
    bob.is_active = False
    bob.save()
    note(as_user(ann), ticket, "ask @portal-customer, @nobody, pat@bob.example and @bob, @ann")
    assert not Notification.objects.exists()
    event = ticket.events.get(kind=EventKind.NOTE_ADDED)
    assert event.data["mentions"] == [{"id": ann.pk, "username": "ann", "name": "Ann Lee"}]


def test_the_api_note_endpoint_mentions_the_same_way(ann, bob, ticket):
    response = _client_for(ann).post(
        f"/api/v1/tickets/{ticket.pk}/notes/", {"text": "@bob please look"}, format="json"
    )
    assert response.status_code == 201
    notification = Notification.objects.get(user=bob)
    assert (notification.kind, notification.ticket_id) == ("mention", ticket.pk)


def test_a_service_note_mentions_once_per_colleague(ann, bob, ticket):
    services.ticket_add_note(ticket=ticket, actor=ann, text="@bob @BOB @bob.")
    assert Notification.objects.filter(user=bob).count() == 1


def test_the_note_box_offers_active_staff_only(as_user, ann, bob, cleo, customer_user, client):
    found = as_user(ann).get("/agent/mentions/", {"q": "b"}).json()["results"]
    assert found == [{"username": "bob", "name": "Bob Stone"}]
    everyone = client.get("/agent/mentions/").json()["results"]
    assert [p["username"] for p in everyone] == ["ann", "bob", "cleo"]
    client.force_login(customer_user)
    assert client.get("/agent/mentions/", {"q": "b"}).status_code == 403
