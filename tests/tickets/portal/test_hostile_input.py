"""The portal's doors under odd input a visitor can send: never a server error, the usual
answer instead, and nothing of another customer."""

import pytest
from axes.models import AccessAttempt
from django.test import Client

from tests.factories import PASSWORD
from tickets.models import Message

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "typed",
    ["a" * 5000, "ann@" + "b" * 300 + ".example.com"],
    ids=["long-username", "long-address"],
)
def test_a_very_long_account_name_is_a_wrong_sign_in_not_a_server_error(typed):
    # Django's sign-in form does not hold the username to a length; the failed attempt is
    # still counted against the lockout (under the name as far as it can be kept).
    response = Client().post("/support/login/password/", {"username": typed, "password": "x"})
    assert response.status_code == 200
    assert "correct" in response.text
    assert typed[:100] in response.text  # what they typed is still in the form
    attempt = AccessAttempt.objects.get()
    assert typed.startswith(attempt.username) and len(attempt.username) == 255


def test_a_reply_sent_after_the_session_ended_comes_back_in_its_box_after_signing_in(ann):
    ann.user.set_password(PASSWORD)
    ann.user.save()
    ended = Client()  # the session ended while the customer was writing
    sent = ended.post(f"/support/tickets/{ann.ticket.pk}/reply/", {"text": "It smokes again."})
    back = f"/support/tickets/{ann.ticket.pk}/"
    assert sent["Location"] == f"/support/login/?next={back}"
    assert Message.objects.filter(ticket=ann.ticket).count() == 1  # nothing sent yet

    signed_in = ended.post(
        "/support/login/password/", {"username": "ann", "password": PASSWORD, "next": back}
    )
    assert signed_in["Location"] == back  # the thread, not the reply's address (405)
    page = ended.get(back)
    assert page.status_code == 200
    assert ">It smokes again.</textarea>" in page.text
    assert "was not sent" in page.text
    assert ">It smokes again.</textarea>" not in ended.get(back).text  # offered once


def test_other_actions_sent_after_the_session_ended_lead_back_to_their_ticket(ann, bob):
    for action in ("close", "reopen", "rate"):
        sent = Client().post(f"/support/tickets/{ann.ticket.pk}/{action}/", {"rating": "5"})
        assert sent["Location"] == f"/support/login/?next=/support/tickets/{ann.ticket.pk}/"
    # Whoever signs in then, only the ticket's customer is given back its text.
    Client().post(f"/support/tickets/{ann.ticket.pk}/reply/", {"text": "Ann's words"})
    ended = Client()
    ended.post(f"/support/tickets/{ann.ticket.pk}/reply/", {"text": "Ann's words"})
    ended.force_login(bob.user)
    assert ended.get(f"/support/tickets/{ann.ticket.pk}/").status_code == 404
    assert "Ann&#x27;s words" not in ended.get(f"/support/tickets/{bob.ticket.pk}/").text
