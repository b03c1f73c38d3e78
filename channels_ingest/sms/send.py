"""Sending texts: an agent's reply (the number to use, then the configured backend), and
the one door every text goes out by, which asks whether the number may be texted."""

from django.utils import timezone

from channels_ingest.errors import DeliveryError
from channels_ingest.outbox import Outbox
from channels_ingest.sms.backends import BaseSmsBackend, RecipientOptedOut, send_sms
from tickets import services
from tickets.models import Channel, ContactPoint, Message, MessageKind
from tickets.outbound_selectors import ConversationRow, sms_contact_for
from tickets.services import undeliverable


def send_text(
    to: str,
    body: str,
    *,
    backend: BaseSmsBackend | None = None,
    contact: ContactPoint | None = None,
) -> list[str]:
    """send_sms, unless the number's owner texted STOP: then a permanent DeliveryError that
    says so (kept on the reply, or the notice, for agents to read). Every text goes out
    here: replies, known issues' notices, verification links. `contact`: the number's
    contact point when read already (a batch), so that asking costs no query."""
    refused = undeliverable.texting_refused(to, read=contact)
    if refused is not None:
        raise DeliveryError(refused, permanent=True)
    return send_sms(to, body, backend=backend)


def deliver_sms(
    message: Message, outbox: Outbox, conversation: list[ConversationRow] | None = None
) -> list[str]:
    """Send an outbound SMS message through the outbox's SMS backend; the provider id of
    each part (a long text goes out as several).

    Status callbacks find the message by any of them. Goes over the network: never call
    inside a transaction. `conversation`: its ticket's, when read for a batch.
    """
    if message.kind != MessageKind.OUTBOUND or message.channel != Channel.SMS:
        raise DeliveryError(
            f"Message {message.pk} is not an outbound SMS ({message.kind}, {message.channel}).",
            permanent=True,
        )
    contact = sms_contact_for(message, conversation)
    if contact is None:
        raise DeliveryError("The customer has no phone number.", permanent=True)
    try:
        return send_text(contact.value, message.body_text, backend=outbox.sms, contact=contact)
    except RecipientOptedOut:
        # They texted STOP before the desk knew: no more texts to them from any door.
        services.phone_record_opted_out(message=message, number=contact.value, at=timezone.now())
        raise
