"""The domain's refusals in the reader's language: a German customer whose portal reply or
rating is refused, a German agent whose action is refused and an API client asking in
German read German (the API's `code` stays the same); English stays as it was. What the
desk keeps (a rule's failure on the ticket) stays in the default language."""

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone, translation
from rest_framework.test import APIClient

from tests.agent_settings.conftest import settings_form
from tests.factories import AgentFactory, UserFactory
from tickets import services
from tickets.automation.manage import trigger_save
from tickets.models import EventKind, Ticket

pytestmark = pytest.mark.django_db

GERMAN = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9,en;q=0.5"}
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}


def _portal_client(ticket: Ticket, language: str) -> Client:
    """The ticket's customer, signed in to the portal, with `language` kept on them."""
    customer = ticket.customer
    customer.user = UserFactory(username=f"kunde-{language}")
    customer.language = language
    customer.save(update_fields=["user", "language"])
    client = Client()
    client.force_login(customer.user)
    return client


def _resolve(ticket: Ticket, agent: Any) -> None:
    services.ticket_reply(ticket=ticket, actor=agent, text="Bitte neu starten.")
    services.ticket_resolve(ticket=Ticket.objects.get(pk=ticket.pk), actor=agent)


def _resolved_long_ago(ticket: Ticket, agent: Any, settings: Any) -> Any:
    """Resolve the ticket; the time just after the reopening window, to travel to."""
    settings.HELPDESK_REOPEN_DAYS = 7
    resolved_at = timezone.now()
    with time_machine.travel(resolved_at, tick=False):
        _resolve(ticket, agent)
    return resolved_at + timedelta(days=7, minutes=1)


@pytest.mark.parametrize(
    ("language", "said"),
    [
        (
            "de",
            "{ref} wurde vor mehr als 7 Tagen gelöst und kann nicht wieder geöffnet werden; "
            "schreiben Sie uns, und wir eröffnen eine Folgeanfrage.",
        ),
        (
            "",
            "{ref} was resolved more than 7 days ago, so it cannot be reopened; write to us "
            "and we open a follow-up request.",
        ),
    ],
)
def test_a_refused_portal_reopening_is_said_in_the_customers_language(
    open_ticket, agent, settings, language, said
):
    ticket = open_ticket(sender="jutta@example.de")
    later = _resolved_long_ago(ticket, agent, settings)
    client = _portal_client(ticket, language)
    with time_machine.travel(later, tick=False):
        page = client.post(f"/support/tickets/{ticket.pk}/reopen/", follow=True, **ENGLISH)
    assert said.format(ref=ticket.reference) in page.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == "resolved"


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("de", "{ref} kann bewertet werden, sobald die Anfrage gelöst ist."),
        ("", "{ref} can be rated once it is resolved."),
    ],
)
def test_a_refused_rating_is_said_in_the_customers_language(open_ticket, language, said):
    ticket = open_ticket(sender="jutta@example.de")
    client = _portal_client(ticket, language)
    page = client.post(f"/support/tickets/{ticket.pk}/rate/", {"rating": "5"}, **ENGLISH)
    assert page.status_code == 409
    assert said.format(ref=ticket.reference) in page.content.decode()
    assert not ticket.events.filter(kind=EventKind.RATED).exists()


def _agent_client(agent: Any, language: str) -> Client:
    client = Client()
    client.force_login(agent)
    client.post("/agent/settings/", settings_form(language=language))
    return client


def _flash(client: Client, path: str, data: dict[str, Any]) -> str:
    return client.post(path, data, follow=True, **ENGLISH).content.decode()


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("de", "{ref} kann nicht von „Geschlossen“ zu „Offen“ wechseln."),
        ("en", "{ref} cannot go from closed to open."),
    ],
)
def test_a_status_change_the_workflow_refuses_is_said_in_the_agents_language(
    open_ticket, agent, language, said
):
    ticket = open_ticket(tier_level=1)
    services.ticket_close(ticket=ticket, actor=agent)
    client = _agent_client(agent, language)
    page = _flash(
        client, f"/agent/tickets/{ticket.pk}/change/", {"field": "status", "value": "open"}
    )
    assert said.format(ref=ticket.reference) in page
    assert Ticket.objects.get(pk=ticket.pk).status == "closed"


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("de", "dürfen es in eine andere Ebene verschieben: {ref} liegt nicht in Ihren Ebenen."),
        ("en", "may move it to another tier: {ref} is not in your tiers."),
    ],
)
def test_a_tier_move_the_policy_refuses_is_said_in_the_agents_language(open_ticket, language, said):
    ticket = open_ticket(tier_level=2)
    client = _agent_client(AgentFactory(username="tier1", tiers=[1]), language)
    move = {"tier": "3", "reason": "Braucht Experten", "handoff_note": "Logs anbei."}
    page = _flash(client, f"/agent/tickets/{ticket.pk}/tier/", move)
    assert said.format(ref=ticket.reference) in page
    assert Ticket.objects.get(pk=ticket.pk).tier.level == 2


@pytest.mark.parametrize(
    ("headers", "said"),
    [
        (GERMAN, "{ref} kann nicht von „Geschlossen“ zu „Offen“ wechseln."),
        (ENGLISH, "{ref} cannot go from closed to open."),
        ({}, "{ref} cannot go from closed to open."),
    ],
)
def test_the_api_says_a_refusal_in_the_requested_language_with_the_same_code(
    agent_api: APIClient, open_ticket, headers, said
):
    ticket = open_ticket()
    services.ticket_close(ticket=ticket, actor=None)
    response = agent_api.patch(
        f"/api/v1/tickets/{ticket.pk}/", {"status": "open"}, format="json", **headers
    )
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "invalid_transition",
        "message": said.format(ref=ticket.reference),
    }


def test_a_rules_failure_kept_on_the_ticket_stays_in_the_default_language(
    open_ticket, agent, celery_eager, django_capture_on_commit_callbacks
):
    # A German agent's change fires a rule that cannot act: what the ticket's history
    # keeps is written in the default language, as all of it is. (With eager tasks the
    # rules run right after the request's commit, the agent's language still active.)
    trigger_save(
        trigger=None,
        name="Broken",
        events=["ticket.priority_changed"],
        conditions=None,
        actions=[{"type": "assign", "value": 99999}],
        actor=None,
    )
    ticket = open_ticket(tier_level=1)
    client = _agent_client(agent, "de")
    with django_capture_on_commit_callbacks() as after_commit:
        page = _flash(
            client, f"/agent/tickets/{ticket.pk}/change/", {"field": "priority", "value": "high"}
        )
    assert "Gespeichert." in page
    with translation.override("de"):
        for callback in after_commit:
            callback()
    [failed] = ticket.events.filter(kind=EventKind.RULE_FAILED)
    assert failed.data["error"] == "There is no active user 99999."
