"""Inbound email from providers, through django-anymail's own webhook views.

anymail verifies the request (basic auth / provider signature) and normalises the payload
into an email message; this receiver stores it raw before the view answers 200, so a
crash after that point loses nothing and a redelivery is stored once.
"""

from typing import Any

from channels_ingest import pipeline


def receive_inbound_email(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    from channels_ingest.email.parse import idempotency_key

    raw = event.message.as_bytes()
    pipeline.receive(
        channel="email",
        source=esp_name.lower().replace(" ", "_"),
        key=idempotency_key(raw),
        payload=raw,
        content_type="message/rfc822",
    )
