"""What sending outbound messages reads: the pending messages of a batch with their tickets,
files, copies and customers' addresses, and each ticket's conversation (for the email
thread, the number to text and the automatic-mail limit). A batch of any size costs the same
few queries; one message alone is a batch of one.

The rules that pick the recipients and threading headers work on what was read, so a lone
message and a batch of a hundred are sent alike.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch

from tickets.models import (
    Attachment,
    Channel,
    ContactKind,
    ContactPoint,
    Customer,
    DeliveryStatus,
    Message,
    MessageKind,
    TicketParticipant,
)

# Mail clients cope badly with very long References headers; keep the latest ones.
_MAX_REFERENCES = 20


@dataclass(frozen=True)
class ConversationRow:
    """One message of a ticket's conversation (no internal notes), as sending reads it."""

    pk: int
    kind: str
    channel: str
    sender: str
    external_id: str | None
    created_at: datetime


@dataclass(frozen=True)
class EmailThread:
    """What an outgoing email needs to reach the customer and thread in their mail client."""

    to: str
    cc: tuple[str, ...]
    in_reply_to: str
    references: tuple[str, ...]


@dataclass(frozen=True)
class PendingBatch:
    """The messages of a batch still pending, in the order asked for, with their tickets'
    conversations (oldest first) by ticket id."""

    messages: list[Message]
    conversations: dict[int, list[ConversationRow]]
    # The email addresses flagged undeliverable among those its automatic emails could go
    # to (their customers', the conversations' senders), by address.
    flagged: dict[str, ContactPoint]

    def conversation(self, message: Message) -> list[ConversationRow]:
        return self.conversations.get(message.ticket_id, [])


def pending_outbound(message_ids: Sequence[int], *, claim: str) -> PendingBatch:
    """Those of the messages that are outbound and still pending, each with its ticket, the
    ticket's copies (participants), the customer's contact points and the message's files;
    five queries for any number of messages. Only those claimed for sending with `claim`
    (tickets.services.messages_claim_for_sending): another worker's are its to send."""
    found = (
        Message.objects.select_related("ticket", "ticket__customer")
        .prefetch_related(
            Prefetch("attachments", queryset=Attachment.objects.all()),
            Prefetch("ticket__participants", queryset=TicketParticipant.objects.all()),
            Prefetch("ticket__customer__contact_points", queryset=ContactPoint.objects.all()),
        )
        .filter(
            pk__in=list(message_ids),
            kind=MessageKind.OUTBOUND,
            delivery_status=DeliveryStatus.PENDING,
            claimed_by=claim,
        )
    )
    by_id = {message.pk: message for message in found}
    messages = [by_id[pk] for pk in dict.fromkeys(message_ids) if pk in by_id]
    conversations = conversations_of({message.ticket_id for message in messages})
    return PendingBatch(
        messages=messages,
        conversations=conversations,
        flagged=_flagged_addresses(messages, conversations),
    )


def _flagged_addresses(
    messages: list[Message], conversations: dict[int, list[ConversationRow]]
) -> dict[str, ContactPoint]:
    """The flagged addresses automatic emails of the batch could go to: the customers'
    (read with them) and the conversations' email senders' (one query, only when the batch
    holds an automatic email)."""
    automatic = [m for m in messages if m.is_automatic and m.channel == Channel.EMAIL]
    if not automatic:
        return {}
    flagged = {
        point.value: point
        for message in automatic
        for point in message.ticket.customer.contact_points.all()
        if point.kind == ContactKind.EMAIL and point.undeliverable
    }
    senders = {
        row.sender.strip().lower()
        for message in automatic
        for row in conversations.get(message.ticket_id, [])
        if row.kind == MessageKind.INBOUND and row.channel == Channel.EMAIL and row.sender
    } - set(flagged)
    if senders:
        others = ContactPoint.objects.filter(kind=ContactKind.EMAIL, value__in=senders)
        flagged.update({point.value: point for point in others.exclude(undeliverable="")})
    return flagged


def conversations_of(ticket_ids: Iterable[int]) -> dict[int, list[ConversationRow]]:
    """Each ticket's messages but internal notes, oldest first, in one query."""
    ids = list(ticket_ids)
    conversations: dict[int, list[ConversationRow]] = {pk: [] for pk in ids}
    if not ids:
        return conversations
    rows = (
        Message.objects.filter(ticket_id__in=ids)
        .exclude(kind=MessageKind.NOTE)
        .order_by("created_at", "id")
        .values_list("ticket_id", "pk", "kind", "channel", "sender", "external_id", "created_at")
    )
    for ticket_id, pk, kind, channel, sender, external_id, created_at in rows:
        row = ConversationRow(pk, kind, channel, sender, external_id, created_at)
        conversations[ticket_id].append(row)
    return conversations


def _conversation(
    message: Message, conversation: list[ConversationRow] | None
) -> list[ConversationRow]:
    if conversation is not None:
        return conversation
    return conversations_of([message.ticket_id])[message.ticket_id]


def email_thread_for(
    message: Message, conversation: list[ConversationRow] | None = None
) -> EmailThread | None:
    """Recipients and threading headers for an outbound email; None if it has nowhere to go.
    `conversation`: its ticket's, when read for a batch (else read here)."""
    ticket = message.ticket
    # Earlier: dated before it, or written before it. A customer's clock may be ahead of
    # ours: their message, dated by its Date header, may look later than our notice
    # answering it, which must still thread under it.
    earlier = [
        row
        for row in _conversation(message, conversation)
        if row.channel == Channel.EMAIL
        and row.pk != message.pk
        and (row.created_at <= message.created_at or row.pk < message.pk)
    ]
    inbound = [row for row in earlier if row.kind == MessageKind.INBOUND]
    to = next((row.sender for row in reversed(inbound) if row.sender), "")
    if not to:
        addresses = _contact_points(ticket.customer, ContactKind.EMAIL)
        newest = max(addresses, key=lambda point: point.created_at, default=None)
        to = newest.value if newest else ""
    if not to:
        return None
    ids = [row.external_id for row in earlier if row.external_id]
    last_inbound = next((row.external_id for row in reversed(inbound) if row.external_id), "")
    cc = tuple(
        participant.email for participant in ticket.participants.all() if participant.email != to
    )
    return EmailThread(
        to=to,
        cc=cc,
        in_reply_to=last_inbound or (ids[-1] if ids else ""),
        references=tuple(ids[-_MAX_REFERENCES:]),
    )


def sms_contact_for(
    message: Message, conversation: list[ConversationRow] | None = None
) -> ContactPoint | None:
    """The contact point an outbound text goes to: the number the customer last texted or
    called from on this ticket, if it is still theirs; otherwise their newest phone number.
    Read from the customer's contact points (with a batch, no query)."""
    numbers = _contact_points(message.ticket.customer, ContactKind.PHONE)
    last_used = next(
        (
            row.sender
            for row in reversed(_conversation(message, conversation))
            if row.kind == MessageKind.INBOUND
            and row.channel in (Channel.SMS, Channel.PHONE)
            and row.created_at <= message.created_at
            and row.sender
        ),
        None,
    )
    used = next((point for point in numbers if point.value == last_used), None)
    if last_used and used is not None:
        return used
    return max(numbers, key=lambda point: (point.created_at, point.pk), default=None)


def latest_inbound(conversation: list[ConversationRow]) -> ConversationRow | None:
    """The customer's latest message in a ticket's conversation."""
    return next((row for row in reversed(conversation) if row.kind == MessageKind.INBOUND), None)


def _contact_points(customer: Customer, kind: str) -> list[ContactPoint]:
    """The customer's contact points of a kind, in their order (kind, value): read with the
    batch (prefetched), or here."""
    return [point for point in customer.contact_points.all() if point.kind == kind]
