"""The security log admins read: every sign-in door's successes, failures and lockouts,
sign-outs, and API tokens made and removed."""

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from tests.factories import PASSWORD, AdminFactory, AgentFactory
from tickets.models import SecurityEvent

pytestmark = pytest.mark.django_db


def sign_in(door: str, username: str, password: str, address: str = "203.0.113.9") -> Client:
    client = Client(REMOTE_ADDR=address, HTTP_USER_AGENT="Probe/1.0")
    field = "username" if door.startswith("/support/") else "login"
    client.post(door, {field: username, "password": password})
    return client


def events() -> list[tuple[str, str, bool, str | None, str]]:
    return [
        (e.kind, e.username, e.staff, e.address, e.path)
        for e in SecurityEvent.objects.order_by("at", "id")
    ]


def test_sign_ins_failures_and_lockouts_at_every_door(settings):
    AgentFactory(username="agent1", tiers=[1])
    AdminFactory(username="boss")

    sign_in("/accounts/login/", "agent1", PASSWORD)
    sign_in("/accounts/login/", "boss", "wrong", address="198.51.100.4")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in("/support/login/password/", "nobody", "guess", address="192.0.2.5")

    log = events()
    assert log[0] == ("signed_in", "agent1", True, "203.0.113.9", "/accounts/login/")
    assert log[1] == ("sign_in_failed", "boss", True, "198.51.100.4", "/accounts/login/")
    assert (
        log.count(("sign_in_failed", "nobody", False, "192.0.2.5", "/support/login/password/")) == 5
    )
    assert ("locked_out", "nobody", False, "192.0.2.5", "/support/login/password/") in log
    assert SecurityEvent.objects.filter(user_agent="Probe/1.0").count() == len(log)


def test_sign_out_and_tokens_are_logged():
    agent = AgentFactory(username="agent1", tiers=[1])
    client = sign_in("/accounts/login/", "agent1", PASSWORD)
    client.post("/accounts/logout/")
    token = Token.objects.create(user=agent)
    token.delete()

    assert [kind for kind, *_ in events()] == [
        "signed_in", "signed_out", "token_created", "token_deleted",
    ]  # fmt: skip


def test_admins_read_the_log_and_nobody_edits_it(client):
    AgentFactory(username="agent1", tiers=[1])
    sign_in("/accounts/login/", "agent1", "wrong")
    event = SecurityEvent.objects.get()

    client.force_login(AdminFactory(username="boss"))
    listing = client.get("/admin/tickets/securityevent/")
    assert listing.status_code == 200 and "agent1" in listing.text
    assert client.post(f"/admin/tickets/securityevent/{event.pk}/delete/").status_code == 403

    client.force_login(AgentFactory(username="agent2", tiers=[1]))
    assert client.get("/admin/tickets/securityevent/").status_code == 403
