"""Rules for an admin or lead who reads German (My settings): a rule refused when saved in
the browser is said in German, each refusal a whole sentence; English stays as it was, and
nothing is saved either way."""

from typing import Any

import pytest
from django.test import Client
from django.utils.html import escape

from tests.agent_settings.conftest import settings_form
from tickets.models import AgentProfile, Automation, Trigger

pytestmark = pytest.mark.django_db

# The browser asks for English: the agent's own language (My settings) decides.
ENGLISH_BROWSER = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}


def _client(user: Any, language: str) -> Client:
    """`user` signed in, with `language` chosen in My settings (an admin who works tickets
    has an agent profile, and so settings of their own)."""
    AgentProfile.objects.get_or_create(user=user)
    client = Client()
    client.force_login(user)
    client.post("/agent/settings/", settings_form(language=language))
    return client


def _trigger(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "save": "1",
        "name": "Störungen",
        "active": "on",
        "events": ["ticket.created"],
        "cond_group": ["all"],
        "cond_field": ["subject"],
        "cond_op": ["contains"],
        "cond_value": ["Störung"],
        "act_type": ["set_priority"],
        "act_value": ["urgent"],
        "act_details": [""],
    }
    data.update(overrides)
    return data


GERMAN_REFUSALS = [
    (
        {"cond_field": ["priority"], "cond_op": ["contains"]},
        "Bedingung 1 in „alle“: Das Feld „Priorität“ wird mit is, is_not, in, not_in, "
        "above, below geprüft, nicht mit 'contains'.",
    ),
    (
        {"cond_group": ["any"], "cond_field": ["tier"], "cond_op": ["is"], "cond_value": ["zwei"]},
        "Bedingung 1 in „eine“: Das Feld „Ebene“ braucht eine ganze Zahl, nicht 'zwei'.",
    ),
    (
        {"cond_field": ["status"], "cond_op": ["is"], "cond_value": ["kaputt"]},
        "Bedingung 1 in „alle“: Das Feld „Status“ hat einen dieser Werte: new, open, "
        "pending_customer, on_hold, resolved, closed.",
    ),
    (
        {"act_value": ["enorm"]},
        "Aktion 1: Die Priorität ist eine von low, normal, high, urgent.",
    ),
    (
        {"act_type": ["set_tier"], "act_value": ["2"], "act_details": [""]},
        "Aktion 1: Schreiben Sie eine Übergabenotiz.",
    ),
    ({"act_type": [""], "act_value": [""]}, "Eine Regel braucht mindestens eine Aktion."),
    ({"events": []}, "Wählen Sie mindestens ein Ereignis."),
    ({"name": "Stö\x00rungen"}, "Der Name enthält ein NUL-Zeichen; entfernen Sie es."),
]


def _refused(client: Client, url: str, data: dict[str, Any], said: str, model: Any) -> None:
    """The rule form sent to `url` comes back refused, saying `said`; nothing is saved."""
    response = client.post(url, data, **ENGLISH_BROWSER)
    assert response.status_code == 400
    assert escape(said) in response.content.decode()
    assert not model.objects.exists()


@pytest.mark.parametrize(("wrong", "said"), GERMAN_REFUSALS)
def test_a_refused_trigger_is_said_in_german_to_an_admin_who_reads_german(admin_user, wrong, said):
    _refused(
        _client(admin_user, "de"), "/agent/rules/triggers/new/", _trigger(**wrong), said, Trigger
    )


def test_the_same_refusal_stays_english_for_an_admin_who_reads_english(admin_user):
    said = (
        'Condition 1 of "all": Priority takes is, is_not, in, not_in, above, below, '
        "not 'contains'."
    )
    _refused(
        _client(admin_user, "en"),
        "/agent/rules/triggers/new/",
        _trigger(cond_field=["priority"], cond_op=["contains"]),
        said,
        Trigger,
    )


def test_a_refused_automation_is_said_in_german_to_a_lead_who_reads_german(lead):
    automation = {
        "save": "1", "name": "Erinnerung", "active": "on", "since": "created",
        "hours": "24", "cond_group": ["all"], "cond_field": ["rating"],
        "cond_op": ["above"], "cond_value": ["viele"], "act_type": ["add_note"],
        "act_value": ["Nachfassen"], "act_details": [""],
    }  # fmt: skip
    said = (
        "Bedingung 1 in „alle“: Das Feld „Bewertung (1-5)“ braucht eine ganze Zahl, nicht 'viele'."
    )
    _refused(_client(lead, "de"), "/agent/rules/automations/new/", automation, said, Automation)


def test_the_rule_form_names_fields_events_and_actions_in_german(admin_user):
    page = _client(admin_user, "de").get("/agent/rules/triggers/new/").content.decode()
    assert "Priorität vor der Änderung" in page  # a condition's field
    assert "Ticket erstellt" in page  # an event
    assert "Dem Kunden eine Nachricht senden" in page  # an action
