"""How long a personal API token lives, through the API: it stops at once when its owner's
account is deactivated (and is revoked then, so turning the account back on does not bring
a key that may have leaked back to life); it outlives its owner's password change, as in
most help desks (the integrations a person runs keep working; deleting the token in Admin >
API tokens is how one is revoked), while the person's other browser sessions end."""

from typing import Any

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.conftest import browser
from tests.factories import AgentFactory
from tickets.models import SecurityEvent, SecurityEventKind

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner() -> Any:
    return AgentFactory(username="bob", email="bob@example.com", tiers=[1])


def with_token(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def set_active(admin: Client, user: Any, *, active: bool) -> None:
    """What an admin does on the person's page in the Django admin (Users > bob)."""
    page = f"/admin/auth/user/{user.pk}/change/"
    form = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_staff": "on",
        "groups": [g.pk for g in user.groups.all()],
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
    }
    if active:
        form["is_active"] = "on"
    answer = admin.post(page, form)
    assert answer.status_code == 302, answer.content.decode()[:2000]


def test_deactivating_the_owner_stops_the_token_at_once_and_revokes_it(owner, admin_user):
    key = Token.objects.create(user=owner).key
    api = with_token(key)
    assert api.get("/api/v1/tickets/").status_code == 200
    admin = browser(admin_user)

    set_active(admin, owner, active=False)

    refused = api.get("/api/v1/tickets/")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "authentication_failed"
    assert not Token.objects.filter(user=owner).exists()
    assert SecurityEvent.objects.filter(kind=SecurityEventKind.TOKEN_DELETED, user=owner).exists()

    # Back on: the old key stays dead; an admin gives a new one if it is wanted.
    set_active(admin, owner, active=True)
    assert api.get("/api/v1/tickets/").status_code == 401


def test_saving_an_active_owner_keeps_the_token(owner, admin_user):
    key = Token.objects.create(user=owner).key
    set_active(browser(admin_user), owner, active=True)
    assert with_token(key).get("/api/v1/tickets/").status_code == 200


def test_a_password_change_keeps_the_token_and_ends_other_sessions(owner, admin_user):
    key = Token.objects.create(user=owner).key
    elsewhere = browser(owner)  # signed in on another computer
    assert elsewhere.get("/api/v1/tickets/").status_code == 200

    # An admin sets a new password on the person's page (Users > bob > password).
    answer = browser(admin_user).post(
        f"/admin/auth/user/{owner.pk}/password/",
        {
            "password1": "a new long passphrase 2",
            "password2": "a new long passphrase 2",
            "usable_password": "true",
        },
    )
    assert answer.status_code == 302

    assert with_token(key).get("/api/v1/tickets/").status_code == 200
    assert elsewhere.get("/api/v1/tickets/").status_code in (401, 403)  # signed out
