"""Erasing what is held about people, in bulk: one customer on request (anonymised, or their
tickets deleted), or many closed tickets by a retention rule (tickets.privacy.retention).

Everything is written with queryset updates and deletes, a batch of tickets per transaction
(a retried task picks up where a lost one stopped: what is erased stays erased); files go
from storage after the batch commits. The audit entry says what was done, never to whom by
name.
"""

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.translation import gettext as _

from tickets.errors import InvalidInput, NotAllowed
from tickets.models import (
    ACTIVE_STATUSES,
    Attachment,
    AuditAction,
    CallLog,
    ChatSession,
    ContactPoint,
    Customer,
    CustomerExport,
    CustomerNote,
    ErasureMode,
    EventKind,
    FieldKind,
    KnownIssueSubscriber,
    Message,
    Notification,
    Service,
    SideAttachment,
    SideConversation,
    SideMessage,
    ThreadReference,
    Ticket,
    TicketEvent,
    TicketFieldValue,
    TicketParticipant,
    WebhookDelivery,
)
from tickets.privacy.audit import audit_record
from tickets.roles import handles_personal_data

# Tickets erased in one transaction.
BATCH = 200
# The subject an anonymised ticket keeps, and the customer retention moves tickets to.
ANONYMISED_SUBJECT = "(anonymised)"
ANONYMOUS_CUSTOMER = "Anonymous customer"
# Event data that is no one's personal data (ids, levels, states); other text is dropped.
_SAFE_EVENT_KEYS = frozenset(
    {"from", "to", "status", "priority", "tier", "level", "channel", "via", "by", "kind",
     "rating", "target", "source", "messages", "from_customer", "to_customer", "follow_up_of",
     "follow_up", "at", "macro", "chat", "answering"}
)  # fmt: skip

_LONG_NUMBER = re.compile(r"\d[\d ()-]{5,}")

# Told of tickets about to be erased (ids, mode), to remove what other apps keep about them
# (channels_ingest's raw payloads): registered in their AppConfig.ready().
erase_listeners: list[Callable[[Sequence[int], str], None]] = []


@dataclass(frozen=True)
class ErasePreview:
    """What erasing a customer touches (the customer page's confirmation shows it)."""

    customers: int
    tickets: int
    open_tickets: int
    messages: int
    attachments: int  # on their messages and their side conversations
    contacts: int
    notes: int
    services: int
    portal_account: bool


def refuse_unless_handles_personal_data(actor: User | None, doing: str) -> None:
    if actor is not None and not handles_personal_data(actor):
        raise NotAllowed(_("Only admins may %(doing)s.") % {"doing": doing}, code="admins_only")


def customer_family(customer_id: int) -> list[int]:
    """The customer and every customer merged into them (their rows keep names)."""
    family, level = [customer_id], [customer_id]
    while level:
        level = list(
            Customer.objects.filter(merged_into_id__in=level)
            .exclude(pk__in=family)
            .values_list("pk", flat=True)
        )
        family.extend(level)
    return family


def customer_erase_preview(*, customer: Customer) -> ErasePreview:
    family = customer_family(customer.pk)
    tickets = Ticket.objects.filter(customer_id__in=family)
    return ErasePreview(
        customers=len(family),
        tickets=tickets.count(),
        open_tickets=tickets.filter(status__in=ACTIVE_STATUSES).count(),
        messages=Message.objects.filter(ticket__customer_id__in=family).count(),
        attachments=Attachment.objects.filter(message__ticket__customer_id__in=family).count()
        + SideAttachment.objects.filter(
            message__conversation__ticket__customer_id__in=family
        ).count(),
        contacts=ContactPoint.objects.filter(customer_id__in=family).count(),
        notes=CustomerNote.objects.filter(customer_id__in=family).count(),
        services=Service.objects.filter(customer_id__in=family).count(),
        portal_account=Customer.objects.filter(pk__in=family, user__isnull=False).exists(),
    )


def customer_erase(
    *, customer_id: int, mode: str, actor: User | None, now: datetime | None = None
) -> ErasePreview:
    """Remove a customer's personal data. `anonymise`: their tickets stay (for statistics)
    with every message's text, sender and files gone; `delete`: their tickets go entirely.
    Either way the customer's row stays as a nameless placeholder with no contact points,
    notes, services, exports or portal account. Returns what was erased."""
    if mode not in ErasureMode.values:
        raise InvalidInput(
            _("Erase how? One of: %(choices)s.") % {"choices": ", ".join(ErasureMode.values)},
            code="mode",
        )
    refuse_unless_handles_personal_data(actor, _("erase a customer"))
    now = now or timezone.now()
    customer = Customer.objects.get(pk=customer_id)
    if customer.merged_into_id is not None:
        raise InvalidInput(
            _("Customer %(pk)s was merged into customer %(merged_into_id)s: erase that one.")
            % {"pk": customer.pk, "merged_into_id": customer.merged_into_id},
            code="customer_merged",
        )
    family = customer_family(customer.pk)
    before = customer_erase_preview(customer=customer)
    theirs = Ticket.objects.filter(customer_id__in=family)
    if mode == ErasureMode.DELETE:
        tickets_delete(tickets=theirs)
    else:
        tickets_anonymise(tickets=theirs, placeholder_id=customer.pk, now=now)
    with transaction.atomic():
        _scrub_customers(family, now=now)
        audit_record(
            action=AuditAction.CUSTOMER_ERASED,
            actor=actor,
            object_type="customer",
            object_id=customer.pk,
            summary=f"Customer {customer.pk} erased ({mode}): {before.tickets} ticket(s) "
            f"{'deleted' if mode == ErasureMode.DELETE else 'anonymised'}.",
            now=now,
            mode=mode,
            merged_customers=family[1:],
            **asdict(before),
        )
    return before


def _scrub_customers(family: list[int], *, now: datetime) -> None:
    addresses = list(
        ContactPoint.objects.filter(customer_id__in=family).values_list("value", flat=True)
    )
    # Where they appear on other people's tickets: copied in, or writing there.
    TicketParticipant.objects.filter(email__in=addresses).delete()
    TicketEvent.objects.filter(kind=EventKind.PARTICIPANT_ADDED, data__email__in=addresses).update(
        data={}
    )
    Message.objects.filter(author_customer_id__in=family).exclude(
        ticket__customer_id__in=family
    ).update(sender="")
    ContactPoint.objects.filter(customer_id__in=family).delete()
    CustomerNote.objects.filter(customer_id__in=family).delete()
    Service.objects.filter(customer_id__in=family).delete()
    KnownIssueSubscriber.objects.filter(
        Q(customer_id__in=family) | Q(address__in=addresses)
    ).delete()
    exports = CustomerExport.objects.filter(customer_id__in=family)
    delete_files_on_commit(CustomerExport, "file", exports.values_list("file", flat=True))
    exports.delete()
    user_ids = list(
        Customer.objects.filter(pk__in=family, user__isnull=False).values_list("user", flat=True)
    )
    Customer.objects.filter(pk__in=family).update(name="", user=None, erased_at=now)
    for user_id in user_ids:  # a customer has at most one portal account
        _scrub_portal_account(user_id)


def _scrub_portal_account(user_id: int) -> None:
    """The portal account cannot sign in any more and says nothing about its owner."""
    user = User.objects.get(pk=user_id)
    user.username = f"erased-{user_id}-{get_random_string(6)}"
    user.email = user.first_name = user.last_name = ""
    user.is_active = False
    user.set_unusable_password()
    user.save()


def tickets_anonymise(
    *, tickets: QuerySet[Ticket], placeholder_id: int, now: datetime | None = None
) -> int:
    """Keep these tickets for statistics (channel, status, times, ratings) with nothing
    personal left: subjects, message texts, senders, files, call numbers, chat names, CCs,
    notifications' texts and the free text of their history go; the customer becomes the
    placeholder. Returns how many tickets were anonymised."""
    now = now or timezone.now()
    done = 0
    for batch in _batches(tickets):
        with transaction.atomic():
            _announce(batch, ErasureMode.ANONYMISE)
            messages = Message.objects.filter(ticket_id__in=batch)
            attachments = Attachment.objects.filter(message__ticket_id__in=batch)
            delete_files_on_commit(Attachment, "file", attachments.values_list("file", flat=True))
            delete_files_on_commit(
                Message,
                "original",
                messages.exclude(original="").values_list("original", flat=True),
            )
            attachments.delete()
            ThreadReference.objects.filter(message__ticket_id__in=batch).delete()
            messages.filter(author_customer__isnull=False).update(author_customer=placeholder_id)
            messages.update(
                subject="", sender="", body_text="", body_html="", original="",
                delivery_error="", external_id=None,
            )  # fmt: skip
            CallLog.objects.filter(message__ticket_id__in=batch).update(
                phone_number="", recording_url=""
            )
            ChatSession.objects.filter(ticket_id__in=batch).update(
                name="", email="", rating_comment=""
            )
            TicketParticipant.objects.filter(ticket_id__in=batch).delete()
            WebhookDelivery.objects.filter(ticket_id__in=batch).delete()
            _scrub_side_conversations(batch)
            # Free text typed into custom fields may name anyone; choices, numbers and
            # dates stay for the reports.
            TicketFieldValue.objects.filter(
                ticket_id__in=batch, field__kind=FieldKind.TEXT
            ).delete()
            Notification.objects.filter(ticket_id__in=batch).update(
                text="(about a ticket since anonymised)"
            )
            _scrub_event_data(batch)
            Ticket.objects.filter(pk__in=batch).update(
                customer=placeholder_id, subject=ANONYMISED_SUBJECT, updated_at=now
            )
            TicketEvent.objects.bulk_create(
                TicketEvent(ticket_id=pk, kind=EventKind.ANONYMISED, actor_label="privacy",
                            created_at=now)
                for pk in batch
            )  # fmt: skip
        done += len(batch)
    return done


def _side_originals(batch: list[int]) -> QuerySet[SideMessage, str]:
    return (
        SideMessage.objects.filter(conversation__ticket_id__in=batch)
        .exclude(original="")
        .values_list("original", flat=True)
    )


def _side_files(batch: list[int]) -> QuerySet[SideAttachment]:
    return SideAttachment.objects.filter(message__conversation__ticket_id__in=batch)


def _scrub_side_conversations(batch: list[int]) -> None:
    """What agents and vendors wrote about the customer goes, files too; that a
    conversation took place (and with whom: the vendor's address, not the customer's)
    stays."""
    delete_files_on_commit(SideMessage, "original", _side_originals(batch))
    files = _side_files(batch)
    delete_files_on_commit(SideAttachment, "file", files.values_list("file", flat=True))
    files.delete()
    SideMessage.objects.filter(conversation__ticket_id__in=batch).update(
        body_text="", body_html="", original="", delivery_error=""
    )
    SideConversation.objects.filter(ticket_id__in=batch).update(subject=ANONYMISED_SUBJECT)


def _scrub_event_data(batch: list[int]) -> None:
    """History keeps what happened (kinds, levels, states), not what was written."""
    events = list(
        TicketEvent.objects.filter(ticket_id__in=batch).exclude(data={}).only("id", "data")
    )
    changed = []
    for event in events:
        kept = {key: value for key, value in event.data.items() if _safe(key, value)}
        if kept != event.data:
            event.data = kept
            changed.append(event)
    TicketEvent.objects.bulk_update(changed, ["data"], batch_size=500)
    # A chat's rating is shown as by the name the customer gave.
    TicketEvent.objects.filter(ticket_id__in=batch, kind=EventKind.RATED, actor=None).update(
        actor_label="customer"
    )


def _safe(key: str, value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, float)):
        return True
    if key not in _SAFE_EVENT_KEYS:
        return False
    if isinstance(value, str):
        return len(value) <= 40 and "@" not in value and not _LONG_NUMBER.search(value)
    return isinstance(value, list) and all(isinstance(v, (int, str)) for v in value)


def tickets_delete(*, tickets: QuerySet[Ticket]) -> int:
    """Delete these tickets with everything hanging from them (messages, attachments and
    their files, history, clocks, chats); returns how many were deleted."""
    done = 0
    for batch in _batches(tickets):
        with transaction.atomic():
            _announce(batch, ErasureMode.DELETE)
            messages = Message.objects.filter(ticket_id__in=batch)
            delete_files_on_commit(
                Attachment,
                "file",
                Attachment.objects.filter(message__ticket_id__in=batch).values_list(
                    "file", flat=True
                ),
            )
            delete_files_on_commit(
                Message,
                "original",
                messages.exclude(original="").values_list("original", flat=True),
            )
            delete_files_on_commit(SideMessage, "original", _side_originals(batch))
            delete_files_on_commit(
                SideAttachment, "file", _side_files(batch).values_list("file", flat=True)
            )
            # Kept by SET_NULL otherwise, with the ticket's data in their bodies.
            WebhookDelivery.objects.filter(ticket_id__in=batch).delete()
            done += Ticket.objects.filter(pk__in=batch).delete()[1].get("tickets.Ticket", 0)
    return done


def _announce(batch: list[int], mode: str) -> None:
    for listener in erase_listeners:
        listener(batch, mode)


def _batches(tickets: QuerySet[Ticket]) -> Iterable[list[int]]:
    """The ids of these tickets, a batch at a time in id order (keyset: constant memory,
    and a batch erased meanwhile is not read again)."""
    last = 0
    while True:
        batch = list(
            tickets.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:BATCH]
        )
        if not batch:
            return
        yield batch
        last = batch[-1]


def delete_files_on_commit(model: Any, field: str, names: Iterable[str]) -> None:
    """Remove the stored files once the rows that name them are gone for good."""
    storage = model._meta.get_field(field).storage
    doomed = [name for name in names if name]
    if doomed:
        transaction.on_commit(lambda: [storage.delete(name) for name in doomed])
