"""Opening tickets and adding what people say to them: inbound, replies and notes."""

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets import live, metrics, placeholders, policy
from tickets.addressing import is_own_address, new_message_id
from tickets.catalog import services as catalog
from tickets.catalog.selectors import Asked, about_new_many
from tickets.collab import mentions
from tickets.contacts import normalize_contact, normalize_email
from tickets.errors import Conflict, InvalidInput
from tickets.files import safe_filename, sniff_content_type, storage_name
from tickets.html import sanitize_html
from tickets.inbound import (
    InboundAttachment,
    InboundMessage,
    IngestOutcome,
    IngestResult,
    language_worth_keeping,
)
from tickets.models import (
    Attachment,
    CallLog,
    Channel,
    ChatSession,
    ChatStatus,
    ContactKind,
    Customer,
    DeliveryStatus,
    EventKind,
    Message,
    MessageKind,
    NoticeKind,
    Priority,
    SideAttachment,
    Ticket,
    TicketEvent,
    TicketParticipant,
    TicketStatus,
)
from tickets.services import desk_setup, sla_clocks
from tickets.services._common import (
    Actor,
    in_sentence,
    lock_ticket,
    new_event,
    record_event,
    record_events,
    refuse_if_merged,
    savepoint_unless,
    with_message,
)
from tickets.services.customers import (
    customer_get_or_create_for_contact,
    customer_note_language,
)
from tickets.services.notices import notify_assignees_of_customer_messages, notify_customer
from tickets.services.outbound import DELIVERED_CHANNELS, schedule_delivery
from tickets.services.queueing import schedule_routing
from tickets.services.signatures import signature_for, signed_html, signed_text
from tickets.services.threads import placed_before
from tickets.services.transitions import apply_transition

logger = logging.getLogger(__name__)

SUBJECT_MAX = 255
# A customer's text kept on the message (and searched); past it, in the original only.
MAX_BODY_CHARS = 200_000
# A subject derived from the first words of a message without one (SMS, chat).
_DERIVED_SUBJECT_WORDS = 12


def ticket_open(
    *,
    inbound: InboundMessage,
    priority: str = Priority.NORMAL,
    tier_level: int = 0,
    actor: Actor = None,
    now: datetime | None = None,
    follow_up_of: Ticket | None = None,
    locked: bool = False,
) -> IngestResult:
    """Open a ticket from what a customer said, finding or creating the customer.

    A message whose external id was already stored is not stored again: the result
    says DUPLICATE and points at the ticket that holds it; the database refuses a
    concurrent duplicate, which ends the same way. `locked`: the caller holds the message's
    conversation and sender locks (threads.lock_conversations) and has looked for a
    duplicate, so no other ingest can race it: no savepoint is taken, and another door
    writing the same key meanwhile fails the caller's transaction (a unique race, retried).
    """
    validate_inbound(inbound)
    duplicate = None if locked else find_duplicate(inbound)
    if duplicate is not None:
        return duplicate
    now = now or timezone.now()
    setup = desk_setup.current()
    tier = setup.tier(tier_level)
    try:
        with savepoint_unless(locked):
            customer = customer_get_or_create_for_contact(
                kind=inbound.sender_kind,
                value=inbound.sender,
                name=inbound.sender_name,
                locked=locked,
            )
            if not customer.language:
                customer_note_language(customer=customer, language=language_worth_keeping(inbound))
            ticket = Ticket(
                subject=subject_for(inbound),
                customer=customer,
                channel=inbound.channel,
                priority=priority,
                tier=tier,
                created_at=inbound.received_at or now,
                status_since=inbound.received_at or now,
                last_message_at=inbound.received_at or now,
                follow_up_of=follow_up_of,
                routing_due_at=now,
            )
            about = catalog.about_on_open(
                ticket, about_new_many([asked_about(inbound, customer)])[0]
            )
            # its deadlines are written with it
            clocks = sla_clocks.start(ticket, now, shared=setup.policies)
            figures = metrics.opened(ticket)
            ticket.save(force_insert=True)
            figures.save(force_insert=True)
            sla_clocks.save_started(clocks)
            schedule_routing(ticket.pk, tier.level)
            events = [
                new_event(
                    ticket, EventKind.CREATED, actor=actor, channel=inbound.channel, tier=tier.level
                ),
                *about,
            ]
            if follow_up_of is not None:
                events += [
                    new_event(
                        ticket, EventKind.FOLLOW_UP, actor=None, follow_up_of=follow_up_of.pk
                    ),
                    new_event(follow_up_of, EventKind.FOLLOW_UP, actor=None, follow_up=ticket.pk),
                ]
            message = _store_inbound(ticket, inbound, at=inbound.received_at or now, events=events)
            notify_customer(ticket=ticket, kind=NoticeKind.RECEIVED, now=now, answering=message)
    except IntegrityError:
        # The same message arrived concurrently and the other delivery won.
        duplicate = None if locked else find_duplicate(inbound)
        if duplicate is None:
            raise
        return duplicate
    return IngestResult(ticket=ticket, message=message, outcome=IngestOutcome.NEW)


def ticket_add_inbound(
    *,
    ticket: Ticket,
    inbound: InboundMessage,
    now: datetime | None = None,
    locked: bool = False,
    check_duplicate: bool = True,
    answered_at: datetime | None = None,
) -> IngestResult:
    """Add a customer's message to an existing ticket.

    A waiting or resolved ticket comes back to the help desk (open); a closed ticket does
    not take new messages (channels open a follow-up ticket instead). A message that
    arrived after its own answer (`answered_at`: when the earliest answer was placed) goes
    before that answer and changes nothing the answer has not changed already.
    `locked`: as for ticket_open (no duplicate check, no savepoint).
    """
    validate_inbound(inbound)
    duplicate = find_duplicate(inbound) if check_duplicate and not locked else None
    if duplicate is not None:
        return duplicate
    now = now or timezone.now()
    try:
        with savepoint_unless(locked):
            ticket = lock_ticket(ticket)
            refuse_if_merged(ticket)
            if ticket.status == TicketStatus.CLOSED:
                raise Conflict(
                    _("%(reference)s is closed; open a follow-up ticket instead.")
                    % {"reference": ticket.reference},
                    code="ticket_closed",
                )
            if answered_at is not None:
                arrived = placed_before(inbound, answered_at)
            else:
                arrived = _customer_wrote(ticket, inbound, now)
                metrics.customer_wrote(ticket, arrived)
            if ticket.tier.level == 0:  # the customer wrote again: on to a person
                ticket.routing_due_at = now
                schedule_routing(ticket.pk, 0)
            ticket.save(
                update_fields=[
                    "status",
                    "status_since",
                    "resolved_at",
                    "last_message_at",
                    "awaiting_reply_since",
                    "routing_due_at",
                    "updated_at",
                ]
            )
            metrics.save(ticket)
            message = _store_inbound(ticket, inbound, at=arrived)
            if answered_at is None:
                sla_clocks.customer_wrote(ticket, now)
                if inbound.channel != Channel.CHAT:  # in a chat the agent is there
                    notify_assignees_of_customer_messages([ticket])
    except IntegrityError:
        duplicate = None if locked else find_duplicate(inbound)
        if duplicate is None:
            raise
        return duplicate
    return IngestResult(ticket=ticket, message=message, outcome=IngestOutcome.THREADED)


def _customer_wrote(ticket: Ticket, inbound: InboundMessage, now: datetime) -> datetime:
    """A waiting or resolved ticket is open again; returns where the message goes."""
    if ticket.status in (TicketStatus.PENDING_CUSTOMER, TicketStatus.RESOLVED):
        apply_transition(ticket, TicketStatus.OPEN, actor=None, now=now, reason="customer replied")
    ticket.last_message_at = arrival(inbound, ticket, now)
    return ticket.last_message_at


def ticket_reply(
    *,
    ticket: Ticket,
    actor: Actor,
    text: str,
    html: str = "",
    channel: str | None = None,
    status: str | None = None,
    attachments: tuple[InboundAttachment, ...] = (),
    external_id: str | None = None,
    now: datetime | None = None,
    signed: bool = True,
    form_key: str = "",
) -> Message:
    """An agent's public answer. Stored as a pending outbound message on the chosen channel.

    The channel defaults to the one the customer last wrote on. A new ticket becomes open
    unless another status is asked for. Files go out with email replies only. The agent's
    signature for the channel goes under it (`signed`; not under lines of a live chat).
    `form_key`: the key of the page's form it was sent from; sent again, it is the reply
    already sent (sent_from_form), not a second one.
    """
    policy.refuse_unless_works_tickets(actor, _("reply to customers"))
    if not text.strip():
        raise InvalidInput(_("A reply needs some text."), code="empty_message")
    refuse_oversized_files(attachments)
    now = now or timezone.now()
    with transaction.atomic():
        ticket = lock_ticket(ticket)  # a second send of one form waits for the first here
        if (sent := sent_from_form(actor, form_key)) is not None:
            return sent
        refuse_if_merged(ticket)
        if ticket.status == TicketStatus.CLOSED:
            raise Conflict(
                _("%(reference)s is closed; it cannot be answered any more.")
                % {"reference": ticket.reference},
                code="ticket_closed",
            )
        channel, chat = _reply_channel(ticket, channel)
        if chat is not None:  # into the customer's live chat: as its console would
            policy.refuse_unless_holds_chat(actor, chat)
        if attachments and channel != Channel.EMAIL:
            raise InvalidInput(
                _("Files can only be sent by email; choose email or send them without files."),
                code="attachments_need_email",
            )
        delivered = channel in DELIVERED_CHANNELS
        # Placeholders typed into the reply ({{ customer.first_name }}...) are filled here,
        # whichever door it came through.
        values = placeholders.ticket_values(ticket)
        if actor is not None:
            values |= placeholders.agent_values(actor)
        # The agent's signature for this channel, the one place it is added.
        signature = signature_for(actor, channel, ticket_channel=ticket.channel) if signed else ""
        text, html = signed_text(text, signature, channel), signed_html(html, signature)
        message = Message(
            ticket=ticket,
            kind=MessageKind.OUTBOUND,
            channel=channel,
            author_user=actor,
            body_text=placeholders.fill(text, values),
            body_html=sanitize_html(placeholders.fill(html, values, html=True)),
            # Our own Message-ID: the customer's answer threads back by it. Chat messages
            # carry the sender's client id instead (a resend is stored once).
            external_id=new_message_id(ticket.pk) if channel == Channel.EMAIL else external_id,
            delivery_status=initial_delivery(channel),
            form_key=form_key,
            created_at=now,
        )
        metrics.agent_replied(ticket, message, now)
        message.save(force_insert=True)
        _store_attachments(message, attachments)
        if chat is not None:
            # Pushed to the customer's open chat from this process, after commit; a page
            # that was away reads it back when it reconnects.
            live.publish_chat(
                chat.pk, "message", live.chat_message_payload(message, chat), side="agent"
            )
        elif delivered:
            schedule_delivery(message.pk)
        record_event(ticket, EventKind.REPLIED, actor=actor, message=message.pk, channel=channel)
        target = status or (TicketStatus.OPEN if ticket.status == TicketStatus.NEW else None)
        if target and target != ticket.status:
            apply_transition(ticket, target, actor=actor, now=now)
        if ticket.first_responded_at is None:
            ticket.first_responded_at = now
        sla_clocks.agent_responded(ticket, now)
        ticket.last_message_at = now
        ticket.save(
            update_fields=[
                "status",
                "status_since",
                "resolved_at",
                "closed_at",
                "first_responded_at",
                "last_message_at",
                "awaiting_reply_since",
                "updated_at",
                *sla_clocks.DEADLINE_FIELDS,
            ]
        )
        metrics.save(ticket)
    return message


def sent_from_form(actor: Actor, form_key: str) -> Message | None:
    """The message `actor` wrote from the page's form with this key, if they sent it before:
    a form sent twice (a double click, a page resent) is answered with the first send."""
    if not form_key or actor is None:
        return None
    return Message.objects.filter(author_user=actor, form_key=form_key).first()


def ticket_add_note(
    *, ticket: Ticket, actor: Actor, text: str, now: datetime | None = None, form_key: str = ""
) -> Message:
    """An internal note: visible to agents only, never sent, allowed in any status (and to
    every role on staff, light agents too), but not on a merged ticket (a page loaded before
    the merge: its messages went to the ticket it was merged into, where the note belongs
    too). The colleagues it @mentions are told and follow the ticket
    (tickets.collab.mentions). `form_key`: as ticket_reply takes it."""
    policy.refuse_unless_may(actor, "note", _("write internal notes"))
    if not text.strip():
        raise InvalidInput(_("A note needs some text."), code="empty_message")
    mentioned = mentions.resolve(text)
    with transaction.atomic():
        ticket = lock_ticket(ticket)
        if (sent := sent_from_form(actor, form_key)) is not None:
            return sent
        refuse_if_merged(ticket)
        message = Message.objects.create(
            ticket=ticket,
            kind=MessageKind.NOTE,
            channel=ticket.channel,
            author_user=actor,
            body_text=text,
            form_key=form_key,
            created_at=now or timezone.now(),
        )
        extra: dict[str, Any] = {"mentions": mentions.mention_data(mentioned)} if mentioned else {}
        record_event(ticket, EventKind.NOTE_ADDED, actor=actor, message=message.pk, **extra)
        ticket.save(update_fields=["updated_at"])
        mentions.tell_mentioned(ticket=ticket, note=message, users=mentioned, actor=actor)
    return message


def ticket_change_priority(*, ticket: Ticket, priority: str, actor: Actor) -> Ticket:
    if priority not in Priority.values:
        raise InvalidInput(
            _("Unknown priority %(priority)r.") % {"priority": priority}, code="invalid_priority"
        )
    with transaction.atomic():
        ticket = lock_ticket(ticket)
        _refuse_if_closed(ticket)
        policy.refuse_unless_works_on(actor, ticket, _("change its priority"))
        if ticket.priority == priority:
            return ticket
        record_event(
            ticket,
            EventKind.PRIORITY_CHANGED,
            actor=actor,
            **{"from": ticket.priority, "to": priority},
        )
        ticket.priority = priority
        ticket.save(update_fields=["priority", "updated_at"])
        metrics.priority_changed(ticket)
        metrics.save(ticket)
        sla_clocks.reevaluate(ticket, timezone.now())
    return ticket


def ticket_change_subject(*, ticket: Ticket, subject: str, actor: Actor) -> Ticket:
    # One line, as every door's subject: it heads the emails about the ticket.
    subject = " ".join(subject.split())
    if not subject:
        raise InvalidInput(_("The subject cannot be empty."), code="empty_subject")
    with transaction.atomic():
        ticket = lock_ticket(ticket)
        _refuse_if_closed(ticket)
        if ticket.subject == subject[:SUBJECT_MAX]:
            return ticket
        record_event(
            ticket,
            EventKind.SUBJECT_CHANGED,
            actor=actor,
            **{"from": ticket.subject, "to": subject},
        )
        ticket.subject = subject[:SUBJECT_MAX]
        ticket.save(update_fields=["subject", "updated_at"])
    return ticket


def _refuse_if_closed(ticket: Ticket) -> None:
    refuse_if_merged(ticket)
    policy.refuse_if_closed(ticket)


def validate_inbound(inbound: InboundMessage) -> None:
    if inbound.channel not in Channel.values:
        raise InvalidInput(
            _("Unknown channel %(channel)r.") % {"channel": inbound.channel}, code="invalid_channel"
        )
    if not (inbound.text.strip() or inbound.html.strip() or inbound.attachments):
        raise InvalidInput(_("The message is empty."), code="empty_message")


def asked_about(inbound: InboundMessage, customer: Customer) -> Asked:
    """Where a new ticket's product or service is looked for: what the customer chose,
    else what they wrote."""
    return Asked(
        text=f"{inbound.subject}\n{inbound.text}",
        customer=customer,
        product_id=inbound.product_id,
        service_id=inbound.service_id,
    )


def subject_for(inbound: InboundMessage) -> str:
    subject = " ".join(inbound.subject.split()) or subject_from_text(inbound.text)
    return (subject or "(no subject)")[:SUBJECT_MAX]


def subject_from_text(text: str) -> str:
    """A subject for a message that has none: its first words, never a word cut short."""
    words = text.split()
    subject = " ".join(words[:_DERIVED_SUBJECT_WORDS])
    return f"{subject} …" if len(words) > _DERIVED_SUBJECT_WORDS else subject


def find_duplicate(inbound: InboundMessage) -> IngestResult | None:
    if not inbound.external_id:
        return None
    # Almost every message is new: look for the id alone, read the rows only on a hit.
    stored = Message.objects.filter(
        channel=inbound.channel, external_id=inbound.external_id
    ).values_list("pk", flat=True)
    if not stored:
        return None
    message = Message.objects.select_related("ticket").get(pk=stored[0])
    return IngestResult(ticket=message.ticket, message=message, outcome=IngestOutcome.DUPLICATE)


def arrival(inbound: InboundMessage, ticket: Ticket, now: datetime) -> datetime:
    """When the message belongs in the conversation: the sender's date, unless a wrong clock
    would put it before what was already said."""
    sent = inbound.received_at
    if sent is None or (ticket.last_message_at and sent < ticket.last_message_at):
        return now
    return min(sent, now)


def _store_inbound(
    ticket: Ticket, inbound: InboundMessage, *, at: datetime, events: Sequence[TicketEvent] = ()
) -> Message:
    """The message written with its files, call log and participants; `events` (not yet
    written) are written with its own, in one statement."""
    message = inbound_message_row(ticket, inbound, at=at)
    message.save(force_insert=True)
    _store_attachments(message, inbound.attachments)
    if inbound.call is not None:
        CallLog.objects.create(
            message=message,
            direction=inbound.call.direction,
            phone_number=inbound.call.phone_number,
            duration_seconds=inbound.call.duration_seconds,
            recording_url=inbound.call.recording_url,
        )
    record_events([*events, message_received(ticket, message)])
    add_participants(ticket, inbound.cc)
    return message


def inbound_message_row(ticket: Ticket, inbound: InboundMessage, *, at: datetime) -> Message:
    """A customer's message, not yet written; its original is in storage already."""
    message = Message(
        ticket=ticket,
        kind=MessageKind.INBOUND,
        channel=inbound.channel,
        author_customer=ticket.customer,
        sender=_normalized_sender(inbound),
        body_text=_indexable(inbound.text, kept=inbound.original is not None),
        body_html=sanitize_html(inbound.html),
        external_id=inbound.external_id or None,
        is_automatic=inbound.is_automatic,
        created_at=at,
    )
    if inbound.original is not None:
        # The file first, so that the row is written once, with its name.
        message.original.save("original.eml", ContentFile(inbound.original), save=False)
    return message


def _indexable(text: str, *, kept: bool) -> str:
    """The text, cut where the ticket search's index could not take it (PostgreSQL refuses a
    text-search vector over 1 MB, and with it the message): what is cut stays in the
    original, when there is one."""
    if len(text) <= MAX_BODY_CHARS:
        return text
    where = " The whole message is in its original." if kept else ""
    return f"{text[:MAX_BODY_CHARS]}\n\n[Cut here: the message is longer than this.{where}]"


def message_received(ticket: Ticket, message: Message) -> TicketEvent:
    """The event a customer's message writes, not yet written, with the message in hand."""
    return with_message(new_event(ticket, **message_received_event(message)), message)


def message_received_event(message: Message) -> dict[str, Any]:
    """The arguments of the event a customer's message writes (record_event / new_event)."""
    return {
        "kind": EventKind.MESSAGE_RECEIVED,
        "actor": None,
        "label": "customer",
        "message": message.pk,
    }


def message_keep_received_files(*, message_id: int, files: tuple[InboundAttachment, ...]) -> int:
    """Files fetched after a customer's message was stored (an MMS's media), kept as its
    attachments, once: a message that has files already (a repeated fetch) keeps none.
    Returns how many were kept."""
    if not files:
        return 0
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .filter(pk=message_id, kind=MessageKind.INBOUND)
            .first()
        )
        if message is None or message.attachments.exists():
            return 0
        rows = attachment_rows(message, files)
        Attachment.objects.bulk_create(rows)
    return len(rows)


def _store_attachments(message: Message, items: tuple[InboundAttachment, ...]) -> None:
    Attachment.objects.bulk_create(attachment_rows(message, items))


def attachment_rows(message: Message, items: tuple[InboundAttachment, ...]) -> list[Attachment]:
    """A message's files in storage and their rows (not yet written): file_rows."""
    return file_rows(items, lambda: Attachment(message=message), of=f"message {message.pk}")


_FileRow = TypeVar("_FileRow", Attachment, SideAttachment)


def file_rows(
    items: tuple[InboundAttachment, ...], new_row: Callable[[], _FileRow], *, of: str
) -> list[_FileRow]:
    """Files in storage under safe names, typed by content, and their rows (not yet
    written), each made by `new_row` (a ticket message's or a side conversation's). Oversized
    ones are left out (adapters mention them in the text), so one huge file never blocks the
    message they came with (`of`, for the log)."""
    limit = settings.HELPDESK_MAX_ATTACHMENT_BYTES
    rows = []
    for index, item in enumerate(items, start=1):
        if len(item.content) > limit:
            logger.info("attachment over the size limit left out of %s", of)
            continue
        content_type = sniff_content_type(item.content, item.content_type)
        name = safe_filename(item.filename, content_type=content_type, index=index)
        row = new_row()
        row.filename, row.content_type = name, content_type
        row.size, row.content_id = len(item.content), item.content_id[:255]
        row.file.save(storage_name(name), ContentFile(item.content), save=False)
        rows.append(row)
    return rows


def refuse_oversized_files(items: tuple[InboundAttachment, ...]) -> None:
    """An agent's own files are refused whole (unlike a customer's, which are left out),
    each within HELPDESK_MAX_ATTACHMENT_BYTES and all within HELPDESK_MAX_UPLOAD_BYTES, as
    the forms' file field checks them (the API takes files outside it)."""
    limit = settings.HELPDESK_MAX_ATTACHMENT_BYTES
    for item in items:
        if len(item.content) > limit:
            raise InvalidInput(
                _("%(filename)s is larger than the %(limit)s MiB limit.")
                % {"filename": item.filename, "limit": limit // (1024 * 1024)},
                code="attachment_too_large",
            )
    total = settings.HELPDESK_MAX_UPLOAD_BYTES
    if sum(len(item.content) for item in items) > total:
        raise InvalidInput(
            _("These files together are larger than %(limit)s.") % {"limit": filesizeformat(total)},
            code="attachments_too_large",
        )


def _normalized_sender(inbound: InboundMessage) -> str:
    try:
        return normalize_contact(inbound.sender_kind, inbound.sender)
    except InvalidInput:
        return inbound.sender[:320]


def add_participants(ticket: Ticket, people: tuple[tuple[str, str], ...]) -> None:
    """CC'd people join the conversation, except the help desk and the customer themself."""
    candidates = []
    for address, name in people:
        try:
            email = normalize_email(address)
        except InvalidInput:
            continue
        if not is_own_address(email):
            candidates.append((email, name))
    if not candidates:  # usually: the help desk was the only other address
        return
    own = set(
        ticket.customer.contact_points.filter(kind=ContactKind.EMAIL).values_list(
            "value", flat=True
        )
    )
    known = set(ticket.participants.values_list("email", flat=True))
    for email, name in candidates:
        if email in own or email in known:
            continue
        TicketParticipant.objects.create(ticket=ticket, email=email, name=name[:200])
        known.add(email)
        record_event(ticket, EventKind.PARTICIPANT_ADDED, actor=None, email=email)


# Where a reply can go, given the ways the customer can be reached.
_CONTACT_FOR_CHANNEL = {
    Channel.EMAIL: ContactKind.EMAIL,
    Channel.SMS: ContactKind.PHONE,
    Channel.PHONE: ContactKind.PHONE,
}
# Web-form and API customers read our answers by email.
_REPLY_FALLBACK = {Channel.WEB: Channel.EMAIL, Channel.API: Channel.EMAIL}


def default_reply_channel(last_inbound: str | None, ticket_channel: str) -> str:
    """Where an answer goes unless the agent says: where the customer last wrote."""
    channel = last_inbound or ticket_channel
    return _REPLY_FALLBACK.get(Channel(channel), channel)


def contact_needed(channel: str) -> str | None:
    """The kind of contact point a reply on this channel is sent to, if it needs one."""
    return _CONTACT_FOR_CHANNEL.get(Channel(channel))


def unreachable_by(channel: str) -> str:
    needed = ContactKind(_CONTACT_FOR_CHANNEL[Channel(channel)])
    return _("The customer has no %(contact)s, so this reply cannot go by %(channel)s.") % {
        "contact": in_sentence(needed.label),
        "channel": Channel(channel).label,
    }


def initial_delivery(channel: str) -> str:
    if channel == Channel.CHAT:
        return DeliveryStatus.SENT
    return (
        DeliveryStatus.PENDING if channel in DELIVERED_CHANNELS else DeliveryStatus.NOT_APPLICABLE
    )


def _live_chat(ticket: Ticket) -> ChatSession | None:
    return ChatSession.objects.filter(ticket=ticket).exclude(status=ChatStatus.ENDED).first()


def last_inbound_channel(ticket: Ticket) -> str | None:
    """The channel the customer last wrote on (replies go back on it by default)."""
    inbound = ticket.messages.filter(kind=MessageKind.INBOUND).order_by("-created_at", "-id")
    return inbound.values_list("channel", flat=True).first()


def _reply_channel(ticket: Ticket, requested: str | None) -> tuple[str, ChatSession | None]:
    """The channel a reply goes by, and the live chat it goes to if it goes by chat.

    The chat is read with the ticket locked: ending a chat records an event on its ticket,
    so a chat seen going here cannot end before the reply is committed."""
    if requested is not None:
        if requested not in Channel.values:
            raise InvalidInput(
                _("Unknown channel %(channel)r.") % {"channel": requested},
                code="invalid_channel",
            )
        channel = _REPLY_FALLBACK.get(Channel(requested), requested)
    else:
        channel = default_reply_channel(last_inbound_channel(ticket), ticket.channel)
    chat = _live_chat(ticket) if channel == Channel.CHAT else None
    if channel == Channel.CHAT and chat is None:
        if requested == Channel.CHAT:
            raise InvalidInput(
                _("The customer is not in a live chat any more; answer by email."),
                code="chat_ended",
            )
        # The customer left the chat (or never had one open): answer by email.
        channel = Channel.EMAIL
    needed = contact_needed(channel)
    if needed and not ticket.customer.contact_points.filter(kind=needed).exists():
        raise InvalidInput(
            unreachable_by(channel),
            code="unreachable_channel",
        )
    return channel, chat
