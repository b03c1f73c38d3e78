"""The one door every channel ends in: put what customers said on the right tickets, once.

Its unit is a batch; a lone message is a batch of one. The messages are taken in rounds of
independent ones: no two from one sender, on one ticket, or one answering another still to
come. A round's lookups are read in a few queries, and its new customers, tickets, clocks,
messages, files and events are written in one statement each, whatever its size.

What is rare or has more to decide goes the careful way (tickets/services/ingest.py,
ingest_singly), one message at a time in the same transaction: another channel, a
duplicate, an invalid or own sender, a stranger on a ticket, a merged, closed, waiting or
resolved ticket, a message whose answer came first or that names what a missing message's
answers name (tickets/services/threads.py). So does a whole round that meets a concurrent
writer (a unique key taken meanwhile).

A lone message (`ticket_ingest`) takes no savepoint: its conversation and sender locks keep
other ingests out, and a refusal or an error is raised to the caller, whose transaction it
fails (the pipeline records it in a transaction of its own).
"""

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets import addressing, metrics
from tickets.catalog import services as catalog
from tickets.catalog.selectors import about_new_many
from tickets.contacts import normalize_contact
from tickets.errors import DomainError, InvalidInput
from tickets.inbound import (
    ConsentResult,
    DeliveryReportResult,
    InboundMessage,
    IngestOutcome,
    IngestResult,
    SideReplyResult,
    language_worth_keeping,
)
from tickets.models import (
    Attachment,
    Channel,
    ContactKind,
    ContactPoint,
    Customer,
    EventKind,
    Message,
    NoticeKind,
    Priority,
    SideMessage,
    ThreadReference,
    Ticket,
    TicketEvent,
    TicketMetrics,
    TicketParticipant,
    TicketStatus,
    Tier,
)
from tickets.services import desk_setup, sla_clocks, threads
from tickets.services._common import bulk_write, lock_rows, new_event, record_events
from tickets.services.delivery import message_record_bounce
from tickets.services.ingest import ingest_singly, is_solved_keyword, recent_tickets
from tickets.services.messages import (
    add_participants,
    arrival,
    asked_about,
    attachment_rows,
    inbound_message_row,
    message_received,
    subject_for,
    validate_inbound,
)
from tickets.services.notices import notify_assignees_of_customer_messages, notify_customers
from tickets.services.organizations import organizations_for_addresses
from tickets.services.outbound import deliveries_together
from tickets.services.queueing import schedule_routing_sweep
from tickets.services.threads import ThreadLookup, match_email

IngestOutcomeOrError = (
    IngestResult | SideReplyResult | DeliveryReportResult | ConsentResult | DomainError
)
# A message lands on a ticket in these states without a status change.
_TAKES_MESSAGES = {TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.ON_HOLD}


def ticket_ingest(
    *, inbound: InboundMessage, now: datetime | None = None
) -> IngestResult | SideReplyResult | DeliveryReportResult | ConsentResult:
    """Put one message on its ticket: a batch of one. A refusal (DomainError) is raised.
    A third party's reply in a side conversation goes there (tickets.collab); a bounce of
    an email we sent, on that email; a texted STOP or START with no open ticket, beside its
    customer."""
    if inbound.channel == Channel.EMAIL and addressing.is_own_address(inbound.sender):
        raise InvalidInput(
            _("Mail from the help desk's own address is ignored."), code="own_address"
        )
    validate_inbound(inbound)  # refused before the transaction: the caller's stays usable
    [result] = _ingest([inbound], now=now, alone=True)
    if isinstance(result, DomainError):
        raise result
    return result


def ticket_ingest_many(
    inbounds: list[InboundMessage], *, now: datetime | None = None
) -> list[IngestOutcomeOrError]:
    """What ticket_ingest gives for each message, in order; a refusal is returned in its
    place.

    Call inside a transaction: a database error ends the whole batch.
    """
    return _ingest(inbounds, now=now, alone=False)


def _ingest(
    inbounds: list[InboundMessage], *, now: datetime | None, alone: bool
) -> list[IngestOutcomeOrError]:
    results: list[IngestOutcomeOrError | None] = [None] * len(inbounds)
    # The locks need a transaction to last; the notices of the whole batch, however each
    # message went, go out in one delivery task.
    with transaction.atomic(savepoint=False), deliveries_together():
        threads.lock_conversations(inbounds)
        batch = _Batch(now or timezone.now(), alone=alone)
        waiting = []
        for index, inbound in enumerate(inbounds):
            elsewhere = _bounce(inbound) or _side_reply(inbound, batch.now)
            if elsewhere is None:
                waiting.append(index)
            else:
                results[index] = elsewhere
        while waiting:
            taken, later = _independent(inbounds, waiting)
            deferred = _ingest_round(inbounds, taken, results, batch)
            waiting = sorted(later + deferred)
    done = [result for result in results if result is not None]
    if len(done) != len(inbounds):
        raise RuntimeError("a message of the batch was left without a result")
    return done


def _bounce(inbound: InboundMessage) -> DeliveryReportResult | None:
    """A mail server's report on an email we sent goes on that email (its delivery fails,
    the agents are told), not on a ticket of its own. One naming no email of ours is
    stored as the automatic message it is."""
    if inbound.delivery_report is None:
        return None
    report = inbound.delivery_report
    message: Message | SideMessage | None = message_record_bounce(report=report)
    if message is None and report.failed:
        from tickets.collab import services as collab

        message = collab.side_message_record_bounce(
            reason=report.reason, message_ids=report.message_ids
        )
    if message is None:
        return None
    failed = inbound.delivery_report.failed
    outcome = IngestOutcome.BOUNCE if failed else IngestOutcome.DELAYED
    ticket = message.ticket if isinstance(message, Message) else message.conversation.ticket
    return DeliveryReportResult(ticket=ticket, message=message, outcome=outcome)


def _side_reply(inbound: InboundMessage, now: datetime) -> SideReplyResult | None:
    """A third party's reply in a side conversation is stored there, never on a ticket's
    conversation (tickets.collab.services)."""
    from tickets.collab import services as collab

    conversation_id = collab.side_conversation_named(inbound)
    if conversation_id is None:
        return None
    return collab.side_conversation_receive(
        inbound=inbound, conversation_id=conversation_id, now=now
    )


def _independent(inbounds: list[InboundMessage], waiting: list[int]) -> tuple[list[int], list[int]]:
    """The messages that need none before them; the others wait for the next round.

    A message waits for any waiting one it answers, wherever that one is in the batch, and
    for an earlier one that shares its sender or a conversation (an id it has or names)
    unless that one answers it. So the batch threads as if each message came after the
    ones it answers, whatever their order. (Messages answering each other: the first goes.)
    """
    waiting_ids = {inbounds[i].external_id: i for i in waiting if inbounds[i].external_id}
    held: dict[str, list[int]] = {}  # a key -> the earlier messages that have it
    taken: list[int] = []
    later: list[int] = []
    for index in waiting:
        inbound = inbounds[index]
        answers_one = any(
            waiting_ids.get(message_id, index) != index for message_id in inbound.thread_ids
        )
        keys = _round_keys(inbound)
        earlier = {other for key in keys for other in held.get(key, ())}
        needs = answers_one or any(
            inbound.external_id not in inbounds[other].thread_ids for other in earlier
        )
        (later if needs else taken).append(index)
        for key in keys:
            held.setdefault(key, []).append(index)
    if not taken:
        taken, later = later[:1], later[1:]
    return taken, later


def _round_keys(inbound: InboundMessage) -> set[str]:
    return {f"from:{inbound.sender.strip().lower()}", *threads.conversation_keys(inbound)}


class _Batch:
    """What every round of a batch shares, read when a round first needs it."""

    def __init__(self, now: datetime, *, alone: bool) -> None:
        self.now = now
        # One message: no savepoints (see the module's docstring).
        self.alone = alone

    @cached_property
    def policies(self) -> sla_clocks.PolicyCache:
        return desk_setup.current().policies

    @cached_property
    def first_tier(self) -> Tier:
        return desk_setup.current().tier(0)


@dataclass
class _Round:
    """A round's messages sorted out: those written together and those taken one by one."""

    batch: _Batch
    new: list[int] = field(default_factory=list)
    threaded: dict[int, Ticket] = field(default_factory=dict)  # message -> its ticket
    single: list[int] = field(default_factory=list)
    deferred: list[int] = field(default_factory=list)
    senders: dict[int, str] = field(default_factory=dict)  # normalized addresses, numbers
    contacts: dict[str, ContactPoint] = field(default_factory=dict)
    known: ThreadLookup | None = None
    vias: dict[int, str] = field(default_factory=dict)  # how each threaded one matched


def _ingest_round(
    inbounds: list[InboundMessage],
    indices: list[int],
    results: list[IngestOutcomeOrError | None],
    batch: _Batch,
) -> list[int]:
    """Ingest one round of independent messages; returns those that wait for the next."""
    sorted_out = _sort_out(inbounds, indices, batch)
    together = sorted_out.new + list(sorted_out.threaded)
    if together and batch.alone:
        # Another door storing the same key meanwhile fails the caller's transaction: a
        # unique race, retried (the pipeline's task, the sweep).
        for index, result in _write_together(inbounds, sorted_out).items():
            results[index] = result
    elif together:
        try:
            with transaction.atomic():
                for index, result in _write_together(inbounds, sorted_out).items():
                    results[index] = result
        except IntegrityError:
            # Someone else stored one of these meanwhile: the one-by-one path knows what to do.
            sorted_out.single = sorted(set(sorted_out.single) | set(together))
    for index in sorted_out.single:
        results[index] = _ingest_one(inbounds[index], batch)
    return sorted_out.deferred


def _ingest_one(inbound: InboundMessage, batch: _Batch) -> IngestOutcomeOrError:
    if batch.alone:  # refusals raised, no savepoint
        return ingest_singly(inbound=inbound, now=batch.now)
    try:
        with transaction.atomic():
            return ingest_singly(inbound=inbound, now=batch.now)
    except DomainError as refusal:
        return refusal


def _sort_out(inbounds: list[InboundMessage], indices: list[int], batch: _Batch) -> _Round:
    sorted_out = _Round(batch)
    candidates = []
    for index in indices:
        inbound = inbounds[index]
        sender = _plain_sender(inbound)
        if sender is None:
            sorted_out.single.append(index)
        else:
            sorted_out.senders[index] = sender
            candidates.append(index)
    stored = _stored_external_ids([inbounds[i] for i in candidates])
    # a duplicate goes one by one: ticket_ingest says where it went
    is_stored = {i for i in candidates if (inbounds[i].channel, inbounds[i].external_id) in stored}
    sorted_out.single += sorted(is_stored)
    candidates = [i for i in candidates if i not in is_stored]
    if not candidates:
        return sorted_out
    sorted_out.contacts = _contacts(
        {(inbounds[i].sender_kind, sorted_out.senders[i]) for i in candidates}
    )
    emails = [i for i in candidates if inbounds[i].channel == Channel.EMAIL]
    known = ThreadLookup.for_messages([inbounds[i] for i in emails], prefetch=True)
    sorted_out.known = known
    matches = {i: match_email(inbounds[i], known) for i in emails}
    matches |= _recent_matches(inbounds, [i for i in candidates if i not in matches], sorted_out)
    # Whether a sender is a participant matters only where they are not the customer.
    participants = _participants(
        {
            (match[0].pk, sorted_out.senders[i])
            for i, match in matches.items()
            if match and not _is_customer(sorted_out.contacts.get(sorted_out.senders[i]), match[0])
        }
    )
    claimed: set[int] = set()
    for index in candidates:
        contact = sorted_out.contacts.get(sorted_out.senders[index])
        if contact is not None and contact.customer.merged_into_id is not None:
            sorted_out.single.append(index)
            continue
        match = matches[index]
        if match is None:
            sorted_out.new.append(index)
            continue
        ticket, via = match
        sorted_out.vias[index] = via
        if ticket.pk in claimed:
            sorted_out.deferred.append(index)  # one message per ticket and round
            continue
        claimed.add(ticket.pk)
        if via in threads.LATE_VIAS or known.answered_late(inbounds[index]):
            sorted_out.single.append(index)  # joined after its answer: placed, maybe merged
            continue
        belongs = (
            _is_customer(contact, ticket)
            or (
                ticket.pk,
                sorted_out.senders[index],
            )
            in participants
        )
        if belongs and ticket.merged_into_id is None and ticket.status in _TAKES_MESSAGES:
            sorted_out.threaded[index] = ticket
        else:
            sorted_out.single.append(index)
    sorted_out.single.sort()
    return sorted_out


def _is_customer(contact: ContactPoint | None, ticket: Ticket) -> bool:
    return contact is not None and contact.customer_id == ticket.customer_id


def _plain_sender(inbound: InboundMessage) -> str | None:
    """The normalized sender of an email or a text the usual path can take; None sends it
    one by one (a call, another channel, the tier-0 keyword, STOP or START, a sender not
    to be had)."""
    if inbound.call is not None or inbound.channel not in (Channel.EMAIL, Channel.SMS):
        return None
    if is_solved_keyword(inbound) or inbound.consent is not None:
        return None
    try:
        validate_inbound(inbound)
        sender = normalize_contact(inbound.sender_kind, inbound.sender)
    except InvalidInput:
        return None
    if inbound.channel == Channel.EMAIL and addressing.is_own_address(sender):
        return None
    return sender


def _contacts(wanted: set[tuple[str, str]]) -> dict[str, ContactPoint]:
    """The contact points of these (kind, value) senders, by value (an address and a number
    never look alike)."""
    by_kind: dict[str, set[str]] = {}
    for kind, value in wanted:
        by_kind.setdefault(kind, set()).add(value)
    condition = Q()
    for kind, values in by_kind.items():
        condition |= Q(kind=kind, value__in=values)
    return {
        contact.value: contact
        for contact in ContactPoint.objects.select_related("customer").filter(condition)
    }


def _recent_matches(
    inbounds: list[InboundMessage], indices: list[int], sorted_out: _Round
) -> dict[int, tuple[Ticket, str] | None]:
    """Texts join their sender's latest open ticket that moved recently (ingest.py)."""
    customers = {
        contact.customer_id
        for i in indices
        if (contact := sorted_out.contacts.get(sorted_out.senders[i])) is not None
    }
    recent = recent_tickets(customers, sorted_out.batch.now)
    matches: dict[int, tuple[Ticket, str] | None] = {}
    for index in indices:
        contact = sorted_out.contacts.get(sorted_out.senders[index])
        ticket = recent.get(contact.customer_id) if contact is not None else None
        matches[index] = (ticket, "recent") if ticket is not None else None
    return matches


def _stored_external_ids(inbounds: list[InboundMessage]) -> set[tuple[str, str]]:
    """(channel, external id) of these messages that are stored already."""
    ids = {inbound.external_id for inbound in inbounds if inbound.external_id}
    if not ids:
        return set()
    stored = Message.objects.filter(
        channel__in={inbound.channel for inbound in inbounds}, external_id__in=ids
    )
    return {(channel, str(key)) for channel, key in stored.values_list("channel", "external_id")}


def _participants(pairs: set[tuple[int, str]]) -> set[tuple[int, str]]:
    if not pairs:
        return set()
    rows = TicketParticipant.objects.filter(
        ticket_id__in={ticket_id for ticket_id, _ in pairs},
        email__in={email for _, email in pairs},
    ).values_list("ticket_id", "email")
    return set(rows) & pairs


# --- Writing a round -------------------------------------------------------------------------


def _write_together(inbounds: list[InboundMessage], sorted_out: _Round) -> dict[int, IngestResult]:
    now = sorted_out.batch.now
    tickets, about = _open_tickets(inbounds, sorted_out)
    threaded = _lock_threaded(sorted_out)
    for index, ticket in threaded.items():
        ticket.last_message_at = arrival(inbounds[index], ticket, now)
        metrics.customer_wrote(ticket, ticket.last_message_at)
        ticket.updated_at = now
        if ticket.tier.level == 0:  # the customer wrote again: on to a person
            ticket.routing_due_at = now
    created = [
        new_event(t, EventKind.CREATED, actor=None, channel=t.channel, tier=t.tier.level)
        for t in tickets.values()
    ] + about
    tickets.update(threaded)
    at = {index: ticket.last_message_at or now for index, ticket in tickets.items()}
    messages = _write_messages(inbounds, tickets, at, created)
    _keep_missing_references(inbounds, messages, sorted_out)
    bulk_write(
        list(threaded.values()),
        ["last_message_at", "awaiting_reply_since", "routing_due_at", "updated_at"],
    )
    sla_clocks.customers_wrote(list(threaded.values()), now)
    notify_assignees_of_customer_messages(
        t for i, t in threaded.items() if inbounds[i].channel != Channel.CHAT
    )
    if sorted_out.new or any(t.routing_due_at == now for t in threaded.values()):
        schedule_routing_sweep()
    notify_customers(
        [(tickets[index], NoticeKind.RECEIVED, messages[index]) for index in sorted_out.new],
        now=now,
    )
    return {
        index: IngestResult(
            ticket=tickets[index],
            message=messages[index],
            outcome=IngestOutcome.THREADED if index in threaded else IngestOutcome.NEW,
        )
        for index in tickets
    }


def _open_tickets(
    inbounds: list[InboundMessage], sorted_out: _Round
) -> tuple[dict[int, Ticket], list[TicketEvent]]:
    """ticket_open's tickets for the round's new conversations, with their customers, and
    the events saying what each is about (chosen, or named in its message; written with
    their messages)."""
    if not sorted_out.new:
        return {}, []
    now = sorted_out.batch.now
    customers = _customers(inbounds, sorted_out)
    tier = sorted_out.batch.first_tier
    tickets, clocks, figures = {}, [], []
    for index in sorted_out.new:
        inbound = inbounds[index]
        ticket = Ticket(
            subject=subject_for(inbound),
            customer=customers[sorted_out.senders[index]],
            channel=inbound.channel,
            priority=Priority.NORMAL,
            tier=tier,
            created_at=inbound.received_at or now,
            status_since=inbound.received_at or now,
            last_message_at=inbound.received_at or now,
            routing_due_at=now,
        )
        clocks += sla_clocks.start(ticket, now, shared=sorted_out.batch.policies)
        figures.append(metrics.opened(ticket))
        tickets[index] = ticket
    found = about_new_many(
        [asked_about(inbounds[index], ticket.customer) for index, ticket in tickets.items()]
    )
    about = [
        event
        for ticket, chosen_or_named in zip(tickets.values(), found, strict=True)
        for event in catalog.about_on_open(ticket, chosen_or_named)
    ]
    Ticket.objects.bulk_create(tickets.values())
    TicketMetrics.objects.bulk_create(figures)
    sla_clocks.save_started(clocks)
    return tickets, about


def _customers(inbounds: list[InboundMessage], sorted_out: _Round) -> dict[str, Customer]:
    """The customer of each new conversation's sender, created for first-time senders."""
    customers = {value: contact.customer for value, contact in sorted_out.contacts.items()}
    created: dict[str, Customer] = {}
    first_senders = [
        sorted_out.senders[index]
        for index in sorted_out.new
        if sorted_out.senders[index] not in customers
        and inbounds[index].sender_kind == ContactKind.EMAIL
    ]
    # New customers writing from an organization's domain join it.
    joining = organizations_for_addresses(first_senders)
    learned: dict[str, list[Customer]] = {}  # known customers' newly told languages
    for index in sorted_out.new:
        sender = sorted_out.senders[index]
        known = customers.get(sender)
        if known is None and sender not in created:
            created[sender] = Customer(
                name=inbounds[index].sender_name.strip()[:200],
                organization_id=joining.get(sender),
                language=language_worth_keeping(inbounds[index]),
            )
        elif known is not None and not known.language:
            language = language_worth_keeping(inbounds[index])
            if language:
                known.language = language
                learned.setdefault(language, []).append(known)
    Customer.objects.bulk_create(created.values())
    for language, told in learned.items():  # at most one statement a language
        Customer.objects.filter(pk__in=[c.pk for c in told], language="").update(language=language)
    kinds = {sorted_out.senders[index]: inbounds[index].sender_kind for index in sorted_out.new}
    ContactPoint.objects.bulk_create(
        ContactPoint(customer=customer, kind=kinds[value], value=value)
        for value, customer in created.items()
    )
    return customers | created


def _lock_threaded(sorted_out: _Round) -> dict[int, Ticket]:
    """The round's answered tickets re-read under their row locks; any that changed state
    meanwhile (merged, closed, waiting) goes one by one instead."""
    if not sorted_out.threaded:
        return {}
    locked = lock_rows(
        Ticket.objects.select_related("tier", "customer"),
        [ticket.pk for ticket in sorted_out.threaded.values()],
    )
    threaded = {}
    for index, ticket in sorted_out.threaded.items():
        fresh = locked[ticket.pk]
        if fresh.merged_into_id is None and fresh.status in _TAKES_MESSAGES:
            threaded[index] = fresh
        else:
            sorted_out.single.append(index)
    sorted_out.single.sort()
    return threaded


def _keep_missing_references(
    inbounds: list[InboundMessage], messages: dict[int, Message], sorted_out: _Round
) -> None:
    """threads.settle_references for the round's usual cases (none was answered early)."""
    if sorted_out.known is None:
        return
    rows = [
        row
        for index, message in messages.items()
        if sorted_out.vias.get(index) != threads.VIA_HEADERS
        for row in threads.reference_rows(
            message,
            threads.missing_references(inbounds[index], sorted_out.known),
            opened_ticket=index in sorted_out.new,
        )
    ]
    if rows:
        ThreadReference.objects.bulk_create(rows)


def _write_messages(
    inbounds: list[InboundMessage],
    tickets: dict[int, Ticket],
    at: dict[int, datetime],
    events: list[TicketEvent],
) -> dict[int, Message]:
    """Each message on its ticket, at its time in the conversation; `events` (not yet
    written) are written with theirs."""
    messages = {
        index: inbound_message_row(ticket, inbounds[index], at=at[index])
        for index, ticket in tickets.items()
    }
    Message.objects.bulk_create(messages.values())
    files: list[Attachment] = []
    events = list(events)
    for index, message in messages.items():
        files += attachment_rows(message, inbounds[index].attachments)
        events.append(message_received(tickets[index], message))
    Attachment.objects.bulk_create(files)
    record_events(events)
    for index in messages:
        add_participants(tickets[index], inbounds[index].cc)
    return messages
