"""The rules in the workspace, as an admin uses them: build a trigger from rows of
conditions and actions, try it on a ticket, see it act on the next ticket from the contact
form; automations and webhooks alike; agents may not."""

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core import mail
from django.test import Client
from django.utils import timezone

from tests.factories import AgentFactory
from tickets import services
from tickets.automation import dispatch
from tickets.automation.tasks import run_automations
from tickets.inbound import InboundMessage
from tickets.models import (
    Automation,
    BusinessCalendar,
    Notification,
    OpeningHours,
    SLAPolicy,
    Ticket,
    Trigger,
    Webhook,
)
from tickets.roles import LEADS_GROUP

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _rules(celery_eager: Any) -> None:
    dispatch.forget_rules_in_use()


@pytest.fixture
def admin_client(admin_user: Any) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def outage_rule(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "save": "1",
        "name": "Outages to tier 2",
        "active": "on",
        "events": ["ticket.created"],
        "cond_group": ["all", "all", "any"],
        "cond_field": ["subject", "channel", ""],
        "cond_op": ["contains", "in", ""],
        "cond_value": ["outage", "web, email", ""],
        "act_type": ["set_priority", "add_tags", "set_tier", ""],
        "act_value": ["urgent", "outage, network", "2", ""],
        "act_details": ["", "", "Customer reports an outage; check the status page.", ""],
    }
    data.update(overrides)
    return data


def contact_form(subject: str) -> dict[str, str]:
    return {
        "name": "Dana Scully",
        "email": "dana@example.org",
        "subject": subject,
        "description": "Nothing loads since this morning.",
        "urgency": "normal",
    }


def test_an_admin_builds_a_trigger_and_it_acts_on_the_next_ticket_from_the_form(
    admin_client, client, tier2_agent, django_capture_on_commit_callbacks
):
    response = admin_client.post("/agent/rules/triggers/new/", outage_rule())
    trigger = Trigger.objects.get()
    assert response.status_code == 302 and response.url == f"/agent/rules/triggers/{trigger.pk}/"
    assert trigger.conditions == {
        "all": [
            {"field": "subject", "op": "contains", "value": "outage"},
            {"field": "channel", "op": "in", "value": ["web", "email"]},
        ],
        "any": [],
    }
    assert trigger.actions[2] == {
        "type": "set_tier",
        "value": 2,
        "note": "Customer reports an outage; check the status page.",
    }
    page = admin_client.get(f"/agent/rules/triggers/{trigger.pk}/").content.decode()
    assert 'value="Outages to tier 2"' in page and ">outage, network</textarea>" in page
    assert "Outages to tier 2" in admin_client.get("/agent/rules/").content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        client.post("/support/new/", contact_form("Network outage in Leeds"))
    ticket = Ticket.objects.get()
    assert (ticket.priority, ticket.tier.level) == ("urgent", 2)
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["network", "outage"]
    history = admin_client.get(f"/agent/tickets/{ticket.pk}/").content.decode()
    assert "Trigger: Outages to tier 2" in history
    assert "Acted: Set priority: urgent; Add tags: outage, network; Move to tier: 2" in history


def test_a_wrong_rule_is_explained_and_nothing_is_saved(admin_client):
    response = admin_client.post(
        "/agent/rules/triggers/new/",
        outage_rule(act_value=["enormous", "outage", "2", ""]),
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Action 1: the priority is one of low, normal, high, urgent." in page
    assert 'value="Outages to tier 2"' in page  # what was typed stays
    assert not Trigger.objects.exists()


def test_more_rows_keeps_what_was_typed(admin_client):
    typed = {key: value for key, value in outage_rule().items() if key != "save"}
    response = admin_client.post("/agent/rules/triggers/new/", {**typed, "more": "1"})
    page = response.content.decode()
    assert page.count('name="cond_field"') == 3 + 4 - 1  # the 2 posted rows and 4 blank
    assert 'value="web, email"' in page
    assert not Trigger.objects.exists()


def test_trying_a_trigger_on_a_ticket_shows_what_it_would_do(admin_client, open_ticket):
    admin_client.post("/agent/rules/triggers/new/", outage_rule())
    trigger = Trigger.objects.get()
    ticket = open_ticket(subject="Outage at HQ")
    page = admin_client.get(
        f"/agent/rules/triggers/{trigger.pk}/", {"try": ticket.reference}
    ).content.decode()
    assert "It would act" in page
    assert "✓ holds: Subject contains outage" in page
    assert "Move to tier: 2" in page
    ticket.refresh_from_db()
    assert ticket.priority == "normal"  # nothing done
    missing = admin_client.get(f"/agent/rules/triggers/{trigger.pk}/", {"try": "HD-999999"})
    assert "There is no ticket HD-999999." in missing.content.decode()


def test_an_admin_builds_an_automation(admin_client):
    response = admin_client.post(
        "/agent/rules/automations/new/",
        {
            "save": "1", "name": "Remind after 3 business days", "active": "on",
            "since": "status_changed", "hours": "24", "business_hours": "on",
            "cond_group": ["all"], "cond_field": ["status"], "cond_op": ["is"],
            "cond_value": ["pending_customer"],
            "act_type": ["message_customer"],
            "act_value": ["Hello {{ customer.first_name }}, do you still need help?"],
            "act_details": ["Still there?"],
        },
    )  # fmt: skip
    automation = Automation.objects.get()
    assert response.url == f"/agent/rules/automations/{automation.pk}/"
    assert (automation.since, automation.hours, automation.business_hours) == (
        "status_changed", 24, True
    )  # fmt: skip
    assert automation.actions == [
        {
            "type": "message_customer",
            "value": "Hello {{ customer.first_name }}, do you still need help?",
            "subject": "Still there?",
        }
    ]
    page = admin_client.get(response.url).content.decode()
    assert 'value="24"' in page and "Still there?" in page


def test_webhooks_refuse_private_addresses_unless_allowed(admin_client):
    form = {"name": "CRM", "url": "http://10.1.2.3/hook", "format": "helpdesk", "active": "on",
            "events": ["ticket.created"]}  # fmt: skip
    refused = admin_client.post("/agent/rules/webhooks/new/", form)
    assert refused.status_code == 400 and not Webhook.objects.exists()
    assert "private" in refused.content.decode()

    saved = admin_client.post("/agent/rules/webhooks/new/", {**form, "allow_private_network": "on"})
    hook = Webhook.objects.get()
    assert saved.url == f"/agent/rules/webhooks/{hook.pk}/"
    page = admin_client.get(saved.url).content.decode()
    assert hook.secret in page and "Nothing sent yet." in page


def test_agents_may_not_set_up_rules(client, agent):
    client.force_login(AgentFactory(username="plain"))
    for url in ["/agent/rules/", "/agent/rules/triggers/new/", "/agent/rules/webhooks/new/"]:
        assert client.get(url).status_code == 403
    assert client.post("/agent/rules/triggers/new/", outage_rule()).status_code == 403
    assert not Trigger.objects.exists()
    assert "/agent/rules/" not in client.get("/agent/").content.decode()


def test_deleting_a_trigger(admin_client):
    admin_client.post("/agent/rules/triggers/new/", outage_rule())
    trigger = Trigger.objects.get()
    response = admin_client.post(f"/agent/rules/trigger/{trigger.pk}/delete/")
    assert response.status_code == 302 and not Trigger.objects.exists()


def automation_form(name: str, since: str, hours: str, conditions: list, actions: list,
                    business_hours: bool = False) -> dict[str, Any]:  # fmt: skip
    form: dict[str, Any] = {
        "save": "1", "name": name, "active": "on", "since": since, "hours": hours,
        "cond_group": [c[0] for c in conditions], "cond_field": [c[1] for c in conditions],
        "cond_op": [c[2] for c in conditions], "cond_value": [c[3] for c in conditions],
        "act_type": [a[0] for a in actions], "act_value": [a[1] for a in actions],
        "act_details": [a[2] for a in actions],
    }  # fmt: skip
    if business_hours:
        form["business_hours"] = "on"
    return form


def test_the_example_automations_built_in_the_workspace_act_on_new_tickets(
    admin_client, client, agent, tier2_agent, django_capture_on_commit_callbacks
):
    calendar = BusinessCalendar.objects.create(name="Office", time_zone="Europe/London")
    for weekday in range(5):
        OpeningHours.objects.create(calendar=calendar, weekday=weekday, start=time(9), end=time(17))
    SLAPolicy.objects.create(name="Office hours", is_default=True, calendar=calendar)
    lead = AgentFactory(username="lead", tiers=[1])
    lead.groups.add(Group.objects.get(name=LEADS_GROUP))
    pending = ("all", "status", "is", "pending_customer")
    examples = [
        automation_form(
            "Remind after 3 business days", "status_changed", "24", [pending],
            [("message_customer", "Hello {{ customer.first_name }}, is {{ ticket.reference }} "
              "still a problem?", "")],
            business_hours=True,
        ),
        automation_form(
            "Resolve after 7 days", "status_changed", "168", [pending],
            [("add_note", "No answer in 7 days.", ""), ("set_status", "resolved", "")],
        ),
        automation_form(
            "Unassigned in tier 2", "tier_entered", "4",
            [("all", "tier", "is", "2"), ("all", "assignee", "is_empty", "")],
            [("notify", "{{ ticket.reference }} has waited 4 hours in tier 2", "leads")],
        ),
    ]  # fmt: skip
    for example in examples:
        assert admin_client.post("/agent/rules/automations/new/", example).status_code == 302
    monday = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    with time_machine.travel(monday, tick=False):
        client.post("/support/new/", contact_form("Printer jam"))
        waiting = Ticket.objects.get()
        services.ticket_reply(
            ticket=waiting, actor=agent, text="Which model is it?", status="pending_customer"
        )
        stuck = services.ticket_open(
            inbound=InboundMessage(
                channel="email", sender_kind="email", sender="bo@example.com",
                subject="Database locked", text="Since the upgrade.", external_id="<db@x>",
            ),
            tier_level=2,
        ).ticket  # fmt: skip
    mail.outbox.clear()

    def beat(at: datetime) -> None:
        with time_machine.travel(at, tick=False), django_capture_on_commit_callbacks(execute=True):
            run_automations.delay()

    beat(monday + timedelta(hours=4))  # tier 2, unassigned for 4 hours
    [told] = Notification.objects.filter(kind="rule")
    assert (told.user, told.ticket) == (lead, stuck)
    beat(monday + timedelta(days=3))  # Thursday 10:00: 24 business hours
    [reminder] = mail.outbox
    assert reminder.to == ["dana@example.org"]
    assert reminder.body.startswith(f"Hello Dana, is {waiting.reference} still a problem?")
    beat(monday + timedelta(days=7))
    waiting.refresh_from_db()
    assert waiting.status == "resolved"
    page = admin_client.get(f"/agent/tickets/{waiting.pk}/").content.decode()
    assert "Automation: Resolve after 7 days" in page and "No answer in 7 days." in page


def test_the_delivery_log_sends_a_failed_delivery_again_and_switches_a_webhook_back_on(
    admin_client, open_ticket, settings, django_capture_on_commit_callbacks
):
    from tickets.automation import sending
    from tickets.models import WebhookDelivery

    settings.HELPDESK_WEBHOOK_MAX_ATTEMPTS = 1
    admin_client.post(
        "/agent/rules/webhooks/new/",
        {"name": "Down", "url": "http://127.0.0.1:9/hook", "format": "helpdesk",
         "active": "on", "allow_private_network": "on", "events": ["ticket.created"]},
    )  # fmt: skip
    hook = Webhook.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket()
    sending.sweep()  # (the eager task ran it already; nothing is left)
    [failed] = WebhookDelivery.objects.all()
    assert failed.state == "failed"
    page = admin_client.get(f"/agent/rules/webhooks/{hook.pk}/").content.decode()
    assert ticket.reference in page and "no answer" in page and "Could not connect" in page

    with django_capture_on_commit_callbacks(execute=False):
        admin_client.post(f"/agent/rules/deliveries/{failed.pk}/redeliver/")
    again = WebhookDelivery.objects.exclude(pk=failed.pk).get()
    assert (again.redelivery_of_id, again.state, again.body) == (failed.pk, "pending", failed.body)

    Webhook.objects.filter(pk=hook.pk).update(disabled_at=timezone.now(), disabled_reason="x")
    page = admin_client.get(f"/agent/rules/webhooks/{hook.pk}/").content.decode()
    assert "Switch it on again" in page
    admin_client.post(f"/agent/rules/webhooks/{hook.pk}/enable/")
    hook.refresh_from_db()
    assert hook.disabled_at is None
