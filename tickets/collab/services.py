"""Writes of working together: following, related tickets, side conversations.

Each runs in one transaction and writes its TicketEvent in it (following writes none: it
changes who hears of the ticket, not the ticket).
"""

import logging
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from tickets import addressing, policy
from tickets.collab.following import add_followers
from tickets.contacts import normalize_email
from tickets.errors import Conflict, InvalidInput
from tickets.html import sanitize_html
from tickets.inbound import InboundAttachment, InboundMessage, IngestOutcome, SideReplyResult
from tickets.models import (
    ContactKind,
    DeliveryStatus,
    EventKind,
    SideAttachment,
    SideConversation,
    SideMessage,
    SideMessageKind,
    SideStatus,
    Ticket,
    TicketFollower,
    TicketLink,
)
from tickets.services import sending_claims
from tickets.services._common import Actor, lock_ticket, new_event, record_event, record_events
from tickets.services.messages import file_rows, refuse_oversized_files
from tickets.services.notices import Said, notify_agents

logger = logging.getLogger(__name__)

SUBJECT_MAX = 255
TEXT_MAX = 50_000


# --- Following ----------------------------------------------------------------------------


def ticket_follow(*, ticket: Ticket, actor: User) -> None:
    """The agent hears of the ticket's news from now on (again: nothing changes)."""
    with transaction.atomic():
        add_followers(lock_ticket(ticket), [actor.pk])


def ticket_unfollow(*, ticket: Ticket, actor: User) -> None:
    with transaction.atomic():
        ticket = lock_ticket(ticket)
        TicketFollower.objects.filter(ticket=ticket, user=actor).delete()
        if ticket.has_followers and not TicketFollower.objects.filter(ticket=ticket).exists():
            Ticket.objects.filter(pk=ticket.pk).update(has_followers=False)


# --- Related tickets ----------------------------------------------------------------------


def ticket_link(*, ticket: Ticket, other: Ticket, actor: Actor) -> TicketLink:
    """Say two tickets are related: shown on both, an event on both."""
    policy.refuse_unless_works_tickets(actor, _("link tickets"))
    if ticket.pk == other.pk:
        raise InvalidInput(_("A ticket cannot be related to itself."), code="link_to_itself")
    low, high = sorted((ticket.pk, other.pk))
    with transaction.atomic():
        # Both locked, in id order: two agents linking the same pair meet here.
        first, second = lock_ticket(Ticket(pk=low)), lock_ticket(Ticket(pk=high))
        for one in (first, second):
            if one.merged_into_id is not None:
                raise Conflict(
                    _("%(reference)s was merged into another ticket; link that one instead.")
                    % {"reference": one.reference},
                    code="ticket_merged",
                )
        if TicketLink.objects.filter(low_id=low, high_id=high).exists():
            raise Conflict(
                _("%(reference)s and %(second)s are already related.")
                % {"reference": first.reference, "second": second.reference},
                code="already_linked",
            )
        link = TicketLink.objects.create(low_id=low, high_id=high, created_by=actor)
        _record_on_both(first, second, EventKind.TICKET_LINKED, actor)
    return link


def _record_on_both(first: Ticket, second: Ticket, kind: EventKind, actor: Actor) -> None:
    """The event in each ticket's history, naming the other."""
    record_events(
        [
            new_event(first, kind, actor=actor, other=second.pk, other_ref=second.reference),
            new_event(second, kind, actor=actor, other=first.pk, other_ref=first.reference),
        ]
    )


def ticket_unlink(*, ticket: Ticket, other: Ticket, actor: Actor) -> None:
    policy.refuse_unless_works_tickets(actor, _("unlink tickets"))
    low, high = sorted((ticket.pk, other.pk))
    with transaction.atomic():
        first, second = lock_ticket(Ticket(pk=low)), lock_ticket(Ticket(pk=high))
        deleted, _kinds = TicketLink.objects.filter(low_id=low, high_id=high).delete()
        if not deleted:
            raise Conflict(
                _("%(reference)s and %(second)s are not related.")
                % {"reference": first.reference, "second": second.reference},
                code="not_linked",
            )
        _record_on_both(first, second, EventKind.TICKET_UNLINKED, actor)


# --- Side conversations -------------------------------------------------------------------


def side_conversation_start(
    *,
    ticket: Ticket,
    to: str,
    subject: str,
    text: str,
    actor: Actor,
    attachments: tuple[InboundAttachment, ...] = (),
    now: datetime | None = None,
    form_key: str = "",
) -> SideConversation:
    """Email a third party about the ticket: a conversation of its own, sent like a reply
    (pending, then by the delivery task after commit), with the files attached. Never to the
    customer. `form_key`: the key of the page's form; sent again, it is the conversation
    already started."""
    policy.refuse_unless_works_tickets(actor, _("email third parties about a ticket"))
    address = normalize_email(to)
    subject = " ".join(subject.split())
    if not subject:
        raise InvalidInput(_("A side conversation needs a subject."), code="empty_subject")
    _refuse_empty(text)
    refuse_oversized_files(attachments)
    if addressing.is_own_address(address):
        raise InvalidInput(_("That is the help desk's own address."), code="own_address")
    now = now or timezone.now()
    with transaction.atomic():
        ticket = lock_ticket(ticket)  # a second send of one form waits for the first here
        if (sent := _sent_from_form(actor, form_key)) is not None:
            return sent.conversation
        _refuse_if_merged(ticket)
        if ticket.customer.contact_points.filter(kind=ContactKind.EMAIL, value=address).exists():
            raise InvalidInput(
                _("That is the customer's address: answer them in the ticket's reply box."),
                code="customer_address",
            )
        conversation = SideConversation.objects.create(
            ticket=ticket,
            subject=subject[:SUBJECT_MAX],
            counterpart=address,
            created_by=actor,
            created_at=now,
            updated_at=now,
        )
        message = _outbound(conversation, text, attachments, actor, now, form_key)
        record_event(
            ticket, EventKind.SIDE_STARTED, actor=actor, side=conversation.pk, to=address,
            subject=conversation.subject, message=message.pk,
        )  # fmt: skip
        if actor is not None:  # who asked hears the answer
            add_followers(ticket, [actor.pk])
    return conversation


def side_conversation_reply(
    *,
    conversation: SideConversation,
    text: str,
    actor: Actor,
    attachments: tuple[InboundAttachment, ...] = (),
    now: datetime | None = None,
    form_key: str = "",
) -> SideMessage:
    """Write again to the third party, in the same thread (a closed one opens again), with
    the files attached; once for a form sent twice (`form_key`)."""
    policy.refuse_unless_works_tickets(actor, _("email third parties about a ticket"))
    _refuse_empty(text)
    refuse_oversized_files(attachments)
    now = now or timezone.now()
    with transaction.atomic():
        ticket = lock_ticket(conversation.ticket)
        if (sent := _sent_from_form(actor, form_key)) is not None:
            return sent
        _refuse_if_merged(ticket)
        conversation = SideConversation.objects.select_for_update().get(pk=conversation.pk)
        conversation.status, conversation.updated_at = SideStatus.OPEN, now
        conversation.save(update_fields=["status", "updated_at"])
        message = _outbound(conversation, text, attachments, actor, now, form_key)
        record_event(
            ticket, EventKind.SIDE_SENT, actor=actor, side=conversation.pk,
            to=conversation.counterpart, subject=conversation.subject, message=message.pk,
        )  # fmt: skip
    return message


def side_conversation_close(
    *, conversation: SideConversation, actor: Actor, now: datetime | None = None
) -> SideConversation:
    """Done with it (a later reply from the third party, or to them, opens it again)."""
    policy.refuse_unless_works_tickets(actor, _("close side conversations"))
    with transaction.atomic():
        ticket = lock_ticket(conversation.ticket)
        conversation = SideConversation.objects.select_for_update().get(pk=conversation.pk)
        if conversation.status == SideStatus.CLOSED:
            return conversation
        conversation.status, conversation.updated_at = SideStatus.CLOSED, now or timezone.now()
        conversation.save(update_fields=["status", "updated_at"])
        record_event(
            ticket, EventKind.SIDE_CLOSED, actor=actor, side=conversation.pk,
            subject=conversation.subject,
        )  # fmt: skip
    return conversation


def _refuse_empty(text: str) -> None:
    if not text.strip():
        raise InvalidInput(_("The message needs some text."), code="empty_message")
    if len(text) > TEXT_MAX:
        raise InvalidInput(
            _("The message is longer than %(most)s characters.") % {"most": TEXT_MAX},
            code="message_too_long",
        )


def _sent_from_form(actor: Actor, form_key: str) -> SideMessage | None:
    """What `actor` sent from the page's form with this key before (a double click)."""
    if not form_key or actor is None:
        return None
    found = SideMessage.objects.select_related("conversation").filter(
        author_user=actor, form_key=form_key
    )
    return found.first()


def _refuse_if_merged(ticket: Ticket) -> None:
    if ticket.merged_into_id is not None:
        raise Conflict(
            _("%(reference)s was merged into another ticket; work on that one instead.")
            % {"reference": ticket.reference},
            code="ticket_merged",
        )


def _outbound(
    conversation: SideConversation,
    text: str,
    attachments: tuple[InboundAttachment, ...],
    actor: Actor,
    now: datetime,
    form_key: str = "",
) -> SideMessage:
    message = SideMessage.objects.create(
        conversation=conversation,
        kind=SideMessageKind.OUTBOUND,
        author_user=actor,
        body_text=text,
        external_id=addressing.new_side_message_id(conversation.pk),
        delivery_status=DeliveryStatus.PENDING,
        form_key=form_key,
        created_at=now,
    )
    _store_files(message, attachments)
    schedule_side_delivery(message.pk)
    return message


def _store_files(message: SideMessage, items: tuple[InboundAttachment, ...]) -> None:
    """The message's files, under the rules of a ticket message's (safe names, types by
    content, the size limit)."""
    if items:
        SideAttachment.objects.bulk_create(
            file_rows(
                items, lambda: SideAttachment(message=message), of=f"side message {message.pk}"
            )
        )


def schedule_side_delivery(message_id: int) -> None:
    """Queue the sending task when the transaction commits (a broker outage leaves the
    message pending for the outbound sweep)."""

    def enqueue() -> None:
        try:
            import_string(settings.HELPDESK_SIDE_DELIVERY_TASK).delay(message_id)
        except Exception:
            logger.exception("could not queue delivery of side message %s", message_id)

    transaction.on_commit(enqueue)


def side_message_mark_sent(*, message_id: int, provider_id: str) -> None:
    SideMessage.objects.filter(pk=message_id, delivery_status=DeliveryStatus.PENDING).update(
        delivery_status=DeliveryStatus.SENT, provider_id=provider_id[:255], delivery_error=""
    )


def side_message_mark_failed(*, message_id: int, reason: str) -> None:
    """The provider refused it for good: said on the message and in the ticket's history."""
    with transaction.atomic():
        message = (
            SideMessage.objects.select_for_update(of=("self",))
            .select_related("conversation__ticket")
            .filter(pk=message_id, delivery_status=DeliveryStatus.PENDING)
            .first()
        )
        if message is not None:
            _fail_side(message, reason)


def side_message_record_bounce(
    *, reason: str, provider_id: str = "", message_ids: tuple[str, ...] = ()
) -> SideMessage | None:
    """A bounce of an email we sent in a side conversation, found by the provider's id for
    it or by its Message-ID: it was not delivered after all. None when it is none of ours."""
    if provider_id:
        ours = Q(provider_id=provider_id)
    elif message_ids:
        ours = Q(external_id__in=message_ids)
    else:
        return None
    with transaction.atomic():
        message = (
            SideMessage.objects.select_for_update(of=("self",))
            .select_related("conversation__ticket")
            .filter(ours, kind=SideMessageKind.OUTBOUND)
            .order_by("id")
            .first()
        )
        if message is not None and message.delivery_status != DeliveryStatus.FAILED:
            _fail_side(message, reason)
    return message


def _fail_side(message: SideMessage, reason: str) -> None:
    """Said on the message and in the ticket's history."""
    message.delivery_status, message.delivery_error = DeliveryStatus.FAILED, reason[:2000]
    message.save(update_fields=["delivery_status", "delivery_error"])
    conversation = message.conversation
    record_event(
        conversation.ticket, EventKind.DELIVERY_FAILED, actor=None, side=conversation.pk,
        side_message=message.pk, error=reason[:500],
    )  # fmt: skip


def pending_side_deliveries(*, older_than: datetime, now: datetime | None = None) -> list[int]:
    """Side messages still pending after their task should have run; not those a worker
    is sending now."""
    return list(
        SideMessage.objects.filter(
            sending_claims.unclaimed(now or timezone.now()),
            kind=SideMessageKind.OUTBOUND,
            delivery_status=DeliveryStatus.PENDING,
            created_at__lt=older_than,
        ).values_list("pk", flat=True)[:500]
    )


def side_message_claim_for_sending(
    *, message_id: int, now: datetime, until: datetime
) -> SideMessage | None:
    """The outbound side message, claimed for the caller to send until `until`, if it is
    still pending and no other worker process holds it; else None."""
    rows = SideMessage.objects.filter(pk=message_id, kind=SideMessageKind.OUTBOUND)
    claim, taken = sending_claims.claim_for_sending(rows, now=now, until=until)
    if not taken:
        return None
    return (
        SideMessage.objects.select_related("conversation__ticket")
        .filter(pk=message_id, claimed_by=claim, delivery_status=DeliveryStatus.PENDING)
        .first()
    )


def side_message_release_claim(*, message: SideMessage) -> None:
    """Give back the claim on a side message that could not be sent now."""
    sending_claims.release_claim(
        SideMessage.objects.filter(pk=message.pk), claim=message.claimed_by
    )


# --- Replies from the third party ---------------------------------------------------------


def side_conversation_named(inbound: InboundMessage) -> int | None:
    """The side conversation an email names, by what only our side mail carries: its
    Message-IDs (In-Reply-To, References), its reply address, or its subject tag from the
    conversation's own counterpart. Reads nothing: most mail names none."""
    if inbound.channel != "email":
        return None
    for message_id in inbound.thread_ids:
        side = addressing.side_id_from_message_id(message_id)
        if side is not None:
            return side
    side = addressing.side_id_from_addresses(inbound.recipients)
    if side is not None:
        return side
    tagged = addressing.side_id_from_subject(inbound.subject)
    return tagged[1] if tagged is not None else None


def side_conversation_receive(
    *, inbound: InboundMessage, conversation_id: int, now: datetime | None = None
) -> SideReplyResult | None:
    """A third party's email into its side conversation: stored there with its files, never
    on the customer's conversation; the ticket's status, clocks and metrics do not change. The
    assignee, the conversation's starter and the followers are told. None when the
    conversation does not exist or the email only names it by subject from another address
    (the caller then ingests it as any email). Call inside the ingest's transaction."""
    now = now or timezone.now()
    conversation = (
        SideConversation.objects.select_related("ticket").filter(pk=conversation_id).first()
    )
    if conversation is None:
        return None
    ticket = conversation.ticket
    sender = inbound.sender.strip().lower()
    by_headers = (
        any(addressing.side_id_from_message_id(m) == conversation.pk for m in inbound.thread_ids)
        or addressing.side_id_from_addresses(inbound.recipients) == conversation.pk
    )
    if not by_headers:
        tagged = addressing.side_id_from_subject(inbound.subject)
        if tagged != (ticket.pk, conversation.pk) or sender != conversation.counterpart:
            return None
    if inbound.external_id:
        stored = SideMessage.objects.filter(external_id=inbound.external_id).first()
        if stored is not None:
            return SideReplyResult(ticket, stored, IngestOutcome.DUPLICATE)
    message = SideMessage(
        conversation=conversation,
        kind=SideMessageKind.INBOUND,
        sender=sender[:320],
        body_text=inbound.text,
        body_html=sanitize_html(inbound.html),
        external_id=inbound.external_id or None,
        created_at=now,
    )
    if inbound.original is not None:
        message.original.save("original.eml", ContentFile(inbound.original), save=False)
    message.save(force_insert=True)
    _store_files(message, inbound.attachments)
    conversation.status, conversation.updated_at = SideStatus.OPEN, now
    conversation.save(update_fields=["status", "updated_at"])
    record_event(
        ticket, EventKind.SIDE_RECEIVED, actor=None, label=sender, side=conversation.pk,
        subject=conversation.subject, message=message.pk,
    )  # fmt: skip
    told = {pk for pk in (ticket.assignee_id, conversation.created_by_id) if pk is not None}
    if ticket.has_followers:
        told |= set(ticket.followers.filter(user__is_active=True).values_list("user_id", flat=True))
    notify_agents(
        user_ids=told,
        ticket=ticket,
        kind="side_reply",
        text=Said(
            gettext_noop(
                "%(reference)s: %(sender)s replied in the side conversation “%(subject)s”"
            ),
            {"reference": ticket.reference, "sender": sender, "subject": conversation.subject},
        ),
    )
    return SideReplyResult(ticket, message, IngestOutcome.THREADED)
