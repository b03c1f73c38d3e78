"""Which conversation an email belongs to, whatever order the messages are processed in.

A reply names the messages it answers (In-Reply-To, References). When it is processed
before the message it answers (that one's task was lost and re-driven, two workers took
them, the provider delivered them out of order), that message is not stored yet: the
reply opens a ticket and the ids it named are kept as `ThreadReference`s. When the
message they name comes in, it joins that conversation, placed before its answer; and a
ticket opened only for want of it is merged into the ticket it turns out to belong to.
Messages naming the same missing message meet on one ticket too.

Two transactions threading messages that name each other (or the same message) must not
both miss the other: each takes a PostgreSQL advisory lock on every id its messages have or
name (`lock_conversations`, in one statement, in key order, before anything else), so the
second waits for the first to commit and then sees what it wrote. SQLite serializes all
writers already.
"""

import contextlib
import hashlib
import re
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import connection

from tickets import addressing
from tickets.contacts import normalize_contact
from tickets.errors import Conflict, InvalidInput
from tickets.inbound import InboundMessage, IngestOutcome, IngestResult
from tickets.models import (
    Channel,
    EventKind,
    Message,
    ThreadReference,
    Ticket,
    TicketStatus,
)
from tickets.services._common import record_event

# How many of the ids an email answers can arrive after it (In-Reply-To and the latest
# References). Deeper ones are found when stored, like any reference, but a message they
# name arriving later is not joined back (README, Channels).
MAX_LATE_REFERENCES = 10
# A subject's reply and forward prefixes ("Re:", "AW:", "Fwd:" ...).
_REPLY_PREFIXES = re.compile(
    r"^\s*(?:(?:re|aw|sv|vs|antw|fwd?|wg|tr)\s*(?:\[\d+\])?\s*:\s*)+", re.I
)


def late_references(inbound: InboundMessage) -> tuple[str, ...]:
    """The ids of other people's mail this email answers that may be stored after it (our
    own Message-IDs carry their ticket: they are never waited for)."""
    if inbound.channel != Channel.EMAIL:
        return ()
    return tuple(
        message_id
        for message_id in inbound.thread_ids[:MAX_LATE_REFERENCES]
        if addressing.ticket_id_from_message_id(message_id) is None
    )


def conversation_keys(inbound: InboundMessage) -> set[str]:
    """What a message's ingestion reads and writes: the sender (their customer, created on
    first contact; for texts and calls, their latest ticket, which threads them) and, for
    email, its own id and the ids it names."""
    keys = set()
    with contextlib.suppress(InvalidInput):  # no sender to lock: nothing to create for them
        keys.add(f"from:{normalize_contact(inbound.sender_kind, inbound.sender)}")
    if inbound.channel == Channel.EMAIL:
        keys |= {f"id:{message_id}" for message_id in late_references(inbound)}
        if inbound.external_id:
            keys.add(f"id:{inbound.external_id}")
    return keys


def lock_conversations(inbounds: Iterable[InboundMessage]) -> None:
    """Wait for, then hold until the transaction ends, the conversations of these messages.

    Call at the start of a transaction, before it locks any ticket: every ingesting
    transaction takes all its keys at once, in order, so they do not deadlock each other.
    Taking a key this transaction holds already waits for nothing. (Rolling back to a
    savepoint releases the keys taken after it: a caller that goes on one message at a time
    after a failed batch takes them message by message, where PostgreSQL may find a
    deadlock, an outage the task retries.)
    """
    if connection.vendor != "postgresql":
        return  # SQLite: one writer at a time (transactions begin IMMEDIATE)
    keys = sorted({_lock_number(key) for inbound in inbounds for key in conversation_keys(inbound)})
    if not keys:
        return
    with connection.cursor() as cursor:
        # Evaluated after the sort (PostgreSQL computes output expressions after ORDER BY).
        cursor.execute(
            "SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k ORDER BY k", [keys]
        )


def _lock_number(key: str) -> int:
    digest = hashlib.blake2b(key.encode(), digest_size=8, person=b"hd-thread").digest()
    return int.from_bytes(digest, "big", signed=True)


class ThreadLookup:
    """The stored tickets an email's threading signals can point at.

    Read for one message, tickets named by id are fetched only when asked for (most
    replies match by their headers first); read for many (`prefetch`), every ticket any of
    them names is read up front, in one query. `named_by` holds the references to ids that
    were missing when the messages naming them came in.
    """

    def __init__(
        self,
        by_message_id: dict[str, Ticket],
        named_by: dict[str, list[ThreadReference]],
        tickets: dict[int, Ticket] | None = None,
    ) -> None:
        self.by_message_id = by_message_id
        self.named_by = named_by
        self._tickets = tickets

    @classmethod
    def for_messages(
        cls, inbounds: list[InboundMessage], *, prefetch: bool = False
    ) -> "ThreadLookup":
        message_ids = {message_id for inbound in inbounds for message_id in inbound.thread_ids}
        stored: dict[str, Ticket] = {}
        if message_ids:
            stored = {
                str(message.external_id): message.ticket
                for message in Message.objects.filter(
                    channel=Channel.EMAIL, external_id__in=message_ids
                )
                .select_related("ticket__customer")
                .only("external_id", "ticket")
            }
        named_by = _references_to(inbounds)
        if not prefetch:
            return cls(stored, named_by)
        named = {pk for inbound in inbounds for pk in _named_ticket_ids(inbound)}
        tickets = Ticket.objects.select_related("customer").in_bulk(named) if named else {}
        return cls(stored, named_by, tickets)

    def ticket(self, ticket_id: int) -> Ticket | None:
        if self._tickets is None:
            return Ticket.objects.select_related("customer").filter(pk=ticket_id).first()
        return self._tickets.get(ticket_id)

    def answered_late(self, inbound: InboundMessage) -> bool:
        """Whether messages answering this one were threaded before it arrived."""
        return bool(inbound.external_id and inbound.external_id in self.named_by)

    def shares_late_reference(self, inbound: InboundMessage) -> bool:
        return any(ref in self.named_by for ref in late_references(inbound))


def _references_to(inbounds: list[InboundMessage]) -> dict[str, list[ThreadReference]]:
    """The kept references naming these emails' own ids or the ids they name, with the
    naming message's ticket, earliest first."""
    wanted: set[str] = set()
    for inbound in inbounds:
        if inbound.channel != Channel.EMAIL:
            continue
        wanted.update(late_references(inbound))
        if inbound.external_id:
            wanted.add(inbound.external_id)
    if not wanted:
        return {}
    # Almost always there is none: look with a query that is cheap to build (no joins), and
    # read the references with their messages and tickets only when there are some.
    named = ThreadReference.objects.filter(referenced_id__in=wanted)
    ids = list(named.values_list("pk", flat=True))
    if not ids:
        return {}
    found: dict[str, list[ThreadReference]] = {}
    for reference in (
        ThreadReference.objects.filter(pk__in=ids)
        .select_related("message__ticket__customer")
        .order_by("message__created_at", "message_id")
    ):
        found.setdefault(reference.referenced_id, []).append(reference)
    return found


def _named_ticket_ids(inbound: InboundMessage) -> set[int]:
    """Tickets an email names by our Message-IDs, its reply address or its subject tag."""
    named = {addressing.ticket_id_from_message_id(m) for m in inbound.thread_ids}
    named.add(addressing.ticket_id_from_addresses(inbound.recipients))
    named.add(addressing.ticket_id_from_subject(inbound.subject))
    return {pk for pk in named if pk is not None}


VIA_HEADERS = "headers"  # a stored message (or one of ours) it names
# How a message found its ticket when the message it answers was missing.
VIA_ANSWER = "answer"  # a message answering it was threaded first
VIA_SHARED_REFERENCE = "shared_reference"  # it names a missing message another one named
LATE_VIAS = {VIA_ANSWER, VIA_SHARED_REFERENCE}


def match_email(inbound: InboundMessage, known: ThreadLookup) -> tuple[Ticket, str] | None:
    """The ticket an email belongs to and by which signal, strongest first."""
    if inbound.thread_ids:
        ticket = _ticket_by_message_ids(inbound.thread_ids, known)
        if ticket is not None:
            return ticket, VIA_HEADERS
    for via, ticket_id in (
        ("reply_address", addressing.ticket_id_from_addresses(inbound.recipients)),
        ("subject", addressing.ticket_id_from_subject(inbound.subject)),
    ):
        if ticket_id is not None:
            ticket = known.ticket(ticket_id)
            if ticket is not None:
                return ticket, via
    if inbound.external_id and inbound.external_id in known.named_by:
        return known.named_by[inbound.external_id][0].message.ticket, VIA_ANSWER
    for message_id in late_references(inbound):
        if message_id in known.named_by:
            return known.named_by[message_id][0].message.ticket, VIA_SHARED_REFERENCE
    return None


def _ticket_by_message_ids(message_ids: tuple[str, ...], known: ThreadLookup) -> Ticket | None:
    """The ticket of the first referenced message we know (In-Reply-To comes first)."""
    for message_id in message_ids:
        if message_id in known.by_message_id:
            return known.by_message_id[message_id]  # read with its ticket
        ticket_id = addressing.ticket_id_from_message_id(message_id)
        if ticket_id is not None:
            ticket = known.ticket(ticket_id)
            if ticket is not None:
                return ticket
    return None


def answered_at(inbound: InboundMessage, known: ThreadLookup) -> datetime | None:
    """When the earliest message answering this one was placed, if any came first."""
    references = known.named_by.get(inbound.external_id or "", [])
    return min((r.message.created_at for r in references), default=None)


def placed_before(inbound: InboundMessage, answer_at: datetime) -> datetime:
    """Where a message that arrived after its answer goes in the conversation: at its own
    date, unless that would put it after the answer."""
    sent = inbound.received_at
    before = answer_at - timedelta(milliseconds=1)
    return sent if sent is not None and sent < answer_at else before


def missing_references(inbound: InboundMessage, known: ThreadLookup) -> list[str]:
    """The ids this email names that no stored message has (kept to join them later)."""
    return [
        message_id
        for message_id in late_references(inbound)
        if message_id not in known.by_message_id
    ]


def reference_rows(
    message: Message, references: list[str], *, opened_ticket: bool
) -> list[ThreadReference]:
    return [
        ThreadReference(message=message, referenced_id=reference, opened_ticket=opened_ticket)
        for reference in references
    ]


def settle_references(
    *, inbound: InboundMessage, result: IngestResult, known: ThreadLookup, via: str | None
) -> None:
    """After an email is stored: keep the ids it names that are missing; if messages
    answering it came first, bring their tickets together with its own; its id is missing
    no more."""
    if result.outcome == IngestOutcome.DUPLICATE:
        return
    # A message threaded by a stored message it names is on its conversation already: what
    # else it names was never sent to us, or will find the conversation by that message.
    missing = missing_references(inbound, known) if via != VIA_HEADERS else []
    if missing:
        ThreadReference.objects.bulk_create(
            reference_rows(
                result.message, missing, opened_ticket=result.outcome == IngestOutcome.NEW
            )
        )
    answers = known.named_by.get(inbound.external_id or "", [])
    if not answers:
        return
    if via == VIA_ANSWER:
        _take_the_first_subject(result.ticket, inbound)
    _merge_tickets_opened_for_want_of_it(result.ticket, answers)
    ThreadReference.objects.filter(referenced_id=inbound.external_id).delete()


def _merge_tickets_opened_for_want_of_it(ticket: Ticket, answers: list[ThreadReference]) -> None:
    from tickets.services.merging import ticket_merge

    merged: set[int] = set()
    for reference in answers:
        opened = Ticket.objects.filter(pk=reference.message.ticket_id).first()
        if (
            opened is None
            or not reference.opened_ticket
            or opened.pk in merged | {ticket.pk}
            or opened.merged_into_id is not None
            or opened.status == TicketStatus.CLOSED
            or opened.customer_id != ticket.customer_id
        ):
            continue
        try:
            ticket_merge(source=opened, target=ticket, actor=None)
        except Conflict:  # closed or merged by someone meanwhile: theirs to decide
            continue
        record_event(
            ticket,
            EventKind.RELATED,
            actor=None,
            related=opened.pk,
            via="late_parent",
            reason=f"{opened.reference} was opened by an answer to a message that arrived "
            "after it; that message belongs here.",
        )
        merged.add(opened.pk)


def _take_the_first_subject(ticket: Ticket, inbound: InboundMessage) -> None:
    """A ticket opened by an answer ("Re: Printer jams") takes the subject of the message it
    answered ("Printer jams") when that one arrives, unless someone renamed it meanwhile."""
    from tickets.services.messages import SUBJECT_MAX, subject_for

    subject = subject_for(inbound)
    if ticket.subject == subject or not inbound.subject.strip():
        return
    if _REPLY_PREFIXES.sub("", ticket.subject).strip() != _REPLY_PREFIXES.sub("", subject).strip():
        return
    record_event(
        ticket, EventKind.SUBJECT_CHANGED, actor=None, **{"from": ticket.subject, "to": subject}
    )
    ticket.subject = subject[:SUBJECT_MAX]
    ticket.save(update_fields=["subject", "updated_at"])
