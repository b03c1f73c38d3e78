"""What the desk writes to agents, in each agent's language (My settings; none chosen: the
desk's default): their notifications in the workspace and by email, and the weekly summary.
Two agents told the same news each read it in their own language."""

from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.test import Client

from tests.agent_settings.conftest import settings_form
from tests.factories import AgentFactory, LeadFactory
from tickets.models import AgentProfile, Notification, TicketStatus

pytestmark = pytest.mark.django_db

ENGLISH_BROWSER = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}


def _signed_in(user: Any, language: str, **choices: Any) -> Client:
    """`user` signed in, with `language` (and any other choices) saved in My settings."""
    client = Client()
    client.force_login(user)
    response = client.post("/agent/settings/", settings_form(language=language, **choices))
    assert response.status_code == 302
    return client


def test_an_escalation_is_told_and_mailed_to_each_agent_in_their_language(
    agent, open_ticket, celery_eager, django_capture_on_commit_callbacks
):
    jonas = AgentFactory(username="jonas", email="jonas@example.de", tiers=[2])
    grace = AgentFactory(username="grace", email="grace@example.com", tiers=[2])
    _signed_in(jonas, "de", email_notifications="on")
    _signed_in(grace, "", email_notifications="on")  # none chosen: the desk's default
    ticket = open_ticket(tier_level=1)
    move = {"tier": "2", "reason": "Needs a technician", "handoff_note": "Rebooted twice."}
    with django_capture_on_commit_callbacks(execute=True):
        response = _signed_in(agent, "en").post(
            f"/agent/tickets/{ticket.pk}/tier/", move, **ENGLISH_BROWSER
        )
    assert response.status_code == 302

    german = f"{ticket.reference} wurde an Ebene 2 (Technical) eskaliert: Needs a technician"
    english = f"{ticket.reference} was escalated to tier 2 (Technical): Needs a technician"
    assert Notification.objects.get(user=jonas, kind="escalated").text == german
    assert Notification.objects.get(user=grace, kind="escalated").text == english
    by_address = {sent.to[0]: sent for sent in mail.outbox}
    assert by_address["jonas@example.de"].subject == german
    assert german in by_address["jonas@example.de"].body
    assert by_address["grace@example.com"].subject == english
    page = Client()
    page.force_login(jonas)
    assert german in page.get("/agent/notifications/").content.decode()


def test_a_follower_reads_a_status_change_in_their_language(
    agent, open_ticket, django_capture_on_commit_callbacks
):
    ticket = open_ticket(tier_level=1)
    jonas = AgentFactory(username="jonas", tiers=[1])
    grace = AgentFactory(username="grace", tiers=[1])
    for follower, language in ((jonas, "de"), (grace, "en")):
        client = _signed_in(follower, language)
        assert (
            client.post(f"/agent/tickets/{ticket.pk}/follow/", {"follow": "1"}).status_code == 302
        )
    with django_capture_on_commit_callbacks(execute=True):
        _signed_in(agent, "en").post(
            f"/agent/tickets/{ticket.pk}/change/",
            {"field": "status", "value": TicketStatus.ON_HOLD},
            **ENGLISH_BROWSER,
        )
    assert Notification.objects.get(user=jonas).text == (
        f"{ticket.reference}: Status zu „Zurückgestellt“ geändert"
    )
    assert Notification.objects.get(user=grace).text == (
        f"{ticket.reference}: status changed to on hold"
    )


def test_the_weekly_summary_is_mailed_in_each_readers_language(celery_eager):
    from tickets.tasks import mail_weekly_reports

    readers = {"de": LeadFactory(username="lena", tiers=[1]), "": LeadFactory(username="lou")}
    for language, lead in readers.items():
        AgentProfile.objects.filter(user=lead).update(language=language)
        client = Client()
        client.force_login(lead)
        assert client.post("/agent/reports/weekly/", {"subscribe": "1"}).status_code == 302
    # Monday 19 January 2026: the week of 12 to 18 January.
    with time_machine.travel(datetime(2026, 1, 19, 7, 0, tzinfo=UTC), tick=False):
        assert mail_weekly_reports.delay().get() == 2

    by_address = {sent.to[0]: sent for sent in mail.outbox}
    german = by_address[readers["de"].email]
    assert german.subject == "Helpdesk: die Woche vom 12. Januar 2026"
    assert german.body.startswith("Der Helpdesk, Montag, 12. Januar bis Sonntag, 18. Januar 2026\n")
    assert "Erstellte Tickets: 0\n" in german.body and "Rückstand jetzt: 0\n" in german.body
    assert "Sie erhalten diese E-Mail, weil Sie sie bestellt haben" in german.body
    html = german.alternatives[0][0]
    assert "Die Berichte, mit den Tickets hinter jeder Zahl</a>" in html
    english = by_address[readers[""].email]
    assert english.subject == "Help desk: the week of 12 January 2026"
    assert english.body.startswith("The help desk, Monday 12 January to Sunday 18 January 2026\n")
    assert "Tickets created: 0\n" in english.body


@pytest.mark.parametrize(
    ("language", "subject", "body"),
    [
        ("de", "Passwort auf", "Diese E-Mail wurde aufgrund einer Anfrage zum Zurücksetzen"),
        ("", "Password reset on", "Please go to the following page and choose a new password"),
    ],
)
def test_a_staff_password_reset_is_mailed_in_the_agents_language(
    agent, celery_eager, language, subject, body
):
    AgentProfile.objects.filter(user=agent).update(language=language)
    Client().post("/accounts/password_reset/", {"email": agent.email}, **ENGLISH_BROWSER)
    [message] = mail.outbox
    assert message.subject.startswith(subject) and body in message.body
