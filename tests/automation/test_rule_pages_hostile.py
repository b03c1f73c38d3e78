"""The rules' pages given what a careless or hostile admin or lead might post: text
PostgreSQL cannot store, names and numbers too long for their columns, numbers that are
not ASCII digits, hours that are not a number, and a lead deleting a webhook. Each is
refused with the form as typed and a message, never a server error."""

from typing import Any

import pytest
from django.core import mail
from django.test import Client

from tests.automation.test_rule_pages import outage_rule
from tests.factories import LeadFactory
from tickets import services
from tickets.automation import dispatch
from tickets.models import Automation, EventKind, Message, Trigger, Webhook

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(admin_user: Any) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ({"name": "Out\x00ages"}, "NUL character"),
        ({"description": "Why\x00"}, "NUL character"),
        ({"name": "x" * 121}, "at most 120 characters"),
        ({"cond_value": ["out\x00age", "web, email", ""]}, "NUL character"),
        ({"act_details": ["", "", "Hand\x00off", ""]}, "NUL character"),
        ({"act_type": ["set_priority", "add_tags", "add_note", ""],
          "act_value": ["urgent", "outage, network", "Out\x00age", ""]}, "NUL character"),
        ({"position": "2147483648"}, "The position is a whole number"),
        ({"position": "first"}, "The position is a whole number"),
        ({"act_value": ["urgent", "outage, network", "²", ""]}, "give a tier level"),
        ({"act_value": ["urgent", "outage, network", "٣", ""]}, "give a tier level"),
        ({"cond_field": ["tier", "channel", ""], "cond_op": ["is", "in", ""],
          "cond_value": ["99999999999999999999", "web", ""]}, "Tier needs a whole number"),
    ],
)  # fmt: skip
def test_a_trigger_that_cannot_be_stored_is_refused_with_what_was_typed(admin_client, typed, said):
    response = admin_client.post("/agent/rules/triggers/new/", outage_rule(**typed))

    assert response.status_code == 400
    page = response.content.decode()
    assert said in page
    assert 'name="cond_field"' in page and ">outage, network</textarea>" in page
    assert not Trigger.objects.exists()


def test_a_position_within_the_column_is_kept(admin_client):
    response = admin_client.post("/agent/rules/triggers/new/", outage_rule(position="2147483647"))

    assert response.status_code == 302
    assert Trigger.objects.get().position == 2147483647


@pytest.mark.parametrize("hours", ["NaN", "sNaN", "-nan"])
def test_an_automation_whose_hours_are_not_a_number_is_refused(admin_client, hours):
    typed = outage_rule(
        name="Remind",
        since="status_changed",
        hours=hours,
        cond_group=["all"],
        cond_field=["status"],
        cond_op=["is"],
        cond_value=["pending_customer"],
    )

    response = admin_client.post("/agent/rules/automations/new/", typed)

    assert response.status_code == 400
    assert "Give the time in hours" in response.content.decode()
    assert f'value="{hours}"' in response.content.decode()
    assert not Automation.objects.exists()


def test_a_webhook_name_too_long_is_refused_with_what_was_typed(admin_client):
    response = admin_client.post(
        "/agent/rules/webhooks/new/",
        {"name": "w" * 121, "url": "https://hooks.example.com/x", "format": "helpdesk"},
    )

    assert response.status_code == 400
    assert "at most 120 characters" in response.content.decode()
    assert 'value="https://hooks.example.com/x"' in response.content.decode()
    assert not Webhook.objects.exists()


def test_a_lead_may_not_delete_a_webhook(db):
    hook = Webhook.objects.create(name="Slack", url="https://hooks.example.com/x")
    lead = Client(raise_request_exception=False)
    lead.force_login(LeadFactory(username="lead"))

    response = lead.post(f"/agent/rules/webhook/{hook.pk}/delete/")

    assert response.status_code == 403
    assert Webhook.objects.filter(pk=hook.pk).exists()


def test_a_rules_texts_fill_their_placeholders_and_a_subject_stays_one_line(
    admin_client,
    open_ticket,
    tier2_agent,
    inbound,
    celery_eager,
    django_capture_on_commit_callbacks,
):
    """The page says every text of an action may use the placeholders: the customer's
    subject, the hand-off note and the internal note too. A subject typed over two lines
    (a header of its own, "Bcc: ...") goes out as one line, rather than failing to send."""
    dispatch.forget_rules_in_use()
    typed = outage_rule(
        name="Thank and hand over",
        events=["ticket.customer_replied"],
        cond_group=[""], cond_field=[""], cond_op=[""], cond_value=[""],
        act_type=["message_customer", "add_note", "set_tier"],
        act_value=["Hello {{ customer.first_name }}", "Wrote again: {{ ticket.subject }}", "2"],
        act_details=[
            "Thanks\r\nBcc: someone@example.com {{ ticket.reference }}", "",
            "{{ customer.name }} wrote again",
        ],
    )  # fmt: skip
    assert admin_client.post("/agent/rules/triggers/new/", typed).status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(sender="ann@example.com", sender_name="Ann Lee", subject="Printer")
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_ingest(
            inbound=inbound(sender="ann@example.com", subject=f"Re: [{ticket.reference}]")
        )

    [thanks] = mail.outbox
    reference = ticket.reference
    assert thanks.subject == f"Thanks Bcc: someone@example.com {reference} [{reference}]"
    assert (thanks.to, thanks.bcc) == (["ann@example.com"], [])
    assert thanks.body.startswith("Hello Ann")
    note = Message.objects.get(ticket=ticket, kind="note")
    assert note.body_text == "Trigger: Thank and hand over: Wrote again: Printer"
    moved = ticket.events.get(kind=EventKind.ESCALATED)
    assert moved.data["handoff_note"] == "Ann Lee wrote again"


@pytest.mark.parametrize("level", ["0", "4"])
def test_a_trigger_moving_tickets_outside_tiers_1_to_3_is_refused(admin_client, level):
    """Tier 0 is where new tickets start (only routing takes them out): a rule putting them
    back would meet routing taking them out again, for ever."""
    typed = outage_rule(act_value=["urgent", "outage, network", level, ""])

    response = admin_client.post("/agent/rules/triggers/new/", typed)

    assert response.status_code == 400
    assert "Action 3: move tickets to tier 1, 2 or 3." in response.content.decode()
    assert not Trigger.objects.exists()


def test_a_stored_rule_moving_a_ticket_to_self_service_cannot_act(
    open_ticket, celery_eager, django_capture_on_commit_callbacks
):
    """As an earlier release let it be saved: the policy refuses the move whoever asks."""
    dispatch.forget_rules_in_use()
    Trigger.objects.create(
        name="Back to self-service",
        events=["ticket.created"],
        actions=[{"type": "set_tier", "value": 0, "note": "Try the articles first."}],
    )
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(tier_level=1)

    ticket.refresh_from_db()
    assert ticket.tier.level == 1
    [failed] = ticket.events.filter(kind=EventKind.RULE_FAILED)
    assert "tiers 1 to 3" in failed.data["error"]


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("http://[::1/hook", "starts with http:// or https:// and names a host"),
        ("http://[zz]/hook", "starts with http:// or https:// and names a host"),
        ("http://hooks example.com/hook", "starts with http:// or https:// and names a host"),
        ("http://hooks.example.com/\x00", "starts with http:// or https:// and names a host"),
        ("http://hooks.example.com/" + "a" * 480, "at most 500 characters"),
    ],
)
def test_a_webhook_address_that_cannot_be_kept_or_called_is_refused(admin_client, url, said):
    """With a private network allowed no name is looked up: the address itself is checked."""
    response = admin_client.post(
        "/agent/rules/webhooks/new/",
        {"name": "Ours", "url": url, "format": "helpdesk", "allow_private_network": "on"},
    )

    assert response.status_code == 400
    assert said in response.content.decode()
    assert not Webhook.objects.exists()
