"""One message, every case: the careful path of the ingestion funnel (tickets/services/
ingest_many.py), which sends here what it does not write together with others.

Threading uses every signal the channel gives, strongest first:
  email: our Message-IDs and any stored Message-ID in In-Reply-To/References, the signed
         reply-to token, the [HD-n] tag in the subject, then the messages that answered it
         or named what it names before it arrived (tickets/services/threads.py);
  SMS and calls: the customer's latest open ticket that moved recently.
Each message's conversation is locked first, so the result does not depend on the order in
which messages are processed, or on two being processed at once.
A match from someone who is neither the ticket's customer nor a participant opens a new
ticket linked to it, so that strangers replying to one announcement do not pile onto
one ticket. A reply to a merged ticket lands on the ticket it was merged into; to a closed
one, or one resolved longer ago than the reopen window, it opens a follow-up (the rule of
every door: tickets/services/reopening.py).
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets import addressing
from tickets.contacts import normalize_contact
from tickets.errors import Conflict, InvalidInput
from tickets.inbound import ConsentResult, InboundMessage, IngestResult, SmsConsent
from tickets.models import (
    ACTIVE_STATUSES,
    Channel,
    ContactKind,
    ContactPoint,
    EventKind,
    Priority,
    Ticket,
    TicketParticipant,
)
from tickets.services import self_service, threads, undeliverable
from tickets.services._common import record_event
from tickets.services.customers import customer_get_or_create_for_contact
from tickets.services.messages import (
    find_duplicate,
    ticket_add_inbound,
    ticket_open,
    validate_inbound,
)
from tickets.services.reopening import takes_customer_message

# How far a chain of merges is followed (merges cannot form cycles; this is a guard).
_MAX_MERGE_HOPS = 20


def ingest_singly(
    *, inbound: InboundMessage, priority: str = Priority.NORMAL, now: datetime | None = None
) -> IngestResult | ConsentResult:
    """Put one message on its ticket, whatever its case; refusals are raised. A texted STOP
    or START lands on its sender's open ticket, else on none (ConsentResult)."""
    if inbound.channel == Channel.EMAIL and addressing.is_own_address(inbound.sender):
        raise InvalidInput(
            _("Mail from the help desk's own address is ignored."), code="own_address"
        )
    validate_inbound(inbound)  # refused before the transaction: the caller's stays usable
    # A transaction if there is none (the conversation locks last until it ends); no
    # savepoint inside the caller's (it costs two statements a message).
    with transaction.atomic(savepoint=False):
        threads.lock_conversations([inbound])
        duplicate = find_duplicate(inbound)
        if duplicate is not None:
            return duplicate
        now = now or timezone.now()
        known = threads.ThreadLookup.for_messages([inbound])
        match = _match_thread(inbound, now, known)
        result = _store(inbound, match, priority, now, known)
        if isinstance(result, ConsentResult):
            return result
        _record_consent(inbound, result, now)
        if inbound.channel == Channel.EMAIL:
            threads.settle_references(
                inbound=inbound, result=result, known=known, via=match[1] if match else None
            )
    return result


def _store(
    inbound: InboundMessage,
    match: tuple[Ticket, str] | None,
    priority: str,
    now: datetime,
    known: threads.ThreadLookup,
) -> IngestResult | ConsentResult:
    if match is None:
        return _open(inbound, priority=priority, now=now)
    ticket, via = match
    answered_at = threads.answered_at(inbound, known) if via == threads.VIA_ANSWER else None
    for _hop in range(_MAX_MERGE_HOPS):
        ticket = _follow_merges(ticket)
        if not _sender_belongs(ticket, inbound):
            return _open_beside(ticket, via, inbound, priority, now)
        if not takes_customer_message(ticket, now):  # closed, or resolved long ago
            break
        try:
            result = ticket_add_inbound(
                ticket=ticket,
                inbound=inbound,
                now=now,
                locked=True,
                answered_at=answered_at,
            )
        except Conflict as error:
            if error.code not in ("ticket_closed", "ticket_merged"):
                raise
            # Closed or merged since it was read: decide again on the ticket as it is now.
            ticket = Ticket.objects.select_related("customer").get(pk=ticket.pk)
            continue
        _maybe_solved_by_keyword(result.ticket, inbound, now)
        return result
    return _open(inbound, priority=ticket.priority, now=now, follow_up_of=ticket)


def _open(
    inbound: InboundMessage, *, priority: str, now: datetime, follow_up_of: Ticket | None = None
) -> IngestResult | ConsentResult:
    """A new ticket for the message; but a texted STOP or START opens none (there is nothing
    to answer, and START would be acknowledged): it is noted beside the customer instead."""
    if inbound.consent is not None:
        return _consent_apart(inbound, inbound.consent, now)
    return ticket_open(
        inbound=inbound, priority=priority, now=now, follow_up_of=follow_up_of, locked=True
    )


def _consent_apart(inbound: InboundMessage, consent: SmsConsent, now: datetime) -> ConsentResult:
    if consent == SmsConsent.STOP:
        # The flag lives on the number's contact point: a stranger's is made, so that it holds.
        customer_get_or_create_for_contact(
            kind=inbound.sender_kind, value=inbound.sender, name=inbound.sender_name, locked=True
        )
    point = undeliverable.phone_record_consent_apart(
        number=normalize_contact(inbound.sender_kind, inbound.sender),
        consent=consent,
        keyword=inbound.text,
        at=inbound.received_at or now,
    )
    return ConsentResult(customer_id=point.customer_id if point is not None else None)


def _open_beside(
    ticket: Ticket, via: str, inbound: InboundMessage, priority: str, now: datetime
) -> IngestResult:
    """A stranger's message on someone's ticket: a ticket of its own, linked to that one."""
    result = ticket_open(inbound=inbound, priority=priority, now=now, locked=True)
    record_event(
        result.ticket,
        EventKind.RELATED,
        actor=None,
        related=ticket.pk,
        via=via,
        reason="The sender is not the customer or a participant of that ticket.",
    )
    return result


def _record_consent(inbound: InboundMessage, result: IngestResult, now: datetime) -> None:
    """A texted STOP or START: whether the sender's number may be texted from now on."""
    if inbound.consent is None:
        return
    undeliverable.phone_record_consent(
        message=result.message,
        number=normalize_contact(inbound.sender_kind, inbound.sender),
        consent=inbound.consent,
        at=inbound.received_at or now,
    )


def is_solved_keyword(inbound: InboundMessage) -> bool:
    """A text saying only the keyword that answers the tier-0 offer (SOLVED)."""
    return (
        inbound.channel == Channel.SMS
        and inbound.text.strip().strip(".!").upper() == self_service.SOLVED_KEYWORD
    )


def _maybe_solved_by_keyword(ticket: Ticket, inbound: InboundMessage, now: datetime) -> None:
    """A texter answering the tier-0 offer with the keyword resolves it as deflected."""
    if is_solved_keyword(inbound) and self_service.was_offered(ticket):
        self_service.ticket_resolve_deflected(ticket_id=ticket.pk, via="sms keyword", now=now)


def _match_thread(
    inbound: InboundMessage, now: datetime, known: threads.ThreadLookup
) -> tuple[Ticket, str] | None:
    if inbound.channel == Channel.EMAIL:
        return threads.match_email(inbound, known)
    if inbound.channel in (Channel.SMS, Channel.PHONE):
        ticket = _recent_ticket_of_sender(inbound, now)
        return (ticket, "recent") if ticket else None
    return None


def recent_tickets(customer_ids: set[int], now: datetime) -> dict[int, Ticket]:
    """Each customer's latest open ticket that moved within HELPDESK_SMS_THREAD_HOURS: where
    their texts and calls go."""
    if not customer_ids:
        return {}
    since = now - timedelta(hours=settings.HELPDESK_SMS_THREAD_HOURS)
    latest: dict[int, Ticket] = {}
    for ticket in (
        Ticket.objects.select_related("customer")
        .filter(
            customer_id__in=customer_ids,
            status__in=ACTIVE_STATUSES,
            merged_into__isnull=True,
            last_message_at__gte=since,
        )
        .order_by("customer_id", "-last_message_at", "-id")
    ):
        latest.setdefault(ticket.customer_id, ticket)
    return latest


def _recent_ticket_of_sender(inbound: InboundMessage, now: datetime) -> Ticket | None:
    try:
        value = normalize_contact(inbound.sender_kind, inbound.sender)
    except InvalidInput:
        return None
    contact = ContactPoint.objects.filter(kind=inbound.sender_kind, value=value).first()
    if contact is None:
        return None
    return recent_tickets({contact.customer_id}, now).get(contact.customer_id)


def _follow_merges(ticket: Ticket) -> Ticket:
    for _hop in range(_MAX_MERGE_HOPS):
        if ticket.merged_into_id is None:
            break
        ticket = Ticket.objects.select_related("customer").get(pk=ticket.merged_into_id)
    return ticket


def _sender_belongs(ticket: Ticket, inbound: InboundMessage) -> bool:
    try:
        value = normalize_contact(inbound.sender_kind, inbound.sender)
    except InvalidInput:
        return False
    if ContactPoint.objects.filter(
        kind=inbound.sender_kind, value=value, customer_id=ticket.customer_id
    ).exists():
        return True
    return (
        inbound.sender_kind == ContactKind.EMAIL
        and TicketParticipant.objects.filter(ticket=ticket, email=value).exists()
    )
