"""The contact form and the portal's reply box when the database server cuts the connection
in the middle of storing what a customer sent (PostgreSQL restarting, a network link
dropping): a page that says so, the text kept, and one ticket when it is sent again."""

import pytest
from django.core.cache import cache

from tests.channels_ingest.web.test_contact_form import form
from tests.outages import connection_cut_before
from tickets.models import Message, MessageKind, Ticket

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


def test_a_connection_cut_while_opening_keeps_the_form_and_sending_again_opens_one(client):
    sent = form(submission=client.get("/support/new/").context["form"]["submission"].value())
    with connection_cut_before('INSERT INTO "tickets_message"') as cuts:
        response = client.post("/support/new/", sent)

    assert cuts() == 1
    assert response.status_code == 503
    assert "could not take your request just now" in response.text
    assert "Clicking Export shows a blank page since this morning.</textarea>" in response.text
    assert not Ticket.objects.exists()

    assert client.post("/support/new/", sent).status_code == 302
    assert client.post("/support/new/", sent).status_code == 302
    assert Message.objects.filter(kind=MessageKind.INBOUND).count() == 1


def test_a_connection_cut_while_replying_in_the_portal_keeps_the_reply(customer_user, client):
    # (The transaction the cut killed is dropped with its connection; the page connects anew.)
    from tickets.selectors import customer_for_user

    assert client.post("/support/new/", form(email="portal@example.com")).status_code == 302
    ticket = Ticket.objects.get()
    assert customer_for_user(customer_user) == ticket.customer
    client.force_login(customer_user)
    url = f"/support/tickets/{ticket.pk}/"
    data = {
        "text": "Still blank.",
        "submission": client.get(url).context["reply_form"].initial["submission"],
    }
    with connection_cut_before('INSERT INTO "tickets_message"') as cuts:
        response = client.post(url + "reply/", data)

    assert cuts() == 1
    assert response.status_code == 503
    assert "Still blank.</textarea>" in response.text
    assert client.post(url + "reply/", data).status_code == 302
    assert Message.objects.filter(ticket=ticket, body_text="Still blank.").count() == 1
