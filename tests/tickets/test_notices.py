"""Keeping people informed: customers on their channel, agents in the app and by email."""

import re
from datetime import timedelta

import pytest
from django.core import mail

from channels_ingest.sms import backends as sms_backends
from tests.factories import AgentFactory
from tickets import services
from tickets.models import (
    AgentProfile,
    Channel,
    ContactKind,
    CustomerNotice,
    Message,
    Notification,
    SLAPolicy,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def notices(settings, celery_eager):
    settings.HELPDESK_CUSTOMER_NOTICES = True
    sms_backends.outbox.clear()


def test_received_notice_by_email_with_reference_and_promise(
    open_ticket, notices, django_capture_on_commit_callbacks
):
    SLAPolicy.objects.create(name="24/7", is_default=True, first_response_minutes=120)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(sender="ann@example.com", sender_name="Ann")
    [sent] = mail.outbox
    assert sent.to == ["ann@example.com"]
    assert sent.subject == f"We received your request: {ticket.subject} [{ticket.reference}]"
    assert ticket.reference in sent.body and "Hello Ann" in sent.body
    assert "We will answer by" in sent.body
    promise = re.search(r"We will answer by ([^\n]*)", sent.body).group(1)
    assert promise.endswith(" UTC.") and ".." not in promise, promise
    assert sent.extra_headers["Auto-Submitted"] == "auto-replied"
    notice = Message.objects.get(ticket=ticket, is_automatic=True)
    assert notice.author_user is None
    ticket.refresh_from_db()
    assert ticket.first_responded_at is None  # a notice is not a response


def test_received_notice_by_sms_for_texters(
    open_ticket, notices, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(
            channel=Channel.SMS, sender_kind=ContactKind.PHONE, sender="+14155550123"
        )
    assert mail.outbox == []
    [sms] = sms_backends.outbox
    assert sms.to == "+14155550123"
    assert ticket.reference in sms.body


def test_no_notice_in_answer_to_automatic_mail(
    open_ticket, notices, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        open_ticket(is_automatic=True)
    assert mail.outbox == []


def test_resolved_notice_and_escalated_notice_only_when_enabled(
    open_ticket, notices, agent, tier2_agent, django_capture_on_commit_callbacks
):
    ticket = open_ticket(tier_level=1, sender="bo@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_escalate(ticket=ticket, actor=agent, reason="r", handoff_note="n")
    assert [m.subject for m in mail.outbox] == []  # escalation notice is off by default

    escalated = CustomerNotice.objects.get(kind="escalated")
    escalated.enabled = True
    escalated.save()  # as the admin does: the processes' kept set-up is read again
    ticket.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_escalate(ticket=ticket, actor=tier2_agent, reason="r", handoff_note="n")
        services.ticket_resolve(ticket=ticket, actor=tier2_agent)
    subjects = [m.subject for m in mail.outbox]
    assert subjects == [
        f"Your request {ticket.reference} is with our specialists [{ticket.reference}]",
        f"Your request {ticket.reference} is resolved [{ticket.reference}]",
    ]


def test_agents_are_notified_of_assignment_and_escalation_to_their_tier(open_ticket, agent):
    lead = AgentFactory(username="lead", tiers=[1])
    expert = AgentFactory(username="expert", tiers=[2])
    ticket = open_ticket(tier_level=1)

    services.ticket_assign(ticket=ticket, assignee=agent, actor=lead)
    services.ticket_assign(ticket=ticket, assignee=lead, actor=lead)  # taking it: no note
    services.ticket_escalate(ticket=ticket, actor=lead, reason="Needs logs", handoff_note="n")

    assert list(Notification.objects.filter(user=agent).values_list("kind", flat=True)) == [
        "assigned"
    ]
    assert not Notification.objects.filter(user=lead, kind="assigned").exists()
    escalated = Notification.objects.get(user=expert)
    assert escalated.kind == "escalated" and "Needs logs" in escalated.text
    assert Notification.objects.filter(read_at__isnull=True, user=expert).count() == 1


def test_agents_who_asked_get_notifications_by_email_once(
    open_ticket, agent, celery_eager, django_capture_on_commit_callbacks
):
    AgentProfile.objects.filter(user=agent).update(email_notifications=True)
    quiet = AgentFactory(username="quiet", tiers=[1])
    ticket = open_ticket(tier_level=1)
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_assign(ticket=ticket, assignee=agent, actor=quiet)
    [sent] = mail.outbox
    assert sent.to == [agent.email]
    assert ticket.reference in sent.subject
    ids = list(Notification.objects.values_list("pk", flat=True))
    assert services.notifications_email(notification_ids=ids) == 0  # already sent


def _resolution_notices() -> list[str]:
    return [m.body for m in mail.outbox if " is resolved " in m.subject]


def test_a_reply_that_resolves_asks_for_the_rating_by_every_door(
    open_ticket, notices, agent, client, agent_api, django_capture_on_commit_callbacks
):
    """The API's reply with status=resolved, the ticket page's reply form with "Then set
    status: Resolved" and a macro that resolves all send the resolution notice with the
    survey link, as a bare status change does."""
    from tickets.models import Macro

    client.force_login(agent)
    macro = Macro.objects.create(name="Fixed", body="This is fixed.", set_status="resolved")
    doors = {
        "api": lambda t: agent_api.post(
            f"/api/v1/tickets/{t.pk}/replies/",
            {"text": "Fixed on our side.", "status": "resolved"},
            format="json",
        ),
        "reply form": lambda t: client.post(
            f"/agent/tickets/{t.pk}/reply/",
            {"text": "Fixed on our side.", "channel": "email", "status": "resolved"},
        ),
        "macro": lambda t: client.post(
            f"/agent/tickets/{t.pk}/reply/",
            {"text": "This is fixed.", "channel": "email", "macro": macro.pk},
        ),
    }
    for door, reply in doors.items():
        ticket = open_ticket(sender=f"{door.replace(' ', '-')}@example.com")
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            response = reply(ticket)
        assert response.status_code in (201, 302), door
        ticket.refresh_from_db()
        assert ticket.status == "resolved", door
        notices_sent = _resolution_notices()
        assert len(notices_sent) == 1, door
        assert "/support/rate/" in notices_sent[0], door  # the survey link


def test_self_service_solved_by_the_customer_sends_no_resolution_notice(
    open_ticket, notices, django_capture_on_commit_callbacks
):
    from tickets.services import self_service

    ticket = open_ticket(tier_level=0)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert self_service.ticket_resolve_deflected(ticket_id=ticket.pk, via="link")
    assert _resolution_notices() == []


def test_our_notice_threads_under_a_message_dated_ahead_of_our_clock(
    open_ticket, notices, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    ahead = timezone.now() + timedelta(minutes=5)  # the customer's clock is fast
    with django_capture_on_commit_callbacks(execute=True):
        open_ticket(sender="ann@example.com", external_id="<ahead@ann.example>", received_at=ahead)
    [sent] = mail.outbox
    assert sent.extra_headers["In-Reply-To"] == "<ahead@ann.example>"


def test_links_in_automatic_mail_are_links_in_its_html_part(
    open_ticket, notices, agent, django_capture_on_commit_callbacks
):
    ticket = open_ticket(sender="ann@example.com")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_resolve(ticket=ticket, actor=agent)
    [sent] = mail.outbox
    link = re.search(r"http://\S+/support/rate/\S+/", sent.body).group(0)
    html = sent.alternatives[0].content
    assert f'<a href="{link}"' in html


def test_one_placeholder_syntax_in_replies_macros_and_notices(
    open_ticket, notices, agent, client, agent_api, django_capture_on_commit_callbacks
):
    from tickets.models import CustomerNotice

    agent.first_name = "Alice"
    agent.save()
    ticket = open_ticket(sender="ann@example.com", sender_name="Ann Lee")
    typed = (
        "Hello {{ customer.first_name }}, {{ agent.first_name }} here about "
        "{{ ticket.reference }}. {{ unknown }}"
    )
    api_reply = agent_api.post(
        f"/api/v1/tickets/{ticket.pk}/replies/", {"text": typed}, format="json"
    ).json()
    expected = f"Hello Ann, Alice here about {ticket.reference}. {{{{ unknown }}}}"
    assert api_reply["body_text"] == expected  # an unknown one stays visible
    client.force_login(agent)
    page = client.get(f"/agent/tickets/{ticket.pk}/").content.decode()
    assert "{{ customer.first_name }}" in page and "{{ ticket.reference }}" in page  # listed
    client.post(f"/agent/tickets/{ticket.pk}/reply/", {"text": typed, "channel": "email"})
    assert ticket.messages.filter(body_text=expected).count() == 2

    # The notices use the same syntax (the old {name} was converted by a migration).
    resolved = CustomerNotice.objects.get(kind="resolved")
    assert "{{ customer.name }}" in resolved.text and "{name}" not in resolved.text
    resolved.text = "Dear {{ customer.first_name }}, {{ ticket.reference }} is done."
    resolved.save()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_resolve(ticket=ticket, actor=agent)
    [sent] = [m for m in mail.outbox if "resolved" in m.subject]
    assert sent.body.startswith(f"Dear Ann, {ticket.reference} is done.")
