"""A ticket's subject is one line: it becomes the Subject header of every email about the
ticket, where a line break fails the send (or would start a header of its own)."""

from typing import Any

import pytest
from django.core import mail
from rest_framework.test import APIClient

from tickets.models import Message, MessageKind, Ticket

pytestmark = pytest.mark.django_db

TWO_LINES = "Printer\r\nBcc: someone@example.com"


def reply(api: APIClient, ticket: Ticket, capture: Any) -> Any:
    with capture(execute=True):
        answer = api.post(
            f"/api/v1/tickets/{ticket.pk}/replies/", {"text": "Try again now."}, format="json"
        )
    assert answer.status_code == 201
    return mail.outbox[-1]


def test_a_subject_changed_over_two_lines_is_kept_on_one(
    open_ticket, agent_api, celery_eager, django_capture_on_commit_callbacks
):
    ticket = open_ticket(sender="ann@example.com")

    answer = agent_api.patch(f"/api/v1/tickets/{ticket.pk}/", {"subject": TWO_LINES}, format="json")

    assert answer.status_code == 200
    assert answer.json()["subject"] == "Printer Bcc: someone@example.com"
    sent = reply(agent_api, ticket, django_capture_on_commit_callbacks)
    assert sent.subject == f"Re: Printer Bcc: someone@example.com [{ticket.reference}]"
    assert (sent.to, sent.bcc) == (["ann@example.com"], [])


def test_a_subject_stored_over_two_lines_still_sends(
    open_ticket, agent_api, celery_eager, django_capture_on_commit_callbacks
):
    """As an earlier release may have stored it."""
    ticket = open_ticket(sender="ann@example.com")
    Ticket.objects.filter(pk=ticket.pk).update(subject=TWO_LINES)

    sent = reply(agent_api, ticket, django_capture_on_commit_callbacks)

    assert sent.subject == f"Re: Printer Bcc: someone@example.com [{ticket.reference}]"
    sent_row = Message.objects.get(ticket=ticket, kind=MessageKind.OUTBOUND, is_automatic=False)
    assert sent_row.delivery_status == "sent"
