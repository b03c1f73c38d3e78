"""Raw emails of a few conversations, stored as providers' deliveries are, and what the
help desk made of them (tickets, in the order their messages show)."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from channels_ingest import pipeline
from channels_ingest.models import InboundItem
from tickets.models import Ticket

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def raw_email(
    key: str,
    *,
    sender: str = "pat@example.com",
    subject: str = "Printer jams",
    answers: tuple[str, ...] = (),
    minute: int = 0,
    text: str = "",
    start: datetime = START,
    cc: str = "",
) -> bytes:
    """An email with Message-ID <key@example.com>, answering the `answers` keys (the first
    is In-Reply-To, all are References), copied to `cc` if given."""
    headers = [
        f"Message-ID: <{key}@example.com>",
        f"From: {sender.split('@')[0].title()} <{sender}>",
        "To: support@localhost",
        f"Subject: {'Re: ' if answers else ''}{subject}",
        f"Date: {format_datetime(start + timedelta(minutes=minute))}",
    ]
    if cc:
        headers.append(f"Cc: {cc}")
    if answers:
        headers.append(f"In-Reply-To: <{answers[0]}@example.com>")
        headers.append("References: " + " ".join(f"<{a}@example.com>" for a in answers[::-1]))
    body = text or f"Message {key}."
    return ("\r\n".join(headers) + f"\r\n\r\n{body}\r\n").encode()


def store(raw: bytes) -> InboundItem:
    item, created = pipeline.receive(
        channel="email",
        source="test",
        key=pipeline_key(raw),
        payload=raw,
        content_type="message/rfc822",
        enqueue=False,
    )
    assert created
    return item


def pipeline_key(raw: bytes) -> str:
    from channels_ingest.email.parse import idempotency_key

    return idempotency_key(raw)


def conversations() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """Every ticket: (subject, status, [(kind, text) of its messages in order])."""
    return [
        (
            ticket.subject,
            ticket.status,
            [(m.kind, m.body_text.strip()) for m in ticket.messages.order_by("created_at", "id")],
        )
        for ticket in Ticket.objects.filter(merged_into__isnull=True).order_by("pk")
    ]
