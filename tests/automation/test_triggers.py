"""Triggers: when something happens to a ticket and the conditions hold, the desk acts by
itself, through the same services as a person, and says so in the ticket's history."""

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core import mail

from tests.factories import AdminFactory, AgentFactory
from tickets import services
from tickets.automation import dispatch
from tickets.automation.manage import trigger_preview, trigger_save
from tickets.errors import InvalidInput
from tickets.models import EventKind, Message, Notification, Ticket, TicketEvent, TriggerFiring
from tickets.roles import LEADS_GROUP

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _rules(celery_eager: Any) -> None:
    dispatch.forget_rules_in_use()


def rule(name: str, events: list[str], actions: list[dict], **conditions: Any) -> Any:
    return trigger_save(
        trigger=None,
        name=name,
        events=events,
        conditions=conditions or None,
        actions=actions,
        actor=None,
    )


def history(ticket: Ticket) -> list[tuple[str, str]]:
    return list(ticket.events.order_by("id").values_list("kind", "actor_label"))


def test_a_new_email_about_an_outage_goes_to_tier_2_as_urgent(
    open_ticket, tier2_agent, django_capture_on_commit_callbacks
):
    rule(
        "Outages to tier 2",
        ["ticket.created"],
        [
            {"type": "set_priority", "value": "urgent"},
            {"type": "add_tags", "value": ["outage"]},
            {"type": "set_tier", "value": 2, "note": "Customer reports an outage."},
        ],
        all=[
            {"field": "channel", "op": "is", "value": "email"},
            {"field": "subject", "op": "contains", "value": "OUTAGE"},
        ],
    )
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(subject="Total outage since 9am")
        other = open_ticket(subject="Invoice question")

    ticket.refresh_from_db()
    assert (ticket.priority, ticket.tier.level) == ("urgent", 2)
    assert list(ticket.tags.values_list("name", flat=True)) == ["outage"]
    by_trigger = [kind for kind, label in history(ticket) if label == "Trigger: Outages to tier 2"]
    assert by_trigger == [
        EventKind.PRIORITY_CHANGED,
        EventKind.TAGS_CHANGED,
        EventKind.ESCALATED,
        EventKind.RULE_FIRED,
    ]
    fired = ticket.events.get(kind=EventKind.RULE_FIRED)
    assert fired.data["actions"] == [
        "Set priority: urgent",
        "Add tags: outage",
        "Move to tier: 2",
    ]
    escalation = ticket.events.get(kind=EventKind.ESCALATED)
    assert escalation.data["handoff_note"] == "Customer reports an outage."
    other.refresh_from_db()
    assert (other.priority, other.tier.level) == ("normal", 1)


def test_any_and_all_groups_and_the_sender_domain(open_ticket, django_capture_on_commit_callbacks):
    rule(
        "VIP customers",
        ["ticket.created"],
        [{"type": "set_priority", "value": "high"}],
        all=[{"field": "priority", "op": "is", "value": "normal"}],
        any=[
            {"field": "sender_domain", "op": "in", "value": ["bigcorp.com", "vip.example"]},
            {"field": "body", "op": "contains", "value": "contract"},
        ],
    )
    with django_capture_on_commit_callbacks(execute=True):
        by_domain = open_ticket(sender="ceo@BigCorp.com")
        by_text = open_ticket(text="Our support contract says 4 hours.")
        neither = open_ticket(sender="someone@else.com", text="Hello")

    priorities = [Ticket.objects.get(pk=t.pk).priority for t in (by_domain, by_text, neither)]
    assert priorities == ["high", "high", "normal"]


def test_a_later_trigger_sees_what_an_earlier_one_changed(
    open_ticket, django_capture_on_commit_callbacks
):
    rule("First", ["ticket.created"], [{"type": "set_priority", "value": "high"}])
    rule(
        "Second",
        ["ticket.created"],
        [{"type": "add_tags", "value": ["vip"]}],
        all=[{"field": "priority", "op": "is", "value": "high"}],
    )
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket()
    assert list(ticket.tags.values_list("name", flat=True)) == ["vip"]


def test_changes_made_by_a_trigger_fire_later_triggers(
    open_ticket, django_capture_on_commit_callbacks
):
    rule(
        "Urgent words",
        ["ticket.created"],
        [{"type": "set_priority", "value": "urgent"}],
        all=[{"field": "body", "op": "contains", "value": "down"}],
    )
    rule(
        "Tell about urgent ones",
        ["ticket.priority_changed"],
        [{"type": "add_note", "value": "Urgent: call the customer back within the hour."}],
        all=[
            {"field": "priority", "op": "is", "value": "urgent"},
            {"field": "previous_priority", "op": "is", "value": "normal"},
        ],
    )
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(text="The whole site is down")

    note = Message.objects.get(ticket=ticket, kind="note")
    assert note.body_text == (
        "Trigger: Tell about urgent ones: Urgent: call the customer back within the hour."
    )
    assert TriggerFiring.objects.filter(ticket=ticket).count() == 2


def test_a_loop_between_two_triggers_is_stopped_and_reported(
    open_ticket, agent, django_capture_on_commit_callbacks
):
    admin = AdminFactory(username="root")
    rule(
        "Down to low",
        ["ticket.priority_changed"],
        [{"type": "set_priority", "value": "low"}],
        all=[{"field": "priority", "op": "is", "value": "high"}],
    )
    rule(
        "Back to high",
        ["ticket.priority_changed"],
        [{"type": "set_priority", "value": "high"}],
        all=[{"field": "priority", "op": "is", "value": "low"}],
    )
    ticket = open_ticket()
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_change_priority(ticket=ticket, priority="high", actor=agent)

    ticket.refresh_from_db()
    changes = list(
        ticket.events.filter(kind=EventKind.PRIORITY_CHANGED)
        .order_by("id")
        .values_list("actor_label", "data__to")
    )
    assert changes == [
        ("", "high"),
        ("Trigger: Down to low", "low"),
        ("Trigger: Back to high", "high"),
    ]
    [stopped] = ticket.events.filter(kind=EventKind.RULE_STOPPED)
    assert (stopped.actor_label, stopped.data["reason"]) == ("Trigger: Down to low", "loop")
    [notice] = Notification.objects.filter(user=admin, kind="rule_stopped")
    assert "Down to low" in notice.text and "loop" in notice.text


def test_chains_stop_at_the_depth_limit(open_ticket, settings, django_capture_on_commit_callbacks):
    settings.HELPDESK_RULES_MAX_DEPTH = 2
    rule("Low first", ["ticket.created"], [{"type": "set_priority", "value": "low"}])
    steps = [("normal", "low", "high"), ("low", "high", "urgent")]
    for before, now, then in steps:
        rule(
            f"{now} to {then}",
            ["ticket.priority_changed"],
            [{"type": "set_priority", "value": then}],
            all=[
                {"field": "previous_priority", "op": "is", "value": before},
                {"field": "priority", "op": "is", "value": now},
            ],
        )
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket()
    ticket.refresh_from_db()
    assert ticket.priority == "high"  # two rules deep: "high to urgent" would be the third
    [stopped] = ticket.events.filter(kind=EventKind.RULE_STOPPED)
    assert (stopped.actor_label, stopped.data["reason"]) == ("Trigger: high to urgent", "depth")


def test_a_chain_of_tags_is_no_loop(open_ticket, django_capture_on_commit_callbacks):
    for tag, previous in [("a", None), ("b", "a"), ("c", "b")]:
        rule(
            f"Tag {tag}",
            ["ticket.created"] if previous is None else ["ticket.tags_changed"],
            [{"type": "add_tags", "value": [tag]}],
            **({"all": [{"field": "tags", "op": "contains_all", "value": [previous]}]}
               if previous else {}),
        )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket()
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["a", "b", "c"]
    assert not ticket.events.filter(kind=EventKind.RULE_STOPPED).exists()


def test_each_trigger_acts_once_per_event_however_often_the_task_runs(
    open_ticket, django_capture_on_commit_callbacks
):
    rule("Note", ["ticket.created"], [{"type": "add_note", "value": "Seen."}])
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket()
    created = ticket.events.get(kind=EventKind.CREATED)

    assert dispatch.dispatch([created.pk]) == 0  # the task again (a redelivered message)
    assert Message.objects.filter(ticket=ticket, kind="note").count() == 1


def test_a_trigger_that_cannot_act_is_reported_and_changes_nothing(
    open_ticket, django_capture_on_commit_callbacks
):
    rule(
        "Broken",
        ["ticket.created"],
        [{"type": "set_priority", "value": "high"}, {"type": "assign", "value": 99999}],
    )
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(text="Keep this message")

    ticket.refresh_from_db()
    assert ticket.priority == "normal"  # its first action went with the failed second
    [failed] = ticket.events.filter(kind=EventKind.RULE_FAILED)
    assert failed.data["error"] == "There is no active user 99999."
    assert Message.objects.get(ticket=ticket, kind="inbound").body_text == "Keep this message"
    assert not TriggerFiring.objects.exists()


def test_customer_replies_agent_replies_and_messages_to_the_customer(
    open_ticket, agent, inbound, django_capture_on_commit_callbacks
):
    rule(
        "Thank the customer",
        ["ticket.customer_replied"],
        [
            {
                "type": "message_customer",
                "value": "Hello {{ customer.first_name }}, we got your update on "
                "{{ ticket.reference }}.",
            }
        ],
    )
    rule("Pending after reply", ["ticket.agent_replied"], [
        {"type": "set_status", "value": "pending_customer"}
    ])  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(sender="ann@example.com", sender_name="Ann Lee")
    assert mail.outbox == []  # a new ticket is "created", not a reply

    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_ingest(
            inbound=inbound(
                sender="ann@example.com", subject=f"Re: [{ticket.reference}]", text="More"
            )
        )
    [thanks] = mail.outbox
    assert thanks.to == ["ann@example.com"]
    assert thanks.body.startswith(f"Hello Ann, we got your update on {ticket.reference}.")

    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_reply(ticket=ticket, actor=agent, text="Try turning it off and on.")
    ticket.refresh_from_db()
    assert ticket.status == "pending_customer"
    status = ticket.events.filter(kind=EventKind.STATUS_CHANGED).last()
    assert status is not None and status.actor_label == "Trigger: Pending after reply"


def test_notify_the_leads_and_the_tier(
    open_ticket, agent, customer_user, django_capture_on_commit_callbacks
):
    lead = AgentFactory(username="lead", tiers=[3])
    lead.groups.add(Group.objects.get(name=LEADS_GROUP))
    rule(
        "Tell leads about urgent tickets",
        ["ticket.created"],
        [
            {
                "type": "notify",
                "to": ["leads", "tier", customer_user.pk],  # a customer is no one to tell
                "value": "{{ ticket.reference }} is urgent",
            }
        ],
        all=[{"field": "priority", "op": "is", "value": "urgent"}],
    )
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(priority="urgent")
    told = Notification.objects.filter(kind="rule").values_list("user__username", "text")
    text = f"Trigger: Tell leads about urgent tickets: {ticket.reference} is urgent"
    assert sorted(told) == [("agent1", text), ("lead", text)]


def test_rules_that_cannot_mean_anything_are_refused_with_what_to_change() -> None:
    cases = [
        ({"events": ["ticket.exploded"]}, "Unknown event 'ticket.exploded'"),
        ({"conditions": {"all": [{"field": "colour", "op": "is", "value": "red"}]}},
         "Condition 1 of \"all\": unknown field 'colour'"),
        ({"conditions": {"all": [{"field": "priority", "op": "is", "value": "huge"}]}},
         "Priority is one of low, normal, high, urgent"),
        ({"conditions": {"any": [{"field": "tier", "op": "contains", "value": 2}]}},
         "Tier takes is, is_not, in, not_in, above, below, not 'contains'"),
        ({"actions": []}, "A rule needs at least one action."),
        ({"actions": [{"type": "set_tier", "value": 2}]}, "Action 1: write a hand-off note."),
        ({"actions": [{"type": "webhook", "value": 12345}]}, "There is no webhook 12345."),
    ]  # fmt: skip
    for change, message in cases:
        values = {"events": ["ticket.created"], "conditions": None,
                  "actions": [{"type": "add_tags", "value": ["x"]}], **change}  # fmt: skip
        with pytest.raises(InvalidInput) as refused:
            trigger_save(trigger=None, name="Bad", actor=None, **values)
        assert message in str(refused.value)
    assert not TicketEvent.objects.exists()


def test_a_trigger_tried_on_an_existing_ticket_changes_nothing(open_ticket) -> None:
    ticket = open_ticket(subject="Outage in Berlin")
    trigger = rule(
        "Outages",
        ["ticket.created"],
        [{"type": "set_priority", "value": "urgent"}, {"type": "add_tags", "value": ["outage"]}],
        all=[
            {"field": "subject", "op": "contains", "value": "outage"},
            {"field": "tier", "op": "is", "value": 1},
        ],
        any=[{"field": "channel", "op": "in", "value": ["sms", "chat"]}],
    )
    preview = trigger_preview(trigger=trigger, ticket=ticket)
    assert preview.conditions == [
        ("Subject contains outage", True),
        ("Tier is 1", True),
        ("or: Channel in sms, chat", False),
    ]
    assert not preview.fires
    assert preview.actions == ["Set priority: urgent", "Add tags: outage"]
    ticket.refresh_from_db()
    assert ticket.priority == "normal" and not ticket.tags.exists()


def test_events_no_trigger_is_about_queue_no_task(
    open_ticket, django_capture_on_commit_callbacks
) -> None:
    from unittest import mock

    from tickets.automation.tasks import dispatch_events

    rule(
        "Refunds",
        ["ticket.created"],
        [{"type": "add_tags", "value": ["refund"]}],
        all=[{"field": "subject", "op": "contains", "value": "refund"}],
    )
    with mock.patch.object(dispatch_events, "delay") as queued:
        with django_capture_on_commit_callbacks(execute=True):
            open_ticket(subject="Printer jam")
        assert queued.call_count == 0  # judged at the door: no condition holds
        with django_capture_on_commit_callbacks(execute=True):
            open_ticket(subject="I want a refund")
        assert queued.call_count == 1
