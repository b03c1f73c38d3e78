"""Inbound email from providers, through django-anymail's own webhook views.

anymail verifies the request (basic auth / provider signature) and normalises the payload
into an email message; this receiver stores it raw before the view answers 200, so a
crash after that point loses nothing and a redelivery is stored once.
"""

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from email import encoders
from email.message import Message
from typing import Any

from anymail import urls as anymail_urls
from anymail.exceptions import AnymailAPIError, AnymailWebhookValidationFailure
from anymail.utils import get_anymail_setting
from anymail.webhooks.amazon_ses import AnymailBotoClientAPIError
from anymail.webhooks.base import AnymailCoreWebhookView
from botocore.exceptions import ClientError
from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.urls import URLPattern

from channels_ingest import pipeline

logger = logging.getLogger(__name__)

View = Callable[..., HttpResponse]


def secret_required(view: View) -> View:
    """A provider's mail webhook (inbound or tracking), answered only when
    ANYMAIL_WEBHOOK_SECRET is set. Without one anymail takes anyone's post (it only warns),
    and Postmark's, SendGrid's and SES's posts carry nothing else to check: the door is off
    (404), as monitoring's is without its token."""

    @functools.wraps(view)  # keeps csrf_exempt
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not get_anymail_setting("webhook_secret", default=None):
            logger.warning("%s refused: ANYMAIL_WEBHOOK_SECRET is not set", request.path)
            return HttpResponseNotFound()
        return view(request, *args, **kwargs)

    return guarded


# What reading a body that is not what the provider posts raises: a form where JSON is
# expected, a list, a missing field (anymail's own "malformed" reports are AnymailAPIError).
# Anything else stays a 500, which the provider retries: a failure to fetch a message from
# S3, say.
_UNREADABLE = (ValueError, LookupError, TypeError, AttributeError, AnymailAPIError)
_NOT_THE_BODY = (AnymailWebhookValidationFailure, AnymailBotoClientAPIError, ClientError)


class _ReceiverFailed(Exception):
    """Our receiver of anymail's signal failed: its error, not the body's."""


@dataclass(frozen=True)
class _Signal:
    """anymail's signal, its receivers' errors told apart from the reading's."""

    signal: Any

    def send(self, **kwargs: Any) -> Any:
        try:
            return self.signal.send(**kwargs)
        except Exception as error:
            raise _ReceiverFailed from error


def reading_bodies(view_class: type[AnymailCoreWebhookView]) -> type[AnymailCoreWebhookView]:
    """`view_class`, an anymail webhook view, answering 400 for a body it cannot read.
    anymail reads the body after checking who sent it (in its validators, or while making
    its events), and what it cannot read was a 500, which providers retry for days. Our
    receivers' errors stay 500s, so that nothing is lost."""

    class Reading(view_class):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.signal: Any = _Signal(view_class.signal)

        def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                return super().post(request, *args, **kwargs)
            except _ReceiverFailed as failed:
                raise failed.__cause__ from None  # type: ignore[misc]
            except _NOT_THE_BODY:
                raise
            except _UNREADABLE as error:
                logger.info("%s: body not read (%s)", request.path, type(error).__name__)
                raise BadRequest(f"This is not what {self.esp_name} posts.") from error

    Reading.__name__ = Reading.__qualname__ = view_class.__name__
    return Reading


def anymail_webhooks() -> tuple[list[URLPattern], str]:
    """anymail's webhook URLs (every provider's), each behind `secret_required` and
    answering 400 for what it cannot read."""
    patterns = [
        URLPattern(
            url.pattern,
            secret_required(
                reading_bodies(url.callback.view_class).as_view(**url.callback.view_initkwargs)
            ),
            url.default_args,
            url.name,
        )
        for url in anymail_urls.urlpatterns
    ]
    return patterns, anymail_urls.app_name


def receive_inbound_email(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    from channels_ingest.email.parse import idempotency_key

    source = esp_name.lower().replace(" ", "_")
    raw = _posted_mime(event.esp_event, source) or _serialised(event.message)
    pipeline.receive(
        channel="email",
        source=source,
        key=idempotency_key(raw),
        payload=raw,
        content_type="message/rfc822",
    )


def _serialised(message: Message) -> bytes:
    """A message anymail built from a provider's JSON (Postmark's, say), as MIME. anymail
    leaves its attachments' bytes without a transfer encoding, and serialising would turn
    their CR bytes into LF (a PNG or a ZIP broken): each such file is put in base64 first.
    The texts keep their encoding (their line ends are text's own)."""
    for part in message.walk():
        is_file = part.get("Content-Disposition") is not None
        if is_file and not part.is_multipart() and part.get("Content-Transfer-Encoding") is None:
            encoders.encode_base64(part)
    return message.as_bytes()


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
