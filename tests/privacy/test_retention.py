"""Retention rules: closed tickets older than a rule's days are anonymised or deleted by the
nightly beat task, through the same bulk paths as erasure; the admin sees a dry run."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings

from tickets import services
from tickets.collab.services import side_conversation_start
from tickets.inbound import InboundAttachment
from tickets.models import (
    AuditAction,
    AuditEntry,
    Channel,
    ContactKind,
    Message,
    RetentionRule,
    SideAttachment,
    Ticket,
)
from tickets.tasks import apply_retention

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 3, 15, tzinfo=UTC)


def _closed(open_ticket: Any, agent: Any, *, days_ago: int, **values: Any) -> Ticket:
    at = NOW - timedelta(days=days_ago)
    with time_machine.travel(at - timedelta(hours=1), tick=False):
        ticket = open_ticket(**values)
    services.ticket_close(ticket=ticket, actor=None, now=at)
    return Ticket.objects.get(pk=ticket.pk)


@pytest.fixture
def tickets(open_ticket: Any, agent: Any) -> dict[str, Ticket]:
    return {
        "old_mail": _closed(
            open_ticket, agent, days_ago=400, sender="old@example.com", sender_name="Olga Old",
            subject="Olga's old router",
        ),
        "recent_mail": _closed(
            open_ticket, agent, days_ago=10, sender="new@example.com", subject="Recent",
        ),
        "old_sms": _closed(
            open_ticket, agent, days_ago=200, channel=Channel.SMS,
            sender_kind=ContactKind.PHONE, sender="+14155550199", subject="", text="Text me",
        ),
        "open_old": open_ticket(sender="still@example.com", subject="Still open"),
    }  # fmt: skip


def test_the_nightly_task_anonymises_and_deletes_what_the_rules_say(
    tickets: dict[str, Ticket], django_capture_on_commit_callbacks: Any
) -> None:
    Ticket.objects.filter(pk=tickets["open_old"].pk).update(created_at=NOW - timedelta(days=900))
    anonymise = RetentionRule.objects.create(
        name="Mail after a year", channel=Channel.EMAIL, closed_days=365, action="anonymise"
    )
    delete = RetentionRule.objects.create(
        name="SMS after 90 days", channel=Channel.SMS, closed_days=90, action="delete"
    )

    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        assert apply_retention.apply().get() == 2

    old = Ticket.objects.select_related("customer").get(pk=tickets["old_mail"].pk)
    assert old.subject == "(anonymised)" and old.customer.name == "Anonymous customer"
    assert not Message.objects.filter(ticket=old).exclude(body_text="").exists()
    assert not Ticket.objects.filter(pk=tickets["old_sms"].pk).exists()
    assert Ticket.objects.get(pk=tickets["recent_mail"].pk).subject == "Recent"
    assert Ticket.objects.get(pk=tickets["open_old"].pk).subject == "Still open"
    # The customer herself stays (she may write again); only the old ticket left her.
    assert tickets["old_mail"].customer.contact_points.filter(value="old@example.com").exists()
    entry = AuditEntry.objects.get(action=AuditAction.RETENTION_RUN)
    assert entry.actor is None
    assert {(r["name"], r["tickets"]) for r in entry.details["rules"]} == {
        ("Mail after a year", 1), ("SMS after 90 days", 1),
    }  # fmt: skip
    anonymise.refresh_from_db()
    delete.refresh_from_db()
    assert (anonymise.last_run_count, anonymise.last_run_at) == (1, NOW)
    assert delete.last_run_count == 1

    # The next night finds nothing more to do: anonymised tickets are not done twice.
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        assert apply_retention.apply().get() == 0
    assert AuditEntry.objects.filter(action=AuditAction.RETENTION_RUN).count() == 2


def test_retention_deletes_the_files_of_side_conversations(
    tickets: dict[str, Ticket], agent: Any, django_capture_on_commit_callbacks: Any
) -> None:
    for name in ("old_mail", "old_sms"):
        side_conversation_start(
            ticket=tickets[name], to="vendor@supplier.example", subject="Part", text="In stock?",
            attachments=(InboundAttachment(f"{name}.txt", "text/plain", b"about Olga"),),
            actor=agent,
        )  # fmt: skip
    stored = [(f.file.storage, f.file.name) for f in SideAttachment.objects.all()]
    RetentionRule.objects.create(name="Mail", channel=Channel.EMAIL, closed_days=365,
                                 action="anonymise")  # fmt: skip
    RetentionRule.objects.create(name="SMS", channel=Channel.SMS, closed_days=90, action="delete")

    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        assert apply_retention.apply().get() == 2

    assert len(stored) == 2 and not SideAttachment.objects.exists()
    assert not any(storage.exists(name) for storage, name in stored)


def test_a_rule_switched_off_does_nothing(tickets: dict[str, Ticket]) -> None:
    RetentionRule.objects.create(name="Off", closed_days=1, action="delete", enabled=False)
    with time_machine.travel(NOW, tick=False):
        assert apply_retention.apply().get() == 0
    assert Ticket.objects.count() == 4


def test_the_admin_shows_each_rules_dry_run(
    client: Any, admin_user: Any, tickets: dict[str, Ticket]
) -> None:
    rule = RetentionRule.objects.create(name="Everything after 30 days", closed_days=30,
                                        action="delete")  # fmt: skip
    client.force_login(admin_user)
    with time_machine.travel(NOW, tick=False):
        listing = client.get("/admin/tickets/retentionrule/")
        form = client.get(f"/admin/tickets/retentionrule/{rule.pk}/change/")
    assert listing.context["cl"].result_list[0] == rule
    assert '<td class="field-due_now">2</td>' in listing.content.decode()
    assert "Due now (dry run)" in form.content.decode()
    assert Ticket.objects.count() == 4  # counted, not done


def test_retention_runs_nightly_from_beat() -> None:
    from helpdesk.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["retention"]
    assert entry["task"] == "tickets.apply_retention" and entry["task"] in app.tasks
