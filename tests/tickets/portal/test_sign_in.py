"""Signing in to the portal: a one-time emailed link (no password), a password, signing out."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.utils import timezone

from tests.factories import PASSWORD, AgentFactory, UserFactory
from tickets.models import Customer

pytestmark = pytest.mark.django_db

SENT_PAGE = "/support/login/sent/"


def request_link(client: Client, email: str, capture, **extra) -> object:
    with capture(execute=True):
        return client.post("/support/login/", {"email": email, **extra})


def link_in(message) -> str:
    return urlsplit(re.search(r"https?://\S+/support/login/\S+/", message.body).group(0)).path


@pytest.fixture(autouse=True)
def _worker_sends(celery_eager):
    """The look-up and the mail happen in a task: run it as a worker would."""
    return celery_eager


@pytest.fixture
def new_customer(open_ticket):
    """A customer who wrote to us but never signed in: no portal account yet."""
    return open_ticket(sender="cleo@example.com", subject="Where is my invoice?").customer


def test_link_signs_in_once_and_creates_the_account(
    client, new_customer, django_capture_on_commit_callbacks
):
    response = request_link(client, "Cleo@Example.com", django_capture_on_commit_callbacks)
    assert response.status_code == 302 and response["Location"] == SENT_PAGE
    [message] = mail.outbox
    assert message.to == ["cleo@example.com"]
    assert "30 minutes" in message.body
    link = link_in(message)
    [(html, _type)] = message.alternatives
    assert re.search(rf'<a href="https?://[^"]+{re.escape(link)}"', html)  # a link, not text

    # Opening the link (or a mail scanner fetching it) does not sign in or spend it.
    page = client.get(link)
    assert page.status_code == 200 and "Continue to see your support requests" in page.text
    assert client.head(link).status_code == 200  # a scanner asking HEAD neither
    assert client.get("/support/tickets/").status_code == 302
    new_customer.refresh_from_db()
    assert new_customer.user is None

    signed_in = client.post(link)
    assert signed_in.status_code == 302 and signed_in["Location"] == "/support/tickets/"
    new_customer.refresh_from_db()
    user = new_customer.user
    assert user is not None and not user.has_usable_password()
    assert not user.is_staff and user.email == "cleo@example.com"
    listing = client.get("/support/tickets/")
    assert listing.status_code == 200 and "Where is my invoice?" in listing.text

    # The same link never works again, in this browser or another.
    other = Client()
    again = other.post(link)
    assert again.status_code == 400 and "does not work any more" in again.text
    assert other.get(link).status_code == 400
    assert User.objects.filter(customer=new_customer).count() == 1


def test_link_expires_after_30_minutes(client, new_customer, django_capture_on_commit_callbacks):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        request_link(client, "cleo@example.com", django_capture_on_commit_callbacks)
    link = link_in(mail.outbox[0])
    with time_machine.travel(start + timedelta(minutes=31), tick=False):
        response = client.post(link)
    assert response.status_code == 400
    new_customer.refresh_from_db()
    assert new_customer.user is None
    with time_machine.travel(start + timedelta(minutes=29), tick=False):
        assert client.post(link).status_code == 302


def test_a_used_link_outdates_the_older_ones_too(
    client, new_customer, django_capture_on_commit_callbacks
):
    request_link(client, "cleo@example.com", django_capture_on_commit_callbacks)
    request_link(client, "cleo@example.com", django_capture_on_commit_callbacks)
    first, second = (link_in(m) for m in mail.outbox)
    assert Client().post(second).status_code == 302
    assert Client().post(first).status_code == 400


def test_returning_customer_gets_their_existing_account(
    client, ann, django_capture_on_commit_callbacks
):
    request_link(client, "ann@example.com", django_capture_on_commit_callbacks)
    assert client.post(link_in(mail.outbox[0])).status_code == 302
    assert client.get("/support/tickets/").context["user"] == ann.user
    assert User.objects.filter(customer__isnull=False).count() == 1


def test_unknown_address_shows_the_same_page_and_sends_nothing(
    client, new_customer, django_capture_on_commit_callbacks
):
    known = request_link(client, "cleo@example.com", django_capture_on_commit_callbacks)
    unknown = request_link(Client(), "nobody@example.com", django_capture_on_commit_callbacks)
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == SENT_PAGE
    assert len(mail.outbox) == 1  # only the known customer's
    # The same page (each page's forms carry a CSRF token of their own, the language
    # switcher's included).
    assert _without_tokens(Client().get(SENT_PAGE).text) == _without_tokens(
        client.get(SENT_PAGE).text
    )
    assert not User.objects.filter(email="nobody@example.com").exists()


def test_the_request_itself_looks_nothing_up_and_sends_nothing(
    client, new_customer, _worker_sends, django_capture_on_commit_callbacks
):
    """Known and unknown addresses take the same path in the request (no timing tells them
    apart): the look-up and the mail are a task for the notify queue."""
    from tickets.tasks import send_sign_in_link

    _worker_sends.conf.task_always_eager = False  # the task waits in the broker
    known = client.post("/support/login/", {"email": "cleo@example.com"})
    unknown = Client().post("/support/login/", {"email": "nobody@example.com"})

    assert known.status_code == unknown.status_code == 302
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        assert send_sign_in_link.apply(args=["cleo@example.com"]).get() is True
        assert send_sign_in_link.apply(args=["nobody@example.com"]).get() is False
    assert len(mail.outbox) == 1


def test_invalid_address_is_an_error_on_the_form(client, django_capture_on_commit_callbacks):
    response = request_link(client, "not an address", django_capture_on_commit_callbacks)
    assert response.status_code == 400
    assert "Enter a valid email address." in response.text
    assert 'value="not an address"' in response.text
    assert mail.outbox == []


def test_staff_cannot_sign_in_through_the_customer_door(
    client, open_ticket, django_capture_on_commit_callbacks
):
    # An agent's own address is no customer's contact point: nothing is sent.
    AgentFactory(username="alice", email="alice@example.com", tiers=[1])
    request_link(client, "alice@example.com", django_capture_on_commit_callbacks)
    assert mail.outbox == []

    # A customer whose portal account is (or became) staff gets no link, and old links die.
    customer = open_ticket(sender="dora@example.com").customer
    request_link(client, "dora@example.com", django_capture_on_commit_callbacks)
    link = link_in(mail.outbox[0])
    staff = AgentFactory(username="dora", tiers=[1])
    Customer.objects.filter(pk=customer.pk).update(user=staff)
    assert Client().post(link).status_code == 400
    request_link(Client(), "dora@example.com", django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1


def test_requests_are_rate_limited_per_address(
    client, new_customer, django_capture_on_commit_callbacks
):
    for _ in range(3):
        assert (
            request_link(Client(), "cleo@example.com", django_capture_on_commit_callbacks)[
                "Location"
            ]
            == SENT_PAGE
        )
    limited = request_link(Client(), "cleo@example.com", django_capture_on_commit_callbacks)
    assert limited.status_code == 429 and "wait a few minutes" in limited.text
    assert len(mail.outbox) == 3


def test_requests_are_rate_limited_per_client(client, django_capture_on_commit_callbacks):
    for n in range(20):
        request_link(client, f"someone{n}@example.com", django_capture_on_commit_callbacks)
    limited = request_link(client, "cleo@example.com", django_capture_on_commit_callbacks)
    assert limited.status_code == 429


def test_after_signing_in_the_customer_lands_where_they_were_going(
    client, ann, django_capture_on_commit_callbacks
):
    thread = f"/support/tickets/{ann.ticket.pk}/"
    to_login = client.get(thread)
    assert to_login.status_code == 302
    assert to_login["Location"] == f"/support/login/?next=/support/tickets/{ann.ticket.pk}/"
    form = client.get(to_login["Location"])
    assert f'value="{thread}"' in form.text
    request_link(client, "ann@example.com", django_capture_on_commit_callbacks, next=thread)
    assert client.post(link_in(mail.outbox[0]))["Location"] == thread


def test_next_never_leaves_the_portal(client, ann, django_capture_on_commit_callbacks):
    request_link(
        client, "ann@example.com", django_capture_on_commit_callbacks, next="https://evil.example/"
    )
    assert client.post(link_in(mail.outbox[0]))["Location"] == "/support/tickets/"


def test_customer_with_a_password_signs_in_by_address_or_username(client, ann):
    ann.user.set_password(PASSWORD)
    ann.user.save()
    page = client.get("/support/login/password/")
    assert page.status_code == 200 and 'for="id_username"' in page.text
    response = client.post(
        "/support/login/password/", {"username": "ann@example.com", "password": PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == "/support/tickets/"
    assert client.get("/support/tickets/").status_code == 200

    other = Client()
    assert (
        other.post("/support/login/password/", {"username": "ann", "password": PASSWORD})[
            "Location"
        ]
        == "/support/tickets/"
    )
    wrong = Client().post(
        "/support/login/password/", {"username": "ann", "password": "wrong password"}
    )
    assert wrong.status_code == 200 and "correct" in wrong.text


def test_staff_and_non_customers_cannot_use_the_password_door(client, agent):
    # The agent's right password gets the very answer a wrong one gets.
    refused = client.post("/support/login/password/", {"username": "agent1", "password": PASSWORD})
    wrong = Client().post("/support/login/password/", {"username": "agent1", "password": "no"})
    assert refused.status_code == wrong.status_code == 200
    assert _errors(refused) == _errors(wrong) != []
    assert "_auth_user_id" not in client.session

    UserFactory(username="stranger")
    stranger = Client()
    refused = stranger.post(
        "/support/login/password/", {"username": "stranger", "password": PASSWORD}
    )
    assert refused.status_code == 200 and "_auth_user_id" not in stranger.session


def test_sign_out(ann):
    page = ann.client.get("/support/tickets/")
    assert "Sign out" in page.text and "Sign in" not in page.text
    response = ann.client.post("/support/logout/")
    assert response.status_code == 302 and response["Location"] == "/support/login/"
    assert ann.client.get("/support/tickets/").status_code == 302
    assert "Sign in" in ann.client.get("/support/login/").text


def test_signed_in_customer_skips_the_sign_in_form(ann):
    response = ann.client.get("/support/login/")
    assert response.status_code == 302 and response["Location"] == "/support/tickets/"


def _errors(response) -> list[str]:
    return [str(error) for error in response.context["form"].non_field_errors()]


def _without_tokens(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


def test_asking_for_a_link_while_the_broker_is_down_says_so_and_keeps_the_address(
    client, new_customer, celery_eager
):
    from tests.outages import broker_at

    celery_eager.conf.task_always_eager = False  # queued, as in production
    with broker_at("redis://127.0.0.1:1/0"):
        response = client.post("/support/login/", {"email": "cleo@example.com"})
    assert response.status_code == 503
    assert "could not send you a link just now" in response.text
    assert 'value="cleo@example.com"' in response.text
    assert not mail.outbox
