"""The plain values every channel adapter hands to the ingestion services."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from helpdesk.languages import default_language, language_of_message
from tickets.models import Channel, ContactKind, Message, SideMessage, Ticket


@dataclass(frozen=True)
class InboundAttachment:
    filename: str
    content_type: str
    content: bytes
    content_id: str = ""


class SmsConsent(StrEnum):
    """What a text that is only an opt-out or opt-in keyword (STOP, START ...) asks for."""

    STOP = "stop"  # no more texts from us
    START = "start"  # texts from us again


@dataclass(frozen=True)
class InboundCall:
    """A phone call reported by a telephony provider or logged by an agent."""

    direction: str  # CallDirection
    phone_number: str
    duration_seconds: int = 0
    recording_url: str = ""


@dataclass(frozen=True)
class DeliveryReport:
    """A mail server's report (RFC 3464) that an email we sent was not delivered, or not yet."""

    message_ids: tuple[str, ...]  # the Message-ID of the email it reports on
    failed: bool  # False: a delay warning; the server is still trying
    failed_recipients: tuple[str, ...] = ()
    reason: str = ""  # what the server said, e.g. "x@example.com: 550 5.1.1 User unknown"
    # Those of failed_recipients whose failure is permanent (status 5.x.x: a hard bounce,
    # the address is gone), not transient (4.x.x, e.g. a mailbox full until it expired).
    permanent_recipients: tuple[str, ...] = ()


@dataclass(frozen=True)
class InboundMessage:
    """What a customer said, on which channel, from which address or number.

    Adapters fill what their channel knows; the ingestion service decides the ticket.
    """

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
    # Email threading: Message-IDs this message answers (In-Reply-To first, then References).
    thread_ids: tuple[str, ...] = ()
    # Every address it was sent to (To, Cc, Delivered-To): may carry our reply token.
    recipients: tuple[str, ...] = ()
    # Other people on the conversation, as (address, name): they become participants.
    cc: tuple[tuple[str, str], ...] = ()
    # An auto-reply, bounce or bulk message, or a keyword the provider answered itself
    # (Twilio's HELP reply): stored, never answered automatically.
    is_automatic: bool = False
    # The message exactly as received (an email's RFC 5322 bytes), kept for "show original".
    original: bytes | None = None
    call: InboundCall | None = None
    # What the customer said it is about (a form's choice), for a new ticket: honoured when
    # valid (an active product; a service of theirs or their organization's), else ignored.
    product_id: int | None = None
    service_id: int | None = None
    # The language the customer reads, when the channel says it (the browser's on the
    # contact form and chat, an email's Content-Language header); else read from the text.
    language: str = ""
    # A bounce of an email we sent: it goes on that message, not on a ticket of its own.
    delivery_report: DeliveryReport | None = None
    # A text saying only STOP or START (as the SMS provider reads it): the sender's number
    # gets no more texts from us, or gets them again. The text is kept like any other.
    consent: SmsConsent | None = None


def inbound_language(inbound: InboundMessage) -> str:
    """The desk's language this message is written in ("" when unsure)."""
    return language_of_message(
        text=f"{inbound.subject}\n{inbound.text}", content_language=inbound.language
    )


def language_worth_keeping(inbound: InboundMessage) -> str:
    """The language to keep on a sender whose language is not known: one other than the
    default ("" otherwise: a blank language already means the default)."""
    language = inbound_language(inbound)
    return language if language != default_language() else ""


class IngestOutcome(StrEnum):
    NEW = "new"
    THREADED = "threaded"
    DUPLICATE = "duplicate"
    BOUNCE = "bounce"  # a delivery report, recorded on the message it is about
    DELAYED = "delayed"  # a delay warning about a message we sent: nothing to record
    CONSENT = "consent"  # a texted STOP or START kept beside the customer, on no ticket


@dataclass(frozen=True)
class IngestResult:
    ticket: Ticket
    message: Message
    outcome: IngestOutcome


@dataclass(frozen=True)
class SideReplyResult:
    """A third party's email that went to its side conversation, not to the customer's
    (tickets.collab.services.side_conversation_receive)."""

    ticket: Ticket
    side_message: SideMessage
    outcome: IngestOutcome


@dataclass(frozen=True)
class ConsentResult:
    """A texted STOP or START from a number with no open ticket: the number's flag changed
    (or not), said among the notes beside its customer (`customer_id`; None for a START
    from a number the desk does not know). Nothing for agents to answer: no ticket."""

    customer_id: int | None
    outcome: IngestOutcome = IngestOutcome.CONSENT


@dataclass(frozen=True)
class DeliveryReportResult:
    """A delivery report recorded on the email it reports on (`message`, one we sent to the
    customer or in a side conversation)."""

    ticket: Ticket
    message: Message | SideMessage
    outcome: IngestOutcome = IngestOutcome.BOUNCE
