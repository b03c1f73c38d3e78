"""Notification preferences: per kind, in the workspace and by email, decided in one place
(tickets.services.notification_prefs) for every kind of news."""

from typing import Any

import pytest
from django.core import mail

from tests.agent_settings.conftest import settings_form
from tests.factories import AgentFactory
from tickets import services
from tickets.models import Notification

pytestmark = pytest.mark.django_db


def _choose(client: Any, **changes: Any) -> None:
    response = client.post("/agent/settings/", settings_form(**changes))
    assert response.status_code == 302


def test_by_default_assignments_show_in_the_workspace(
    agent: Any, open_ticket: Any, django_capture_on_commit_callbacks: Any
) -> None:
    boss = AgentFactory(username="lead", tiers=[1])
    ticket = open_ticket(tier_level=1)
    services.ticket_assign(ticket=ticket, assignee=agent, actor=boss)
    [told] = Notification.objects.filter(user=agent)
    assert told.kind == "assigned" and told.read_at is None


def test_assignments_switched_off_tell_nothing(
    agent_client: Any, agent: Any, open_ticket: Any
) -> None:
    _choose(agent_client, notify_assignment_app=None, notify_assignment_email=None)
    boss = AgentFactory(username="lead", tiers=[1])
    services.ticket_assign(ticket=open_ticket(tier_level=1), assignee=agent, actor=boss)
    assert not Notification.objects.filter(user=agent).exists()
    html = agent_client.get("/agent/notifications/").content.decode()
    assert "No notifications yet." in html


def test_by_email_only_is_mailed_and_stays_out_of_the_unread(
    agent_client: Any, agent: Any, open_ticket: Any, celery_eager: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    _choose(agent_client, email_notifications="on", notify_assignment_app=None)
    boss = AgentFactory(username="lead", tiers=[1])
    ticket = open_ticket(tier_level=1)
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_assign(ticket=ticket, assignee=agent, actor=boss)
    [sent] = mail.outbox
    assert sent.to == [agent.email] and ticket.reference in sent.subject
    [told] = Notification.objects.filter(user=agent)
    assert told.read_at is not None  # no unread badge
    assert not Notification.objects.filter(user=agent, read_at__isnull=True).exists()


def test_email_is_per_kind_under_the_master_switch(
    agent_client: Any, agent: Any, open_ticket: Any, celery_eager: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    _choose(agent_client, email_notifications="on", notify_escalation_email=None)
    boss = AgentFactory(username="lead", tiers=[1, 2])
    AgentFactory(username="agent-t2", tiers=[2]).agent_profile.tiers.add(
        *agent.agent_profile.tiers.all()
    )
    agent.agent_profile.tiers.add(*boss.agent_profile.tiers.filter(level=2))
    ticket = open_ticket(tier_level=1)
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_assign(ticket=ticket, assignee=agent, actor=boss)
        services.ticket_escalate(
            ticket=ticket, tier_level=2, reason="Needs a technician", handoff_note="Tried it",
            actor=boss,
        )  # fmt: skip
    kinds = set(Notification.objects.filter(user=agent).values_list("kind", flat=True))
    assert {"assigned", "escalated"} <= kinds  # both in the workspace
    assert [m.subject for m in mail.outbox if m.to == [agent.email]] == [
        f"{ticket.reference} was assigned to you: {ticket.subject}"
    ]


def test_a_customer_writing_again_tells_the_assignee_who_wants_it(
    agent_client: Any, agent: Any, open_ticket: Any, inbound: Any
) -> None:
    ticket = open_ticket(tier_level=1, sender="ann@example.com")
    services.ticket_assign(ticket=ticket, assignee=agent, actor=agent)
    services.ticket_ingest(
        inbound=inbound(sender="ann@example.com", subject=f"Re: [{ticket.reference}]")
    )
    [told] = Notification.objects.filter(user=agent, kind="customer_message")
    assert ticket.reference in told.text and told.ticket_id == ticket.pk

    _choose(agent_client, notify_customer_message_app=None, notify_customer_message_email=None)
    services.ticket_ingest(
        inbound=inbound(sender="ann@example.com", subject=f"Re: [{ticket.reference}]")
    )
    assert Notification.objects.filter(user=agent, kind="customer_message").count() == 1


def test_sla_warnings_follow_the_choice(agent: Any, agent_client: Any) -> None:
    from tickets.services.notices import notify_agents_many
    from tickets.services.notification_prefs import recipients

    other = AgentFactory(username="other", tiers=[1])
    _choose(agent_client, notify_sla_app=None, notify_sla_email=None)
    assert recipients([agent.pk, other.pk], "sla") == ([other.pk], set())
    assert recipients([agent.pk, other.pk], "assigned") == (sorted([agent.pk, other.pk]), set())
    ticket = services.ticket_open(
        inbound=__import__("tickets.inbound", fromlist=["InboundMessage"]).InboundMessage(
            channel="email", sender_kind="email", sender="x@example.com", sender_name="X",
            subject="Slow", text="Slow", external_id="<sla-pref@example.com>",
        ),
        tier_level=1,
    ).ticket  # fmt: skip
    notify_agents_many([([agent.pk, other.pk], ticket, "sla", "SLA will breach")])
    assert list(Notification.objects.filter(kind="sla").values_list("user_id", flat=True)) == [
        other.pk
    ]
