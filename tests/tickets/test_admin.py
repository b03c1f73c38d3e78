"""The Django admin: agents see and work tickets there; customers cannot get in."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.conftest import sign_in
from tickets.models import EventKind, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())


def test_demo_agent_signs_in_and_sees_the_demo_tickets(client, demo):
    assert sign_in(client, "alice", "demo")
    response = client.get("/admin/tickets/ticket/")
    assert response.status_code == 200
    page = response.content.decode()
    for ticket in Ticket.objects.all():
        assert ticket.subject in page


def test_ticket_page_shows_messages_and_history(client, demo):
    sign_in(client, "alice", "demo")
    ticket = Ticket.objects.get(subject="Cannot log in after password reset")
    page = client.get(f"/admin/tickets/ticket/{ticket.pk}/change/").content.decode()
    assert "account is locked" in page  # the customer's message
    assert "I have unlocked the account" in page  # alice's reply


def test_assign_to_me_action_goes_through_the_service(client, demo):
    sign_in(client, "bob", "demo")
    ticket = Ticket.objects.get(subject="How do I add a second user?")
    response = client.post(
        "/admin/tickets/ticket/",
        {"action": "assign_to_me", "_selected_action": [ticket.pk]},
        follow=True,
    )
    assert response.status_code == 200
    ticket.refresh_from_db()
    assert ticket.assignee.username == "bob"
    assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.ASSIGNED).exists()


def test_status_cannot_be_edited_around_the_services(client, demo):
    sign_in(client, "admin", "demo")
    ticket = Ticket.objects.get(subject="How do I add a second user?")
    client.post(
        f"/admin/tickets/ticket/{ticket.pk}/change/",
        {
            "subject": "Adding a colleague",
            "status": "closed",
            "messages-TOTAL_FORMS": "0",
            "messages-INITIAL_FORMS": "0",
            "events-TOTAL_FORMS": "0",
            "events-INITIAL_FORMS": "0",
        },
    )
    ticket.refresh_from_db()
    assert ticket.subject == "Adding a colleague"  # the form was accepted ...
    assert ticket.status == "new"  # ... but status is not a form field
    assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.SUBJECT_CHANGED).exists()


def test_customer_account_cannot_enter_the_admin(client, customer_user):
    client.force_login(customer_user)
    response = client.get("/admin/tickets/ticket/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_agent_logs_a_call_from_the_ticket_page(client, demo):
    sign_in(client, "alice", "demo")
    ticket = Ticket.objects.get(subject="How do I add a second user?")
    page = client.get(f"/admin/tickets/ticket/{ticket.pk}/change/").content.decode()
    assert f"/admin/tickets/ticket/{ticket.pk}/log-call/" in page

    response = client.post(
        f"/admin/tickets/ticket/{ticket.pk}/log-call/",
        {
            "phone_number": "+33 1 23 45 67 89",
            "direction": "outbound",
            "duration_seconds": "95",
            "notes": "Explained how to invite a colleague.",
        },
    )
    assert response.status_code == 302
    assert ticket.messages.filter(channel="phone", call__duration_seconds=95).exists()

    refused = client.post(
        f"/admin/tickets/ticket/{ticket.pk}/log-call/",
        {"phone_number": "nope", "direction": "inbound", "duration_seconds": "1", "notes": "x"},
    )
    assert refused.status_code == 200
    assert "is not a phone number" in refused.content.decode()


def test_admins_define_canned_responses_and_agents_cannot(client, admin_user, agent):
    client.force_login(admin_user)
    response = client.post(
        "/admin/tickets/macro/add/",
        {"name": "Ask for logs", "body": "Hi {{ customer.first_name }}", "set_status": "",
         "set_priority": "", "set_tier": "", "is_active": "on", "position": 0},
    )  # fmt: skip
    assert response.status_code == 302
    assert "Ask for logs" in client.get("/admin/tickets/macro/").content.decode()
    client.force_login(agent)
    assert client.get("/admin/tickets/macro/add/").status_code == 403


ADD_AGENT = "/admin/tickets/agentprofile/add/"


def test_an_admin_adds_an_agent_in_one_form_and_they_can_work(client, admin_user):
    from django.contrib.auth.models import User

    from tickets.models import Tier

    client.force_login(admin_user)
    page = client.get(ADD_AGENT).content.decode()
    assert 'name="username"' in page and 'name="tiers"' in page
    assert 'name="user"' not in page  # no raw user id to look up
    tier2 = Tier.objects.get(level=2)
    response = client.post(
        ADD_AGENT,
        {"username": "maya", "first_name": "Maya", "email": "Maya@Example.com",
         "password": "a-long-enough-passphrase-42", "tiers": [tier2.pk], "max_chats": 3,
         "is_available": "on"},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    maya = User.objects.get(username="maya")
    assert maya.is_staff and not maya.is_superuser and maya.email == "maya@example.com"
    assert [g.name for g in maya.groups.all()] == ["Agents"]
    assert list(maya.agent_profile.tiers.all()) == [tier2]

    client.logout()
    assert sign_in(client, "maya", "a-long-enough-passphrase-42")
    assert client.get("/agent/queue/tier-2/").status_code == 200  # not a bare 403


def test_an_agent_added_without_a_password_is_sent_a_link_to_choose_one(
    client, admin_user, django_capture_on_commit_callbacks
):
    from django.core import mail

    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(ADD_AGENT, {"username": "noor", "email": "noor@example.com",
                                "max_chats": 3})  # fmt: skip
    [sent] = mail.outbox
    assert sent.to == ["noor@example.com"] and "/accounts/reset/" in sent.body
    # A taken username is a form error, nothing made.
    response = client.post(ADD_AGENT, {"username": "NOOR", "email": "x@example.com",
                                       "max_chats": 3})  # fmt: skip
    assert response.status_code == 200 and "This username is taken." in response.content.decode()


def test_the_demo_lead_sees_weeks_of_history_in_every_report(client, demo):
    import re

    assert sign_in(client, "carol", "demo")
    since = {"since": (timezone.localdate() - timedelta(days=60)).isoformat()}
    figures = {}
    for name in ("overview", "satisfaction", "tiers", "sla"):
        page = client.get(f"/agent/reports/{name}/", since).content.decode()
        for label, value in re.findall(r"<dt>([^<]+)</dt><dd>(?:<a [^>]+>)?([^<]+)<", page):
            figures[label] = value
    assert int(figures["Created"]) > 100 and int(figures["Solved"]) > 80
    assert figures["CSAT"].endswith("%") and int(figures["Ratings"]) > 20
    assert int(figures["Escalations"]) > 10 and int(figures["Answered by self-service"]) > 0
    assert figures["Attainment"].endswith("%")
