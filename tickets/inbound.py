"""The plain values every channel adapter hands to the ingestion services."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from tickets.models import Channel, ContactKind, Message, Ticket


@dataclass(frozen=True)
class InboundAttachment:
    filename: str
    content_type: str
    content: bytes
    content_id: str = ""


@dataclass(frozen=True)
class InboundMessage:
    """What a customer said, on which channel, from which address or number."""

    channel: Channel
    sender_kind: ContactKind
    sender: str
    text: str
    sender_name: str = ""
    subject: str = ""
    html: str = ""
    # The channel's id for this message (Message-ID, SMS sid ...): makes redelivery harmless.
    external_id: str | None = None
    received_at: datetime | None = None
    attachments: tuple[InboundAttachment, ...] = field(default_factory=tuple)


class IngestOutcome(StrEnum):
    NEW = "new"
    THREADED = "threaded"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class IngestResult:
    ticket: Ticket
    message: Message
    outcome: IngestOutcome
