"""Copies of an MMS's media (pictures, files), fetched from Twilio once its text is on a
ticket, kept as files of that message.

Twilio keeps media behind the links in the text; an account may protect them with HTTP
auth (then an agent's click asks for the account's credentials), and media can be deleted
there. The fetch sends our account's credentials, to Twilio's hosts only; it runs in a task
after the text is processed, outside any transaction. A fetch failing for now (a timeout,
Twilio's 5xx or 429) is retried; one failing for good (gone: 404) leaves its link in the
text, so nothing the customer sent is lost.
"""

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings

from channels_ingest.models import InboundItem, InboundStatus
from channels_ingest.sms.parse import form_fields, media_items
from tickets import services
from tickets.inbound import InboundAttachment

logger = logging.getLogger(__name__)

# Hosts our account's credentials may be sent to with a media request (Twilio redirects to
# its storage; requests drops the credentials on the way to another host).
TWILIO_MEDIA_HOSTS = ("api.twilio.com",)
# Connect and read timeout of each media request, in seconds.
FETCH_TIMEOUT = 10


class MediaNotYet(Exception):
    """Twilio could not hand the media over now: try again later."""


@dataclass(frozen=True)
class Fetched:
    files: tuple[InboundAttachment, ...]
    missing: int  # media gone for good (their links stay in the text)


def fetch_media_of(item_id: int) -> int | None:
    """Fetch the media of a stored text and keep them as files of its message; how many were
    kept (0 when nothing was to do, or done before). None: the text is not processed yet."""
    item = InboundItem.objects.filter(pk=item_id, channel="sms").first()
    if item is None:
        return 0
    if item.status == InboundStatus.RECEIVED:
        return None
    if item.status != InboundStatus.PROCESSED or item.message_id is None:
        return 0  # refused or failed: no message to keep them on
    wanted = media_items(form_fields(bytes(item.payload)))
    if not wanted:
        return 0
    fetched = _fetch_all(wanted)
    if fetched.missing:
        logger.info("inbound item %s: %s media gone; links kept", item_id, fetched.missing)
    return services.message_keep_received_files(message_id=item.message_id, files=fetched.files)


def _fetch_all(wanted: list[tuple[str, str]]) -> Fetched:
    files, missing = [], 0
    for url, content_type in wanted:
        try:
            content, served_as = _download(url)
        except LookupError:
            missing += 1
            continue
        files.append(
            InboundAttachment(filename="", content_type=served_as or content_type, content=content)
        )
    return Fetched(files=tuple(files), missing=missing)


def _download(url: str) -> tuple[bytes, str]:
    """The media's bytes and content type. LookupError: not to be had (gone, refused, too
    large, not Twilio's); MediaNotYet: for now."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.hostname not in TWILIO_MEDIA_HOSTS:
        raise LookupError(f"not a Twilio media host: {parts.hostname}")
    limit = settings.HELPDESK_MAX_ATTACHMENT_BYTES
    try:
        with requests.get(
            url,
            auth=(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN),
            timeout=FETCH_TIMEOUT,
            stream=True,
        ) as response:
            if response.status_code == 429 or response.status_code >= 500:
                raise MediaNotYet(f"Twilio media: HTTP {response.status_code}")
            if response.status_code != 200:
                raise LookupError(f"Twilio media: HTTP {response.status_code}")
            content = response.raw.read(limit + 1, decode_content=True)
            served_as = response.headers.get("Content-Type", "").split(";")[0].strip()
    except requests.RequestException as error:
        raise MediaNotYet(f"Twilio media: {type(error).__name__}") from error
    if len(content) > limit:
        raise LookupError("Twilio media: larger than the attachment limit")
    return content, served_as
