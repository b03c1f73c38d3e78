"""Following a ticket: followers hear of customer messages, status changes and notes."""

import pytest

from tests.conftest import _client_for
from tickets import services
from tickets.models import Notification, TicketStatus

pytestmark = pytest.mark.django_db


def kinds_for(user) -> list[str]:
    return list(
        Notification.objects.filter(user=user).order_by("pk").values_list("kind", flat=True)
    )


def test_followers_hear_of_messages_status_and_notes_but_not_their_own(
    as_user, ann, cleo, ticket, inbound, django_capture_on_commit_callbacks
):
    client = as_user(cleo)
    assert client.post(f"/agent/tickets/{ticket.pk}/follow/", {"follow": "1"}).status_code == 302
    page = client.get(f"/agent/tickets/{ticket.pk}/").content.decode()
    assert "Cleo Park" in page.split('id="followers"')[1].split("</ul>")[0]
    assert '<button type="submit" class="secondary" id="follow-button">Unfollow</button>' in page

    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_ingest(
            inbound=inbound(
                sender="portal@example.com",
                subject=f"Re: Invoices do not sync [{ticket.reference}]",
                text="Any news?",
            )
        )
        services.ticket_change_status(ticket=ticket, status=TicketStatus.ON_HOLD, actor=ann)
        services.ticket_add_note(ticket=ticket, actor=ann, text="Waiting for the vendor.")
        services.ticket_add_note(ticket=ticket, actor=cleo, text="My own note.")
    texts = list(
        Notification.objects.filter(user=cleo).order_by("pk").values_list("text", flat=True)
    )
    assert texts == [
        f"{ticket.reference}: the customer wrote",
        f"{ticket.reference}: status changed to on hold",
        f"{ticket.reference}: a new internal note",
    ]
    assert not Notification.objects.filter(user=ann).exists()  # ann does not follow

    client.post(f"/agent/tickets/{ticket.pk}/follow/", {"follow": "0"})
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_add_note(ticket=ticket, actor=ann, text="Another note.")
    assert Notification.objects.filter(user=cleo).count() == 3
    page = client.get(f"/agent/tickets/{ticket.pk}/").content.decode()
    assert "Nobody follows this ticket." in page


def test_a_mentioned_follower_is_told_once(ann, cleo, ticket, django_capture_on_commit_callbacks):
    services.ticket_add_note(ticket=ticket, actor=ann, text="@cleo first")  # now follows
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_add_note(ticket=ticket, actor=ann, text="@cleo again")
    assert kinds_for(cleo) == ["mention", "mention"]


def test_follow_through_the_api(ann, ticket):
    api = _client_for(ann)
    url = f"/api/v1/tickets/{ticket.pk}/followers/"
    assert api.post(url).json() == [{"id": ann.pk, "name": "Ann Lee"}]
    assert api.post(url).json() == [{"id": ann.pk, "name": "Ann Lee"}]  # once
    assert api.get(url).json() == [{"id": ann.pk, "name": "Ann Lee"}]
    assert api.delete(url).json() == []
    assert _client_for(None).get(url).status_code in (401, 403)


def test_an_assignee_who_follows_hears_of_a_customer_message_once(
    ann, cleo, ticket, inbound, django_capture_on_commit_callbacks
):
    """As the assignee (their notification choices decide); other followers as followers."""
    services.ticket_assign(ticket=ticket, assignee=ann, actor=ann)
    for follower in (ann, cleo):
        assert (
            _client_for(follower).post(f"/api/v1/tickets/{ticket.pk}/followers/").status_code == 200
        )
    Notification.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_ingest(
            inbound=inbound(
                sender="portal@example.com",
                subject=f"Re: Invoices do not sync [{ticket.reference}]",
                text="Any news?",
            )
        )
    assert kinds_for(ann) == ["customer_message"]
    assert kinds_for(cleo) == ["followed_message_received"]
