"""Sending a reply by email through Django's mail backend (anymail in production)."""

import smtplib
from collections.abc import Iterable

from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
from django.core.mail import EmailMultiAlternatives

from channels_ingest.errors import DeliveryError
from channels_ingest.outbox import Outbox
from tickets import addressing
from tickets.branding.mail import branded_email
from tickets.html import text_to_html
from tickets.models import Attachment, Message, SideAttachment, SideMessage
from tickets.outbound_selectors import ConversationRow, email_thread_for


def deliver_email(
    message: Message, outbox: Outbox, conversation: list[ConversationRow] | None = None
) -> str:
    """Send one outbound message through the outbox's mail session; returns the provider's
    id for it (or our Message-ID). `conversation`: its ticket's, when read for a batch."""
    thread = email_thread_for(message, conversation)
    if thread is None:
        raise DeliveryError("The customer has no email address.", permanent=True)
    ticket = message.ticket
    # From the brand's name and support address (or the configured ones): tickets.branding.
    email = branded_email(
        subject=_subject(message),
        text=message.body_text,
        html=_html(message),
        to=[thread.to],
        cc=thread.cc,
        reply_to=[addressing.reply_address(ticket.pk)],
        headers=_headers(message, thread.in_reply_to, thread.references),
    )
    email.connection = outbox.mail
    _attach(email, message.attachments.all())
    return _send(email, message.external_id)


def deliver_side_email(message: SideMessage) -> str:
    """Send one message of a side conversation to its third party, in its own thread: its
    own reply address, Message-IDs and subject tag, never the ticket's (a reply to it must
    never reach the customer's conversation)."""
    conversation = message.conversation
    earlier = list(
        conversation.messages.filter(created_at__lte=message.created_at, external_id__isnull=False)
        .exclude(pk=message.pk)
        .order_by("created_at", "id")
        .values_list("external_id", flat=True)
    )
    tag = addressing.side_subject_tag(conversation.ticket.reference, conversation.pk)
    subject = conversation.subject if not earlier else f"Re: {conversation.subject}"
    headers = {"Message-ID": message.external_id or ""}
    if earlier:
        headers["In-Reply-To"] = str(earlier[-1])
        headers["References"] = " ".join(str(ref) for ref in earlier[-20:])
    # From the brand, like a reply; only the reply address differs.
    email = branded_email(
        subject=subject if tag in subject else f"{subject} {tag}",
        text=message.body_text,
        to=[conversation.counterpart],
        reply_to=[addressing.side_reply_address(conversation.pk)],
        headers=headers,
    )
    _attach(email, message.attachments.all())
    return _send(email, message.external_id)


def _attach(
    email: EmailMultiAlternatives, attachments: Iterable[Attachment | SideAttachment]
) -> None:
    for attachment in attachments:
        with attachment.file.open("rb") as handle:
            email.attach(attachment.filename, handle.read(), attachment.content_type)


def _send(email: EmailMultiAlternatives, message_id: str | None) -> str:
    """Hand the email to the backend; returns the provider's id for it (or our Message-ID)."""
    try:
        email.send()
    except AnymailRecipientsRefused as error:
        raise DeliveryError(f"The recipient was refused: {error}", permanent=True) from error
    except smtplib.SMTPRecipientsRefused as error:
        # 4xx (mailbox busy, greylisted, a rate limit): for now; 5xx: for good.
        permanent = all(code >= 500 for code, _ in error.recipients.values())
        raise DeliveryError(f"The recipient was refused: {error}", permanent=permanent) from error
    except AnymailAPIError as error:
        status = getattr(error, "status_code", None)
        permanent = status is not None and 400 <= status < 500 and status != 429
        raise DeliveryError(f"Email provider error: {error}", permanent=permanent) from error
    except (smtplib.SMTPException, OSError) as error:
        raise DeliveryError(f"Mail server unavailable: {error}", permanent=False) from error
    provider_id = getattr(getattr(email, "anymail_status", None), "message_id", None)
    if provider_id is None or provider_id == "":  # SMTP, or recipients with different ids
        return (message_id or "")[:255]
    return str(provider_id)[:255]  # the id the provider's delivery reports will name


def _subject(message: Message) -> str:
    ticket = message.ticket
    subject = message.subject or ticket.subject
    if not message.subject and not subject.lower().startswith("re:"):
        subject = f"Re: {subject}"
    # One line whatever it was given: a line break would fail the header (or start another).
    return addressing.subject_with_reference(" ".join(subject.split()), ticket.reference)


def _headers(message: Message, in_reply_to: str, references: tuple[str, ...]) -> dict[str, str]:
    headers = {"Message-ID": message.external_id or addressing.new_message_id(message.ticket_id)}
    if in_reply_to:
        headers["In-Reply-To"] = in_reply_to
    if references:
        headers["References"] = " ".join(references)
    if message.is_automatic:
        # RFC 3834: tells other systems not to answer us automatically.
        headers["Auto-Submitted"] = "auto-replied"
        headers["X-Auto-Response-Suppress"] = "All"
    return headers


def _html(message: Message) -> str:
    """The HTML part: the agent's HTML, or the text with its links made links."""
    return message.body_html or text_to_html(message.body_text)
