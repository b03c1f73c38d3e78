"""Twilio's voice requests (urlencoded) -> InboundMessage: a call's status callback
(CallStatus=completed), and a voicemail (<Record>'s action).

Pure: no database, no network. Recordings are linked by URL, not downloaded.
"""

from collections.abc import Mapping

from channels_ingest.errors import Rejected
from channels_ingest.sms.parse import form_fields, phone_number
from tickets.inbound import InboundCall, InboundMessage
from tickets.models import CallDirection, CallLog, Channel, ContactKind

_MAX_URL = CallLog._meta.get_field("recording_url").max_length or 500


def parse_call(payload: bytes) -> InboundMessage:
    fields = form_fields(payload)
    sid = fields.get("CallSid", "").strip()
    if not sid:
        raise Rejected("no CallSid")
    direction = _direction(fields.get("Direction", ""))
    # The customer is the other end: the caller of an inbound call, the callee of ours.
    if direction == CallDirection.INBOUND:
        number = phone_number(fields.get("From", ""), role="caller")
    else:
        number = phone_number(fields.get("To", ""), role="callee")
    duration = _seconds(fields.get("CallDuration", ""))
    recording_url = fields.get("RecordingUrl", "").strip()
    text = f"{CallDirection(direction).label} call, {_spoken(duration)}."
    if recording_url:
        text += f" Recording: {recording_url}"
    return InboundMessage(
        channel=Channel.PHONE,
        sender_kind=ContactKind.PHONE,
        sender=number,
        text=text,
        external_id=sid,
        call=InboundCall(
            direction=direction,
            phone_number=number,
            duration_seconds=duration,
            # One too long for the column stays in the text only.
            recording_url=recording_url if len(recording_url) <= _MAX_URL else "",
        ),
    )


def _direction(raw: str) -> CallDirection:
    """Twilio says inbound, outbound-api or outbound-dial; absent means inbound."""
    raw = raw.strip().lower()
    if raw in ("", "inbound"):
        return CallDirection.INBOUND
    if raw.startswith("outbound"):
        return CallDirection.OUTBOUND
    raise Rejected(f"unknown call direction {raw!r}")


def _seconds(raw: str) -> int:
    try:
        return max(int(raw.strip() or 0), 0)
    except ValueError:
        raise Rejected(f"CallDuration is not a number of seconds: {raw!r}") from None


def _spoken(seconds: int) -> str:
    """3 min 12 s, 1 h 5 min 0 s, 45 s."""
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min {seconds} s"
    if minutes:
        return f"{minutes} min {seconds} s"
    return f"{seconds} s"


def parse_voicemail(payload: bytes) -> InboundMessage:
    """<Record>'s action request (the caller spoke after the greeting): a message with the
    recording's link. The call itself is logged by its status callback (parse_call)."""
    fields = form_fields(payload)
    sid = fields.get("CallSid", "").strip()
    if not sid:
        raise Rejected("no CallSid")
    number = phone_number(fields.get("From", ""), role="caller")
    recording_url = fields.get("RecordingUrl", "").strip()
    if not recording_url:
        raise Rejected("no recording")
    duration = _seconds(fields.get("RecordingDuration", ""))
    return InboundMessage(
        channel=Channel.PHONE,
        sender_kind=ContactKind.PHONE,
        sender=number,
        text=f"Voicemail, {_spoken(duration)}: {recording_url}",
        external_id=voicemail_key(sid),
    )


def voicemail_key(call_sid: str) -> str:
    """A call's voicemail, stored once however often Twilio posts it."""
    return f"{call_sid}:voicemail"


def has_recording(fields: Mapping[str, str]) -> bool:
    """Whether <Record>'s action brings something said: a caller who hung up at the tone
    leaves no recording, or one of no length."""
    try:
        return (
            bool(fields.get("RecordingUrl", "").strip())
            and _seconds(fields.get("RecordingDuration", "") or "") > 0
        )
    except Rejected:
        return False
