"""What email providers report about the emails we sent, through anymail's tracking
webhooks (`/anymail/<provider>/tracking/`, verified by anymail): delivered, or bounced and
why. A bounce marks the message not delivered and tells the agents who wrote it and own the
ticket; without it they would wait for an answer to an email the customer never got."""

import logging
from typing import Any

from anymail.signals import AnymailTrackingEvent, EventType

from tickets import services
from tickets.collab import services as collab
from tickets.models import DeliveryStatus

logger = logging.getLogger(__name__)

# anymail's normalised event types -> ours. A delay ("deferred") is not final: the provider
# is still trying. Opens, clicks and complaints say nothing about delivery.
_STATUS = {
    EventType.DELIVERED: DeliveryStatus.DELIVERED,
    EventType.BOUNCED: DeliveryStatus.FAILED,
    EventType.REJECTED: DeliveryStatus.FAILED,
    EventType.FAILED: DeliveryStatus.FAILED,
}
_REASON_CHARS = 1000


def record_email_delivery(
    sender: Any, event: AnymailTrackingEvent, esp_name: str, **kwargs: Any
) -> None:
    """anymail's tracking signal: the report goes on the message the provider sent under
    its id; reports on messages that are not ours (other mail of the account) are ignored."""
    status = _STATUS.get(event.event_type)
    if status is None or not event.message_id:
        return
    reason = _reason(event, esp_name) if status == DeliveryStatus.FAILED else ""
    provider_id = str(event.message_id)
    found: object = services.message_record_delivery(
        provider_id=provider_id, status=status, error=reason, recipient=str(event.recipient or "")
    )
    if found is None and status == DeliveryStatus.FAILED:
        found = collab.side_message_record_bounce(reason=reason, provider_id=provider_id)
    if found is None:
        logger.info("%s %s report for an unknown message ignored", esp_name, event.event_type)


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
