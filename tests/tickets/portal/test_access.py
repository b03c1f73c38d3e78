"""Who reaches which portal page: anonymous visitors sign in first, agents and admins are
refused (403: they work in the agent area), customer B gets 404 for everything of customer A."""

import pytest
from django.test import Client

from tickets.inbound import InboundAttachment
from tickets.models import Attachment, Message, MessageKind, Ticket, TicketStatus

pytestmark = pytest.mark.django_db


def ann_urls(ann) -> list[tuple[str, str]]:
    ticket = ann.ticket
    attachment = Attachment.objects.get(message__ticket=ticket)
    return [
        ("get", f"/support/tickets/{ticket.pk}/"),
        ("post", f"/support/tickets/{ticket.pk}/reply/"),
        ("post", f"/support/tickets/{ticket.pk}/close/"),
        ("post", f"/support/tickets/{ticket.pk}/reopen/"),
        ("post", f"/support/tickets/{ticket.pk}/rate/"),
        ("get", f"/support/attachments/{attachment.pk}/"),
    ]


def call(client: Client, method: str, url: str):
    if method == "post":
        return client.post(url, {"text": "Hello", "rating": "5"})
    return client.get(url)


def test_anonymous_visitors_are_sent_to_sign_in(client, ann):
    for method, url in [("get", "/support/tickets/"), *ann_urls(ann)]:
        response = call(client, method, url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/support/login/?next="), url
    assert Message.objects.filter(ticket=ann.ticket).count() == 1
    assert client.get("/support/").url == "/support/tickets/"


@pytest.mark.parametrize("who", ["staff_client", "admin_client_"])
def test_agents_and_admins_are_refused(request, who, ann):
    client = request.getfixturevalue(who)
    for method, url in [("get", "/support/tickets/"), *ann_urls(ann)]:
        response = call(client, method, url)
        assert response.status_code == 403, url
        assert "This is the customers' portal" in response.text
    ann.ticket.refresh_from_db()
    assert ann.ticket.status == TicketStatus.NEW
    assert Message.objects.filter(ticket=ann.ticket).count() == 1


def test_customer_b_gets_404_for_everything_of_customer_a(ann, bob):
    for method, url in ann_urls(ann):
        assert call(bob.client, method, url).status_code == 404, url
    listing = bob.client.get("/support/tickets/")
    assert "Bob&#x27;s laptop" in listing.text
    assert "Printer on fire" not in listing.text and ann.ticket.reference not in listing.text
    ann.ticket.refresh_from_db()
    assert (ann.ticket.status, ann.ticket.satisfaction) == (TicketStatus.NEW, None)
    assert Message.objects.filter(ticket=ann.ticket).count() == 1
    assert not Ticket.objects.filter(follow_up_of=ann.ticket).exists()


def test_customer_a_reaches_their_own_pages(ann, bob):
    ticket = ann.ticket
    assert ann.client.get("/support/tickets/").status_code == 200
    assert ann.client.get(f"/support/tickets/{ticket.pk}/").status_code == 200
    download = ann.client.get(f"/support/attachments/{Attachment.objects.get().pk}/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"smoke log"
    assert download["Content-Disposition"].startswith('attachment; filename="smoke.txt"')
    assert (
        ann.client.post(f"/support/tickets/{ticket.pk}/reply/", {"text": "Hi"}).status_code == 302
    )


def test_an_account_without_a_customer_is_refused(client):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="someone"))
    response = client.get("/support/tickets/")
    assert response.status_code == 403
    assert "not linked to a customer" in response.text


def test_attachments_of_internal_notes_are_never_downloadable(ann, agent):
    from django.core.files.base import ContentFile

    from tickets import services

    note = services.ticket_add_note(ticket=ann.ticket, actor=agent, text="Internal")
    secret = Attachment(message=note, filename="secret.txt", size=6)
    secret.file.save("secret.txt", ContentFile(b"secret"), save=True)
    assert note.kind == MessageKind.NOTE
    assert ann.client.get(f"/support/attachments/{secret.pk}/").status_code == 404


def test_unknown_ticket_is_404(ann):
    assert ann.client.get("/support/tickets/999999/").status_code == 404


def test_attachments_of_a_message_never_sent_are_not_downloadable_as_it_is_not_shown(ann, agent):
    # A message held back (suppressed) is not in the customer's thread; nor are its files.
    from tickets import services
    from tickets.services.delivery import message_mark_suppressed

    reply = services.ticket_reply(
        ticket=ann.ticket,
        actor=agent,
        text="Here is the fix.",
        attachments=(InboundAttachment("fix.txt", "text/plain", b"reboot"),),
    )
    attachment = reply.attachments.get()
    assert ann.client.get(f"/support/attachments/{attachment.pk}/").status_code == 200
    message_mark_suppressed(message_id=reply.pk, reason="Not sent: flagged address.")

    assert "Here is the fix." not in ann.client.get(f"/support/tickets/{ann.ticket.pk}/").text
    assert ann.client.get(f"/support/attachments/{attachment.pk}/").status_code == 404
