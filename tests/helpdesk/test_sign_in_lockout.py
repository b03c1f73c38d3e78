"""Guessing passwords: every password door (the staff's, which the admin's leads to, and
the portal's) locks an account, and a client address, after
HELPDESK_SIGN_IN_FAILURES wrong passwords (django-axes), until the lockout ends or an
admin releases it."""

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from tests.factories import PASSWORD, AdminFactory, AgentFactory, UserFactory
from tickets.models import Customer

pytestmark = pytest.mark.django_db

WORKSPACE, ADMIN, PORTAL = "/accounts/login/", "/admin/login/", "/support/login/password/"


def attempt(
    door: str, username: str, password: str, address: str = "203.0.113.7"
) -> tuple[int, bool]:
    """(status, signed in) of one sign-in at `door` from `address`."""
    client = Client(REMOTE_ADDR=address)
    field = "username" if door == PORTAL else "login"  # allauth's form names it "login"
    response = client.post(door, {field: username, "password": password})
    return response.status_code, "_auth_user_id" in client.session


@pytest.fixture
def accounts():
    agent = AgentFactory(username="agent1", tiers=[1])
    admin = AdminFactory(username="boss")
    customer_user = UserFactory(username="ann")
    Customer.objects.create(name="Ann", user=customer_user)
    return {WORKSPACE: agent.username, "admin": admin.username, PORTAL: customer_user.username}


def test_the_admin_signs_in_at_the_staff_door(client):
    # One staff door, where the second factor is asked: the admin's own form is not served.
    response = client.get(ADMIN, {"next": "/admin/tickets/"})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/admin/tickets/"


@pytest.mark.parametrize("door", [WORKSPACE, PORTAL])
def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(door, accounts, settings):
    username = accounts[door]
    for number in range(settings.AXES_FAILURE_LIMIT):
        # From a new address each time: the account itself is what gets locked.
        status, signed_in = attempt(door, username, "wrong", address=f"198.51.100.{number}")
        assert not signed_in

    status, signed_in = attempt(door, username, PASSWORD, address="192.0.2.99")

    assert (status, signed_in) == (429, False)


def test_one_address_guessing_many_accounts_is_locked_out(accounts, settings):
    for number in range(settings.AXES_FAILURE_LIMIT):
        attempt(WORKSPACE, f"guess{number}", "wrong")

    assert attempt(WORKSPACE, "agent1", PASSWORD) == (429, False)  # from that address
    assert attempt(WORKSPACE, "agent1", PASSWORD, address="192.0.2.1")[1]  # from another


def test_the_lockout_ends_by_itself(accounts, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(WORKSPACE, "agent1", "wrong")
    assert attempt(WORKSPACE, "agent1", PASSWORD)[0] == 429

    later = timezone.now() + settings.AXES_COOLOFF_TIME + timedelta(seconds=1)
    with time_machine.travel(later):
        assert attempt(WORKSPACE, "agent1", PASSWORD)[1]


def test_an_admin_releases_it(accounts, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(WORKSPACE, "agent1", "wrong")

    call_command("axes_reset_username", "agent1", stdout=StringIO())

    assert attempt(WORKSPACE, "agent1", PASSWORD, address="192.0.2.2")[1]


def test_a_success_clears_the_count(accounts, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(WORKSPACE, "agent1", "wrong")
    assert attempt(WORKSPACE, "agent1", PASSWORD)[1]

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(WORKSPACE, "agent1", "wrong")

    assert attempt(WORKSPACE, "agent1", PASSWORD)[1]


def test_the_locked_page_says_what_happened(accounts, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(WORKSPACE, "agent1", "wrong")

    page = Client(REMOTE_ADDR="203.0.113.7").post(
        WORKSPACE, {"login": "agent1", "password": PASSWORD}
    )

    assert page.status_code == 429
    assert "Too many sign-in attempts" in page.text
    assert "choose a new password" in page.text
