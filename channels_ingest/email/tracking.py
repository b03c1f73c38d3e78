"""What email providers report about the emails we sent, through anymail's tracking
webhooks (`/anymail/<provider>/tracking/`, verified by anymail): delivered, delayed, or
bounced and why, or marked as spam. A bounce marks the message not delivered and tells the
agents who wrote it and own the ticket; without it they would wait for an answer to an email
the customer never got. A hard bounce or a complaint flags the address: automatic notices
stop going to it."""

import logging
import re
from datetime import UTC, datetime
from typing import Any

from anymail.signals import AnymailTrackingEvent, EventType, RejectReason
from django.utils import timezone

from channels_ingest import delivery
from tickets import services
from tickets.collab import services as collab
from tickets.models import DeliveryStatus

logger = logging.getLogger(__name__)

# anymail's normalised event types -> ours. A delay ("deferred") is not final: the provider
# is still trying; it shows on the message until its delivery or bounce. A complaint flags
# the address. Opens and clicks say nothing about delivery.
_STATUS = {
    EventType.DELIVERED: DeliveryStatus.DELIVERED,
    EventType.BOUNCED: DeliveryStatus.FAILED,
    EventType.REJECTED: DeliveryStatus.FAILED,
    EventType.FAILED: DeliveryStatus.FAILED,
}
_REASON_CHARS = 1000
# The first SMTP reply code, or enhanced status code, in what the receiving server said.
_SMTP_CODE = re.compile(r"(?<![\d.])([245])(?:\d\d|\.\d{1,3}\.\d{1,3})(?![\d.])")
# What providers call a bounce that says nothing final about the address.
_SOFT_TYPES = {
    "blocked",  # SendGrid: refused for now (e.g. our reputation), not unknown
    "Transient",  # Amazon SES bounceType
}
# Bounces anymail reports as such that are delays: the provider is still trying. Postmark's
# SoftBounce (a full mailbox, say) may yet be delivered, or become a HardBounce; anymail
# calls it "bounced" (its Transient and DnsError it calls "deferred").
_DELAY_TYPES = {("postmark", "SoftBounce")}


def record_email_delivery(
    sender: Any, event: AnymailTrackingEvent, esp_name: str, **kwargs: Any
) -> None:
    """anymail's tracking signal: the report goes on the message the provider sent under
    its id; reports on messages that are not ours (other mail of the account) are ignored."""
    if not event.message_id:
        return
    provider_id = str(event.message_id)
    recipient = str(event.recipient or "")
    delivery.record_reported(provider_id)
    found: object
    if _delayed(event, esp_name):
        found = services.message_record_delay(
            provider_id=provider_id, reason=_reason(event, esp_name)
        )
    elif event.event_type == EventType.COMPLAINED:
        found = services.message_record_complaint(
            provider_id=provider_id,
            recipient=recipient,
            reason=_reason(event, esp_name),
            at=_when(event),
        )
    elif (status := _STATUS.get(event.event_type)) is None:
        return
    else:
        reason = _reason(event, esp_name) if status == DeliveryStatus.FAILED else ""
        found = services.message_record_delivery(
            provider_id=provider_id,
            status=status,
            error=reason,
            recipient=recipient,
            at=_when(event),
            permanent=_permanent(event),
        )
        if found is None and status == DeliveryStatus.FAILED:
            found = collab.side_message_record_bounce(reason=reason, provider_id=provider_id)
    if found is None:
        logger.info("%s %s report for an unknown message ignored", esp_name, event.event_type)


def _delayed(event: AnymailTrackingEvent, esp_name: str) -> bool:
    """Whether the provider is still trying: a delay warning, or a bounce it calls soft."""
    if event.event_type == EventType.DEFERRED:
        return True
    kind = (esp_name.lower(), _provider_type(event.esp_event))
    return event.event_type == EventType.BOUNCED and kind in _DELAY_TYPES


def _when(event: AnymailTrackingEvent) -> datetime | None:
    """The provider's time of the event (None: it gave none, now is taken); one without a
    zone is read as UTC, as the providers mean it."""
    at = event.timestamp
    if isinstance(at, datetime) and timezone.is_naive(at):
        return timezone.make_aware(at, UTC)
    return at if isinstance(at, datetime) else None


def _permanent(event: AnymailTrackingEvent) -> bool:
    """Whether a failure says the address is gone (a hard bounce: unknown user, no such
    domain, or the provider refusing an address it knows bounced or is invalid), not that
    this one message could not be delivered now (a soft bounce: a full mailbox)."""
    if event.event_type == EventType.REJECTED:
        return event.reject_reason in (RejectReason.BOUNCED, RejectReason.INVALID)
    if event.event_type != EventType.BOUNCED:
        return False
    if _provider_type(event.esp_event) in _SOFT_TYPES:
        return False
    code = _SMTP_CODE.search(str(event.mta_response or ""))
    return code is None or code.group(1) == "5"


def _provider_type(esp_event: object) -> str:
    """The provider's own kind of bounce, where it says one (Postmark's Type, SendGrid's
    type, Amazon SES's bounce.bounceType)."""
    if not isinstance(esp_event, dict):
        return ""
    bounce = esp_event.get("bounce")
    if isinstance(bounce, dict):
        return str(bounce.get("bounceType", ""))
    return str(esp_event.get("Type") or esp_event.get("type") or "")


def _reason(event: AnymailTrackingEvent, esp_name: str) -> str:
    """The provider's own words: its description, then the receiving server's answer."""
    said = [
        " ".join(str(part).split())
        for part in (event.description, event.mta_response)
        if part and str(part).strip()
    ]
    if not said:
        said = [f"{event.event_type} ({event.reject_reason or 'no reason given'})"]
    return f"{esp_name}: {' — '.join(dict.fromkeys(said))}"[:_REASON_CHARS]
