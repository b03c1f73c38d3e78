"""A Twilio inbound-SMS webhook body (application/x-www-form-urlencoded) -> InboundMessage.

Pure: no database, no network. Media (MMS) are listed by URL, not downloaded.
"""

import re
from urllib.parse import parse_qs

from channels_ingest.errors import Rejected
from tickets.contacts import normalize_phone
from tickets.errors import InvalidInput
from tickets.inbound import InboundMessage, SmsConsent
from tickets.models import Channel, ContactKind

# Digits with the usual punctuation: excludes alphanumeric sender IDs and channel
# addresses such as "whatsapp:+14155550123", which cannot be answered by SMS.
_DIALLABLE = re.compile(r"^\+?[\d\s().-]+$")
# Twilio sends at most 10 media items per message; this bounds a forged NumMedia.
_MAX_MEDIA = 10
# Twilio's default opt-out and opt-in keywords: a text that is only one of them (any case)
# opts its sender out of our texts, or back in; Twilio itself blocks or unblocks the number
# (US and Canadian numbers), and we stop or start asking it to send there. A Messaging
# Service's own keywords (Advanced Opt-Out) come named in OptOutType instead.
_OPT_OUT_KEYWORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
_OPT_IN_KEYWORDS = {"START", "YES", "UNSTOP"}
# Twilio's default help keywords: a text that is only one of them gets Twilio's own help reply
# on long codes and toll-free numbers, as does a Messaging Service's own help keyword (named
# in OptOutType=HELP, Advanced Opt-Out); a standalone short code gets none from Twilio.
_HELP_KEYWORDS = {"HELP", "INFO"}
# A short code: a few digits, no country code (long codes and toll-free numbers are E.164).
_SHORT_CODE = re.compile(r"^\d{3,8}$")


def form_fields(payload: bytes) -> dict[str, str]:
    """The first value of each field of a urlencoded body (Twilio sends each field once).

    Twilio sends UTF-8; a stray invalid byte becomes U+FFFD rather than losing the message.
    A NUL character (%00) is dropped: PostgreSQL cannot store it, and a text with one
    failed, never reaching a ticket.
    """
    text = payload.decode("utf-8", errors="replace")
    fields = parse_qs(text, keep_blank_values=True, encoding="utf-8", errors="replace")
    return {name: values[0].replace("\x00", "") for name, values in fields.items()}


def phone_number(raw: str, *, role: str) -> str:
    """E.164 form of a number Twilio reports; Rejected when it cannot be called or texted."""
    raw = raw.strip()
    if not raw:
        raise Rejected(f"no {role} number")
    if not _DIALLABLE.match(raw):
        raise Rejected(f"the {role} {raw!r} is not a phone number (alphanumeric sender ID?)")
    try:
        return normalize_phone(raw)
    except InvalidInput:
        raise Rejected(
            f"the {role} number {raw!r} is not a possible phone number (short code or withheld?)"
        ) from None


def parse_sms(payload: bytes) -> InboundMessage:
    fields = form_fields(payload)
    sid = fields.get("MessageSid", "").strip()
    if not sid:
        raise Rejected("no MessageSid")
    sender = phone_number(fields.get("From", ""), role="sender")
    lines = [fields.get("Body", "").strip()]
    lines += _media_lines(fields)
    text = "\n".join(line for line in lines if line)
    if not text:
        raise Rejected("empty message")
    return InboundMessage(
        channel=Channel.SMS,
        sender_kind=ContactKind.PHONE,
        sender=sender,
        text=text,
        external_id=sid,
        consent=_consent(fields),
        # Twilio answered it already: our acknowledgement would say it twice.
        is_automatic=_answered_by_twilio(fields),
    )


def _consent(fields: dict[str, str]) -> SmsConsent | None:
    """STOP or START, when the text is only an opt-out or opt-in keyword."""
    named = fields.get("OptOutType", "").strip().upper()
    if named in ("STOP", "START"):
        return SmsConsent(named.lower())
    word = _keyword(fields)
    if word in _OPT_OUT_KEYWORDS:
        return SmsConsent.STOP
    if word in _OPT_IN_KEYWORDS:
        return SmsConsent.START
    return None


def _answered_by_twilio(fields: dict[str, str]) -> bool:
    """A HELP that Twilio answers with its own help reply."""
    if fields.get("OptOutType", "").strip().upper() == "HELP":
        return True
    to_short_code = bool(_SHORT_CODE.match(fields.get("To", "").strip()))
    return _keyword(fields) in _HELP_KEYWORDS and not to_short_code


def _keyword(fields: dict[str, str]) -> str:
    """The text as a keyword: upper case, without surrounding spaces and . or !"""
    return fields.get("Body", "").strip().strip(".!").strip().upper()


def _media_lines(fields: dict[str, str]) -> list[str]:
    return [f"[media: {content_type} {url}]" for url, content_type in media_items(fields)]


def media_items(fields: dict[str, str]) -> list[tuple[str, str]]:
    """An MMS's media, in order: (URL, content type as Twilio says it)."""
    try:
        count = int(fields.get("NumMedia", "0") or 0)
    except ValueError:
        raise Rejected(f"NumMedia is not a number: {fields.get('NumMedia')!r}") from None
    items = []
    for index in range(min(max(count, 0), _MAX_MEDIA)):
        url = fields.get(f"MediaUrl{index}", "").strip()
        if not url:
            continue
        content_type = fields.get(f"MediaContentType{index}", "").strip() or "unknown type"
        items.append((url, content_type))
    return items
