"""An email in -> ticket -> agent reply out -> the customer's answer threads back.

Runs the real thing: anymail's webhook view, Celery on Redis with a real worker, and
PostgreSQL; only the email provider's outbox is Django's in-memory test backend.
"""

import base64
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail

from channels_ingest.models import InboundItem, InboundStatus
from helpdesk.celery import app
from tickets.models import DeliveryStatus, Message, Ticket

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
SECRET = "hooks:e2e-secret"


@pytest.fixture
def worker(settings: Any) -> Iterator[None]:
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    app.control.purge()
    with start_worker(
        app,
        pool="solo",
        concurrency=1,
        perform_ping_check=False,
        loglevel="WARNING",
        queues=["default", "ingest", "notify"],
        shutdown_timeout=30,
    ):
        yield


def wait_for(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the worker")
        time.sleep(0.1)


def postmark_post(client: Any, *, message_id: str, subject: str, text: str, extra=()) -> Any:
    headers = [{"Name": "Message-ID", "Value": message_id}, *extra]
    payload = {
        "FromFull": {"Email": "maria@example.com", "Name": "Maria", "MailboxHash": ""},
        "ToFull": [{"Email": "support@localhost", "Name": "", "MailboxHash": ""}],
        "CcFull": [],
        "Subject": subject,
        "Date": "Sat, 21 Nov 2026 09:30:00 +0000",
        "TextBody": text,
        "HtmlBody": "",
        "Headers": headers,
        "Attachments": [],
    }
    auth = base64.b64encode(SECRET.encode()).decode()
    return client.post(
        "/anymail/postmark/inbound/",
        data=json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {auth}",
    )


def test_email_round_trip_with_a_real_worker(client, agent_api, worker):
    response = postmark_post(
        client, message_id="<q1@maria.example>", subject="VPN drops", text="It drops hourly."
    )
    assert response.status_code == 200
    wait_for(lambda: InboundItem.objects.filter(status=InboundStatus.PROCESSED).count() == 1)
    ticket = Ticket.objects.get()

    reply = agent_api.post(
        f"/api/v1/tickets/{ticket.pk}/replies/", {"text": "Update the client."}, format="json"
    )
    assert reply.status_code == 201
    wait_for(lambda: len(mail.outbox) == 1)
    sent = mail.outbox[0]
    assert sent.to == ["maria@example.com"]
    assert sent.extra_headers["In-Reply-To"] == "<q1@maria.example>"
    wait_for(
        lambda: Message.objects.get(pk=reply.json()["id"]).delivery_status == DeliveryStatus.SENT
    )

    answer = postmark_post(
        client,
        message_id="<q2@maria.example>",
        subject=f"Re: {sent.subject}",
        text="Updated, still drops.",
        extra=[{"Name": "In-Reply-To", "Value": sent.extra_headers["Message-ID"]}],
    )
    assert answer.status_code == 200
    wait_for(lambda: InboundItem.objects.filter(status=InboundStatus.PROCESSED).count() == 2)
    assert Ticket.objects.count() == 1
    assert list(ticket.messages.order_by("created_at", "id").values_list("kind", flat=True)) == [
        "inbound",
        "outbound",
        "inbound",
    ]
