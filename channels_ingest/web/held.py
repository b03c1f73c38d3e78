"""Contact-form requests that look like spam: held for an admin, never dropped.

A filled-in honeypot field is what robots do, but a person's browser may fill it too (an
autofill, a screen reader's user): the request is kept as an inbound item "held as
suspected spam", with everything the person sent, and an admin releases it (it opens its
ticket as the form would have) or deletes it (channels_ingest admin).
"""

import base64
import json
import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from channels_ingest.models import InboundItem, InboundStatus
from tickets import services
from tickets.inbound import InboundAttachment, InboundMessage
from tickets.models import Channel, ContactKind, Ticket

SOURCE = "contact form"


def inbound_of_form(data: dict[str, Any]) -> InboundMessage:
    """The contact form's cleaned data as the ticket services take a message."""
    files = data["attachments"]
    return _request(
        data, tuple(InboundAttachment(f.name, f.content_type or "", f.read()) for f in files)
    )


def _request(fields: dict[str, Any], attachments: tuple[InboundAttachment, ...]) -> InboundMessage:
    """A contact-form request (its fields as the form names them) as a message."""
    return InboundMessage(
        channel=Channel.WEB,
        sender_kind=ContactKind.EMAIL,
        sender=fields["email"],
        sender_name=fields["name"],
        subject=fields["subject"],
        text=fields["description"],
        attachments=attachments,
        # What they chose it is about (a request held before this was asked has none).
        product_id=fields.get("product_id"),
        service_id=fields.get("service_id"),
    )


def hold(
    inbound: InboundMessage, *, urgency: str, reason: str, submission: str = ""
) -> InboundItem:
    """Keep a contact-form request for an admin to look at, with all the person sent;
    `submission` (the form's id) keeps a form sent twice once."""
    payload = {
        "name": inbound.sender_name,
        "email": inbound.sender,
        "subject": inbound.subject,
        "description": inbound.text,
        "urgency": urgency,
        "product_id": inbound.product_id,
        "service_id": inbound.service_id,
        "attachments": [
            {
                "filename": a.filename,
                "content_type": a.content_type,
                "content": base64.b64encode(a.content).decode("ascii"),
            }
            for a in inbound.attachments
        ],
    }
    item, _created = InboundItem.objects.get_or_create(
        channel=Channel.WEB,
        idempotency_key=f"held:{submission or uuid.uuid4()}",
        defaults={
            "source": SOURCE,
            "payload": json.dumps(payload).encode(),
            "content_type": "application/json",
            "status": InboundStatus.HELD,
            "error": f"Held as suspected spam: {reason}",
        },
    )
    return item


def _inbound_of_held(payload: dict[str, Any]) -> InboundMessage:
    files = payload["attachments"]
    return _request(
        payload,
        tuple(
            InboundAttachment(f["filename"], f["content_type"], base64.b64decode(f["content"]))
            for f in files
        ),
    )


def release(item_id: int) -> Ticket | None:
    """Open the held request's ticket, as the form would have; None if it is not held."""
    with transaction.atomic():
        item = InboundItem.objects.select_for_update().filter(pk=item_id).first()
        if item is None or item.status != InboundStatus.HELD:
            return None
        payload = json.loads(bytes(item.payload))
        inbound = _inbound_of_held(payload)
        ticket = services.ticket_open(inbound=inbound, priority=payload["urgency"]).ticket
        item.status, item.ticket, item.outcome = InboundStatus.PROCESSED, ticket, "released"
        item.processed_at = timezone.now()
        item.error = ""
        item.save(update_fields=["status", "ticket", "outcome", "processed_at", "error"])
    return ticket
