"""API tokens in the admin (Admin > Tickets > API tokens), the README's way to give a person
their token: its key is shown in full once, on the page that answers its creation; every
other page (the list, its search, the token's page, its history, deleting it, the admin's
recent actions) shows only its first characters."""

from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from rest_framework.authtoken.models import Token

from tests.conftest import browser
from tests.factories import AgentFactory
from tickets.models import SecurityEvent, SecurityEventKind

pytestmark = pytest.mark.django_db

LIST = "/admin/tickets/apitoken/"


@pytest.fixture
def admin(admin_user: Any) -> Client:
    return browser(admin_user)


def test_a_new_token_is_shown_once_then_masked_everywhere(admin: Client) -> None:
    owner = AgentFactory(username="bob", email="bob@example.com", first_name="Bob", tiers=[1])

    created = admin.post(f"{LIST}add/", {"user": owner.pk})

    token = Token.objects.get(user=owner)
    assert created.status_code == 200
    assert token.key in created.content.decode()  # once, to hand to its owner
    assert "no-store" in created["Cache-Control"]
    assert SecurityEvent.objects.filter(kind=SecurityEventKind.TOKEN_CREATED, user=owner).exists()
    masked = f"{token.key[:4]}…"
    pages = {
        "list": admin.get(LIST),
        "search by name": admin.get(LIST, {"q": "Bob"}),
        "search by email": admin.get(LIST, {"q": "bob@example.com"}),
        "change": admin.get(f"{LIST}{owner.pk}/change/"),
        "history": admin.get(f"{LIST}{owner.pk}/history/"),
        "delete": admin.get(f"{LIST}{owner.pk}/delete/"),
        "admin index (recent actions)": admin.get("/admin/"),
    }
    for name, page in pages.items():
        text = page.content.decode()
        assert page.status_code == 200, name
        assert token.key not in text, name
        assert token.key[4:12] not in text, name
    for name in ("list", "search by name", "search by email", "change"):
        assert masked in pages[name].content.decode(), name
    assert LogEntry.objects.get().object_repr == masked


def test_searching_by_someone_else_does_not_list_the_token(admin: Client) -> None:
    owner = AgentFactory(username="bob", tiers=[1])
    token = Token.objects.create(user=owner)
    page = admin.get(LIST, {"q": "carol"}).content.decode()
    assert f"{token.key[:4]}…" not in page
    assert "0 API tokens" in page


def test_the_owner_of_a_token_cannot_be_changed(admin: Client) -> None:
    owner = AgentFactory(username="bob", tiers=[1])
    other = AgentFactory(username="carol", tiers=[1])
    token = Token.objects.create(user=owner)
    admin.post(f"{LIST}{owner.pk}/change/", {"user": other.pk})
    assert Token.objects.get(key=token.key).user == owner


def test_drfs_own_token_pages_are_gone(admin: Client) -> None:
    assert admin.get("/admin/authtoken/tokenproxy/").status_code == 404


def test_agents_cannot_see_tokens(agent: Any) -> None:
    Token.objects.create(user=agent)
    assert browser(agent).get(LIST).status_code in (302, 403)


def test_keys_the_admins_log_kept_in_full_are_masked_by_the_migration(admin_user: Any) -> None:
    from importlib import import_module

    from django.apps import apps
    from django.contrib.admin.models import ADDITION
    from django.contrib.contenttypes.models import ContentType
    from rest_framework.authtoken.models import TokenProxy

    migration = import_module("tickets.migrations.0043_api_token_masked")
    key = "0123456789abcdef0123456789abcdef01234567"
    kept = LogEntry.objects.create(
        user=admin_user,
        content_type=ContentType.objects.get_for_model(TokenProxy, for_concrete_model=False),
        object_id="1",
        object_repr=key,
        action_flag=ADDITION,
    )
    other = LogEntry.objects.create(
        user=admin_user,
        content_type=ContentType.objects.get_for_model(SecurityEvent),
        object_id="1",
        object_repr=key,
        action_flag=ADDITION,
    )
    migration.mask_logged_keys(apps, None)
    kept.refresh_from_db()
    other.refresh_from_db()
    assert (kept.object_repr, other.object_repr) == ("0123…", key)
