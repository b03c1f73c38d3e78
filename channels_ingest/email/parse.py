"""Raw RFC 5322 bytes -> InboundMessage: the email channel's pure parser.

Never loses a message: any input gives an InboundMessage except one without a sender
address (Rejected). What cannot be read is said in the text, and the original is attached.
"""

import hashlib
import logging
import traceback
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from django.conf import settings
from django.utils import timezone

from channels_ingest.email.bounces import delivery_report
from channels_ingest.email.content import Content, Forward, read_content
from channels_ingest.email.content_files import format_size, keep_attachments
from channels_ingest.email.content_text import html_to_text, normalise, text_to_html, trim_reply
from channels_ingest.email.parse_headers import (
    addresses,
    clean_text,
    header_text,
    message_ids,
    read_header_block,
    unfold,
)
from channels_ingest.errors import Rejected
from tickets.inbound import InboundAttachment, InboundMessage
from tickets.models import Channel, ContactKind

logger = logging.getLogger(__name__)

UNREADABLE_NOTE = "(This message could not be fully read; the original is attached.)"
PARTLY_READ_NOTE = "(Part of this message could not be read; the original is attached.)"
EMPTY_NOTE = "(The message has no text.)"
FORWARD_LINE = "---------- Forwarded message ----------"
ORIGINAL_FILENAME = "original.eml"

RECIPIENT_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")
MAX_THREAD_IDS = 100
_EARLIEST_DATE = datetime(1990, 1, 1, tzinfo=UTC)
_LATEST_DATE_AHEAD = timedelta(days=1)

_AUTOMATIC_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
_AUTOMATIC_HEADERS = (
    "X-Autoreply",
    "X-Autorespond",
    "X-Autoresponder",
    "List-Id",
    "List-Unsubscribe",
)
_AUTOMATIC_SENDERS = {
    "mailer-daemon",
    "postmaster",
    "no-reply",
    "noreply",
    "do-not-reply",
    "donotreply",
}


class _Headers:
    """Top-level header fields, looked up case-insensitively."""

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        self._values: dict[str, list[str]] = {}
        for name, value in fields:
            self._values.setdefault(name.lower(), []).append(value)

    def all(self, name: str) -> list[str]:
        return list(self._values.get(name.lower(), ()))

    def first(self, name: str) -> str:
        values = self._values.get(name.lower())
        return values[0] if values else ""

    def has(self, name: str) -> bool:
        return name.lower() in self._values


def idempotency_key(raw: bytes) -> str:
    """The Message-ID as '<...>'; without one, 'sha256:' and the digest of the bytes."""
    try:
        headers = _Headers(read_header_block(bytes(raw)))
    except Exception as error:  # total by contract: garbage gets the digest
        logger.info("no usable Message-ID (%s); using the digest", type(error).__name__)
        return _digest(raw)
    return _key(raw, headers)


def _key(raw: bytes, headers: _Headers) -> str:
    try:
        for value in headers.all("Message-ID"):
            found = message_ids(value, bare=True, limit=1)
            if found:
                return found[0]
    except Exception as error:  # total by contract: garbage gets the digest
        logger.info("no usable Message-ID (%s); using the digest", type(error).__name__)
    return _digest(raw)


def _digest(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(bytes(raw)).hexdigest()


def parse_email(raw: bytes, *, now: datetime | None = None) -> InboundMessage:
    """What a customer said by email. Raises Rejected only when there is no sender address."""
    raw = bytes(raw)
    headers = _Headers(read_header_block(raw))
    sender, sender_name = _sender(headers)
    try:
        return _parsed(raw, headers, sender, sender_name, now=now or timezone.now())
    except Exception as error:  # a bug of ours or of a library: keep the message anyway
        frame = traceback.extract_tb(error.__traceback__)[-1]
        logger.error(  # the message text stays out of the log: it is the customer's
            "email parser failed (%s at %s:%s); stored with the original attached",
            type(error).__name__,
            frame.filename.rsplit("/", 1)[-1],
            frame.lineno,
        )
        text, _, attachments = _with_original(raw, UNREADABLE_NOTE, "", (), _max_bytes())
        return InboundMessage(
            channel=Channel.EMAIL,
            sender_kind=ContactKind.EMAIL,
            sender=sender,
            sender_name=sender_name,
            text=text,
            external_id=_key(raw, headers),
            attachments=attachments,
            original=raw,
        )


def _parsed(
    raw: bytes, headers: _Headers, sender: str, sender_name: str, *, now: datetime
) -> InboundMessage:
    subject = header_text(headers.first("Subject"))
    text, html, attachments = _body(raw, read_content(raw), subject=subject)
    return InboundMessage(
        channel=Channel.EMAIL,
        sender_kind=ContactKind.EMAIL,
        sender=sender,
        sender_name=sender_name,
        subject=subject,
        text=text,
        html=html,
        external_id=_key(raw, headers),
        received_at=_received_at(headers, now=now),
        attachments=attachments,
        thread_ids=_thread_ids(headers),
        recipients=_recipients(headers),
        cc=_cc(headers, sender=sender),
        is_automatic=_is_automatic(headers),
        original=raw,
        # The language the sender's mail client says it is written in (RFC 3282), if any.
        language=header_text(headers.first("Content-Language"))[:100],
        delivery_report=delivery_report(raw, unfold(headers.first("Content-Type"))),
    )


def _max_bytes() -> int:
    return int(settings.HELPDESK_MAX_ATTACHMENT_BYTES)


def _sender(headers: _Headers) -> tuple[str, str]:
    for name in ("From", "Reply-To", "Sender"):
        found = addresses(headers.all(name))
        if found:
            return found[0]
    raise Rejected("no sender address")


def _received_at(headers: _Headers, *, now: datetime) -> datetime | None:
    value = " ".join(unfold(headers.first("Date")).split())
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except Exception:  # any malformed date is simply not used
        return None
    if when.tzinfo is None:  # "-0000": the time is UTC, the zone unknown
        when = when.replace(tzinfo=UTC)
    if when < _EARLIEST_DATE or when > now + _LATEST_DATE_AHEAD:
        return None
    return when


def _thread_ids(headers: _Headers) -> tuple[str, ...]:
    replied_to = [i for value in headers.all("In-Reply-To") for i in message_ids(value)]
    references = [
        i for value in headers.all("References") for i in message_ids(value, limit=10_000)
    ]
    unique: list[str] = []
    for message_id in replied_to + references[::-1]:
        if message_id not in unique:
            unique.append(message_id)
    return tuple(unique[:MAX_THREAD_IDS])


def _recipients(headers: _Headers) -> tuple[str, ...]:
    found: list[str] = []
    for name in RECIPIENT_HEADERS:
        for address, _ in addresses(headers.all(name)):
            if address.lower() not in found:
                found.append(address.lower())
    return tuple(found)


def _cc(headers: _Headers, *, sender: str) -> tuple[tuple[str, str], ...]:
    seen = {sender.lower()}
    people: list[tuple[str, str]] = []
    for address, name in addresses(headers.all("To") + headers.all("Cc")):
        if address.lower() not in seen:
            seen.add(address.lower())
            people.append((address, name))
    return tuple(people)


def _is_automatic(headers: _Headers) -> bool:
    auto_submitted = _token(headers.first("Auto-Submitted"))
    if headers.has("Auto-Submitted") and auto_submitted != "no":
        return True
    if any(_token(value) in _AUTOMATIC_PRECEDENCE for value in headers.all("Precedence")):
        return True
    if any(headers.has(name) for name in _AUTOMATIC_HEADERS):
        return True
    for address, _ in addresses(headers.all("From") + headers.all("Sender")):
        local = address.rsplit("@", 1)[0].split("+", 1)[0].lower()
        if local in _AUTOMATIC_SENDERS:
            return True
    if any("".join(unfold(value).split()) == "<>" for value in headers.all("Return-Path")):
        return True
    return _token(headers.first("Content-Type")) == "multipart/report"


def _token(value: str) -> str:
    """The first word of a structured header value: 'auto-replied; owner=x' -> 'auto-replied'."""
    return unfold(value).split(";", 1)[0].strip().lower()


def _body(
    raw: bytes, content: Content | None, *, subject: str
) -> tuple[str, str, tuple[InboundAttachment, ...]]:
    max_bytes = _max_bytes()
    if content is None:
        return _with_original(raw, UNREADABLE_NOTE, "", (), max_bytes)
    body = content.body
    main = body.text if body.text.strip() else html_to_text(body.html) if body.html.strip() else ""
    blocks = [trim_reply(normalise(main), subject=subject)]
    html = body.html if body.html.strip() else ""
    for forward in content.forwards:
        block, forward_html = _forward(forward)
        blocks.append(block)
        if html:  # a plain-text message keeps no HTML: its text says it all
            html += forward_html
    attachments, notes = keep_attachments(content.files, max_bytes=max_bytes)
    text = "\n\n".join(block for block in blocks if block.strip())
    if content.lost:
        text = f"{text}\n\n{PARTLY_READ_NOTE}" if text.strip() else UNREADABLE_NOTE
    elif not (text.strip() or html.strip() or attachments or notes) and subject:
        text = EMPTY_NOTE  # a message that is all subject still reaches the help desk
    text = "\n\n".join([text, *notes]) if notes else text
    if content.lost:
        return _with_original(raw, text, html, attachments, max_bytes)
    return normalise(text), clean_text(html), attachments


def _forward(forward: Forward) -> tuple[str, str]:
    """A forwarded message as a text block (untrimmed: it is the point) and as HTML."""
    heading = f"{FORWARD_LINE}\n{forward.summary}".rstrip()
    text = forward.body.text
    if not text.strip() and forward.body.html.strip():
        text = html_to_text(forward.body.html)
    html = forward.body.html if forward.body.html.strip() else text_to_html(text)
    return f"{heading}\n\n{normalise(text)}".rstrip(), f"\n<hr>\n{text_to_html(heading)}\n{html}"


def _with_original(
    raw: bytes,
    text: str,
    html: str,
    attachments: tuple[InboundAttachment, ...],
    max_bytes: int,
) -> tuple[str, str, tuple[InboundAttachment, ...]]:
    """Attach the raw message, so whatever could not be read can still be opened."""
    if len(raw) <= max_bytes:
        original = InboundAttachment(
            filename=ORIGINAL_FILENAME, content_type="message/rfc822", content=raw
        )
        attachments = (*attachments, original)
    else:
        text += (
            f"\n\n[Attachment {ORIGINAL_FILENAME} ({format_size(len(raw))}) was not stored: "
            f"larger than the {format_size(max_bytes)} limit.]"
        )
    return normalise(text), clean_text(html), attachments
