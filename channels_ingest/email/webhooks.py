"""Inbound email from providers, through django-anymail's own webhook views.

anymail verifies the request (basic auth / provider signature) and normalises the payload
into an email message; this receiver stores it raw before the view answers 200, so a
crash after that point loses nothing and a redelivery is stored once.
"""

from typing import Any

from django.http import HttpRequest

from channels_ingest import pipeline


def receive_inbound_email(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    from channels_ingest.email.parse import idempotency_key

    source = esp_name.lower().replace(" ", "_")
    raw = _posted_mime(event.esp_event, source) or event.message.as_bytes()
    pipeline.receive(
        channel="email",
        source=source,
        key=idempotency_key(raw),
        payload=raw,
        content_type="message/rfc822",
    )


def _posted_mime(request: Any, source: str) -> bytes | None:
    """The message exactly as the provider posted it, for providers that post raw MIME
    (the bytes anymail parsed): kept as received, and not serialised again."""
    if not isinstance(request, HttpRequest):
        return None
    if source == "mailgun":  # inbound_mime
        posted = request.POST.get("body-mime")
    elif source == "sendgrid" and "headers" not in request.POST:  # "POST the raw MIME"
        posted = request.POST.get("email")
    else:
        return None
    return posted.encode("utf-8") if posted else None
