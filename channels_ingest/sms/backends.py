"""Sending SMS: a pluggable backend chosen by settings.SMS_BACKEND.

"console" logs the text (development), "locmem" appends to `outbox` (tests), "twilio"
calls the Twilio REST API; a dotted path names any other BaseSmsBackend subclass.
This is the only module that imports twilio.rest.

Long replies are split at whitespace into parts of at most 1,600 characters (Twilio's
limit for one message), numbered "(1/3) ", at most 10 parts; beyond that the text is cut
and says so.
"""

import logging
import uuid
from dataclasses import dataclass

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from channels_ingest.errors import DeliveryError
from helpdesk.languages import default_language

logger = logging.getLogger(__name__)

MAX_PART_CHARS = 1600
MAX_PARTS = 10
TRUNCATION_NOTE = " … (message shortened)"
# Connect and read timeout for each Twilio API call, in seconds.
TWILIO_TIMEOUT = 10
STATUS_CALLBACK_PATH = "/inbound/sms/twilio/status/"
# The error of a text to a number that opted out of our texts (texted STOP).
OPTED_OUT = 21610
# Twilio's error codes, with what they mean to an agent reading why a text failed: those the
# Messages API answers at once (any other 4xx is also permanent, with Twilio's own message)
# and those a status callback reports after the text left.
_ERRORS = {
    21211: gettext_lazy("the number is not a valid phone number"),
    21408: gettext_lazy("texting this country is not enabled for our account"),
    OPTED_OUT: gettext_lazy("the recipient has opted out of texts from us (replied STOP)"),
    21612: gettext_lazy("this number cannot be reached by SMS from our number"),
    21614: gettext_lazy("the number cannot receive SMS (a landline?)"),
    30003: gettext_lazy("the phone is switched off or out of coverage"),
    30004: gettext_lazy("the recipient or their carrier blocked it"),
    30005: gettext_lazy("the number does not exist (any more)"),
    30006: gettext_lazy("the number is a landline, or its carrier cannot take texts"),
    30007: gettext_lazy("the carrier filtered it as spam"),
    30008: gettext_lazy("the carrier gave no reason"),
    30034: gettext_lazy("our number is not registered for texting US numbers (A2P 10DLC)"),
}


class RecipientOptedOut(DeliveryError):
    """Twilio refused: the recipient texted STOP to our number (maybe before the desk knew)."""


def twilio_error(code: int | str, detail: str = "") -> str:
    """'Twilio error 30005: the number does not exist (any more)', in the desk's language;
    `detail` (Twilio's own words) for a code not listed."""
    meaning = _ERRORS.get(int(code)) if str(code).isdigit() else None
    with translation.override(default_language()):
        said = str(meaning) if meaning is not None else detail
    return f"Twilio error {code}: {said}" if said else f"Twilio error {code}"


def split_sms(text: str, *, limit: int = MAX_PART_CHARS, max_parts: int = MAX_PARTS) -> list[str]:
    """Parts of at most `limit` characters, cut at whitespace, numbered when more than one."""
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    # The widest prefix, "(10/10) ", fits in every part.
    budget = limit - len(f"({max_parts}/{max_parts}) ")
    chunks = _chunks(text, budget)
    if len(chunks) > max_parts:
        chunks = chunks[:max_parts]
        chunks[-1] = _chunks(chunks[-1], budget - len(TRUNCATION_NOTE))[0] + TRUNCATION_NOTE
    total = len(chunks)
    return [f"({index}/{total}) {chunk}" for index, chunk in enumerate(chunks, start=1)]


def _chunks(text: str, size: int) -> list[str]:
    chunks = []
    while text:
        if len(text) <= size:
            chunks.append(text)
            break
        cut = size
        if not text[size].isspace():
            space = max(text.rfind(" ", 0, size), text.rfind("\n", 0, size))
            # A word longer than half a part is cut where it must be.
            if space > size // 2:
                cut = space
        chunks.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return chunks


def send_sms(to: str, body: str, *, backend: "BaseSmsBackend | None" = None) -> list[str]:
    """Send a text (split if long) to an E.164 number; the provider's id of each part."""
    parts = split_sms(body)
    if not parts:
        raise DeliveryError("The message is empty.", permanent=True)
    return (backend or get_backend()).send_parts(to, parts)


def get_backend(name: str | None = None) -> "BaseSmsBackend":
    name = name or settings.SMS_BACKEND
    if name in _BACKENDS:
        return _BACKENDS[name]()
    try:
        backend_class = import_string(name)
    except ImportError:
        raise ImproperlyConfigured(
            f"SMS_BACKEND={name!r}: use console, locmem, twilio or a dotted path."
        ) from None
    backend = backend_class()
    if not isinstance(backend, BaseSmsBackend):
        raise ImproperlyConfigured(f"SMS_BACKEND={name!r} is not a BaseSmsBackend.")
    return backend


class BaseSmsBackend:
    def send_parts(self, to: str, parts: list[str]) -> list[str]:
        """Send each part in order; return the provider's id of each."""
        raise NotImplementedError


class ConsoleBackend(BaseSmsBackend):
    """Development: the text goes to the log instead of a phone."""

    def send_parts(self, to: str, parts: list[str]) -> list[str]:
        ids = []
        for part in parts:
            provider_id = f"console-{uuid.uuid4().hex}"
            logger.info("SMS to %s (%s):\n%s", to, provider_id, part)
            ids.append(provider_id)
        return ids


@dataclass(frozen=True)
class SentSms:
    to: str
    body: str
    provider_id: str


# What the locmem backend "sent"; tests read and clear it.
outbox: list[SentSms] = []


class LocmemBackend(BaseSmsBackend):
    """Tests: like django.core.mail's locmem backend, sent texts are kept in `outbox`."""

    def send_parts(self, to: str, parts: list[str]) -> list[str]:
        ids = []
        for part in parts:
            provider_id = f"SMlocmem{uuid.uuid4().hex}"
            outbox.append(SentSms(to=to, body=part, provider_id=provider_id))
            ids.append(provider_id)
        return ids


class TwilioBackend(BaseSmsBackend):
    """The Twilio Messages API, with a timeout on every call."""

    def __init__(self, http_client: HttpClient | None = None) -> None:
        self.http_client = http_client or TwilioHttpClient(timeout=TWILIO_TIMEOUT)

    def send_parts(self, to: str, parts: list[str]) -> list[str]:
        client = self._client()
        ids: list[str] = []
        for number, part in enumerate(parts, start=1):
            try:
                message = client.messages.create(
                    to=to,
                    from_=settings.TWILIO_FROM_NUMBER,
                    body=part,
                    status_callback=settings.PUBLIC_BASE_URL + STATUS_CALLBACK_PATH,
                )
            except (TwilioException, requests.RequestException) as error:
                failure = _delivery_error(error)
                # Twilio's messages can quote the number: log the status and code only.
                logger.log(
                    logging.INFO if failure.permanent else logging.ERROR,
                    "SMS part %s/%s not sent (%s): %s HTTP %s code %s",
                    number,
                    len(parts),
                    "permanent" if failure.permanent else "will retry",
                    type(error).__name__,
                    getattr(error, "status", "-"),
                    getattr(error, "code", "-"),
                )
                raise _partial(failure, sent=len(ids), total=len(parts)) from error
            ids.append(str(message.sid))
        return ids

    def _client(self) -> Client:
        sid, token = settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN
        if not (sid and token and settings.TWILIO_FROM_NUMBER):
            raise ImproperlyConfigured(
                "SMS_BACKEND=twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and "
                "TWILIO_FROM_NUMBER."
            )
        # environment={} : credentials come from settings only, never from os.environ.
        return Client(sid, token, http_client=self.http_client, environment={})


def _delivery_error(error: Exception) -> DeliveryError:
    if isinstance(error, TwilioRestException | TwilioServiceException):
        status, code = int(error.status), error.code
        detail = (
            error.msg if isinstance(error, TwilioRestException) else error.detail or error.title
        )
        if status == 429 or status >= 500:
            return DeliveryError(f"Twilio is unavailable (HTTP {status}).", permanent=False)
        if status in (401, 403):
            # Ours, not the recipient's: wrong credentials or account suspended. Retried, so
            # replies go out once an admin fixes the settings.
            return DeliveryError(
                f"Twilio refused our credentials (HTTP {status}).", permanent=False
            )
        if code == OPTED_OUT:
            return RecipientOptedOut(twilio_error(code), permanent=True)
        return DeliveryError(twilio_error(code, detail), permanent=True)
    if isinstance(error, requests.RequestException):
        return DeliveryError(f"Could not reach Twilio ({type(error).__name__}).", permanent=False)
    return DeliveryError(f"Twilio client error: {error}", permanent=False)


def _partial(error: DeliveryError, *, sent: int, total: int) -> DeliveryError:
    """After some parts went out, a retry would send them twice: fail for good, and say so."""
    if sent == 0:
        return error
    return DeliveryError(f"Only {sent} of {total} parts were sent: {error.reason}", permanent=True)


_BACKENDS: dict[str, type[BaseSmsBackend]] = {
    "console": ConsoleBackend,
    "locmem": LocmemBackend,
    "twilio": TwilioBackend,
}
