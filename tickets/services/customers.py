"""Customers and their contact points: one person, however they reach us."""

from collections.abc import Sequence
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.languages import supported_language
from tickets import policy
from tickets.contacts import normalize_contact
from tickets.errors import Conflict, InvalidInput
from tickets.models import (
    ACTIVE_STATUSES,
    AuditAction,
    ContactPoint,
    Customer,
    CustomerNote,
    EventKind,
    KnownIssueSubscriber,
    Organization,
    Service,
    Ticket,
    TicketEvent,
    TicketMetrics,
)
from tickets.privacy.audit import audit_record
from tickets.services._common import Actor, lock_rows, savepoint_unless
from tickets.services.organizations import organization_for_new_customer


def customer_get_or_create_for_contact(
    *, kind: str, value: str, name: str = "", locked: bool = False
) -> Customer:
    """The customer who owns this address or number, created on first contact.

    Safe under concurrency: two first messages from one new address make one customer.
    `locked`: the caller holds the sender's lock (threads.lock_conversations), so no other
    ingest can race it: no savepoint; another door creating the contact meanwhile fails the
    caller's transaction (a unique race, retried).
    """
    normalized = normalize_contact(kind, value)
    contact = _contact_lookup(kind, normalized)
    if contact is not None:
        return _follow_merges(contact.customer)
    try:
        with savepoint_unless(locked):
            customer = Customer.objects.create(
                name=name.strip()[:200],
                organization_id=organization_for_new_customer(kind, normalized),
            )
            ContactPoint.objects.create(customer=customer, kind=kind, value=normalized)
            return customer
    except IntegrityError:
        contact = None if locked else _contact_lookup(kind, normalized)
        if contact is None:
            raise
        return _follow_merges(contact.customer)


def _contact_lookup(kind: str, normalized: str) -> ContactPoint | None:
    return (
        ContactPoint.objects.select_related("customer").filter(kind=kind, value=normalized).first()
    )


def _follow_merges(customer: Customer) -> Customer:
    # Contact points move on merge, so this only matters for rows read mid-merge.
    while customer.merged_into_id is not None:
        customer = Customer.objects.get(pk=customer.merged_into_id)
    return customer


def customer_create(
    *,
    name: str,
    contacts: Sequence[tuple[str, str]],
    organization: Organization | None = None,
) -> Customer:
    """A customer entered by an agent, with at least one way to reach them."""
    if not contacts:
        raise InvalidInput(_("A customer needs at least one email address or phone number."))
    joins = next(
        filter(None, (organization_for_new_customer(kind, value) for kind, value in contacts)),
        None,
    )
    with transaction.atomic():
        customer = Customer.objects.create(
            name=name.strip()[:200],
            organization_id=organization.pk if organization is not None else joins,
        )
        for kind, value in contacts:
            customer_add_contact_point(customer=customer, kind=kind, value=value)
    return customer


def customer_note_language(*, customer: Customer, language: str) -> bool:
    """Keep a detected language (the browser's, a message's) on a customer whose language is
    not known yet; a known one (their own choice included) stays. True when it was set."""
    language = supported_language(language)
    if not language or customer.language:
        return False
    updated = Customer.objects.filter(pk=customer.pk, language="").update(
        language=language, updated_at=timezone.now()
    )
    if updated:
        customer.language = language
    return bool(updated)


def customer_set_language(*, customer: Customer, language: str) -> Customer:
    """The customer's own choice (the portal's language switcher): replaces any other."""
    chosen = supported_language(language)
    if not chosen:
        raise InvalidInput(
            _("%(language)r is not a language of this help desk.") % {"language": language}
        )
    if customer.language != chosen:
        customer.language = chosen
        customer.save(update_fields=["language", "updated_at"])
    return customer


def customer_add_contact_point(*, customer: Customer, kind: str, value: str) -> ContactPoint:
    if customer.merged_into_id is not None:
        raise Conflict(
            _("Customer %(pk)s was merged into customer %(merged_into_id)s; add the contact there.")
            % {"pk": customer.pk, "merged_into_id": customer.merged_into_id},
            code="customer_merged",
        )
    normalized = normalize_contact(kind, value)
    existing = _contact_lookup(kind, normalized)
    if existing is not None:
        if existing.customer_id == customer.pk:
            return existing
        raise Conflict(
            _(
                "%(contact)s already belongs to customer %(customer_id)s; "
                "merge the two customers instead."
            )
            % {"contact": normalized, "customer_id": existing.customer_id},
            code="contact_taken",
        )
    try:
        with transaction.atomic():
            return ContactPoint.objects.create(customer=customer, kind=kind, value=normalized)
    except IntegrityError:
        raise Conflict(
            _("%(contact)s was just added to another customer.") % {"contact": normalized},
            code="contact_taken",
        ) from None


def customer_remove_contact_point(*, customer: Customer, contact_id: int) -> None:
    """Forget one of a customer's addresses or numbers; the last one stays (a customer
    nobody can reach cannot be answered)."""
    with transaction.atomic():
        points = list(ContactPoint.objects.select_for_update().filter(customer=customer))
        point = next((p for p in points if p.pk == contact_id), None)
        if point is None:
            raise InvalidInput(_("That is not one of this customer's contacts."), code="not_found")
        if len(points) == 1:
            raise Conflict(
                _("This is the customer's only contact: add another before removing it."),
                code="last_contact",
            )
        point.delete()


def customer_note(*, customer: Customer, actor: Actor, text: str) -> CustomerNote:
    """A note agents keep about the customer."""
    if not text.strip():
        raise InvalidInput(_("A note needs some text."), code="empty_message")
    if "\x00" in text:  # PostgreSQL stores no NUL character (the workspace posts it raw)
        raise InvalidInput(_("Remove the NUL character from the note."), code="invalid")
    return CustomerNote.objects.create(customer=customer, author=actor, text=text.strip())


def customer_merge(*, source: Customer, target: Customer, actor: Actor) -> Customer:
    """Fold `source` into `target`: every ticket and contact point follows, with an event."""
    policy.refuse_unless_works_tickets(actor, _("merge customers"))
    if source.pk == target.pk:
        raise InvalidInput(_("A customer cannot be merged into itself."), code="same_customer")
    with transaction.atomic():
        locked = {
            c.pk: c
            for c in Customer.objects.select_for_update().filter(pk__in=[source.pk, target.pk])
        }
        source, target = locked[source.pk], locked[target.pk]
        if source.merged_into_id is not None:
            raise Conflict(
                _("Customer %(pk)s was already merged.") % {"pk": source.pk}, code="customer_merged"
            )
        if target.merged_into_id is not None:
            raise Conflict(
                _("Customer %(pk)s was merged away.") % {"pk": target.pk}, code="customer_merged"
            )

        ticket_ids = list(Ticket.objects.filter(customer=source).values_list("pk", flat=True))
        Ticket.objects.filter(pk__in=ticket_ids).update(customer=target)
        contacts = list(
            ContactPoint.objects.filter(customer=source).values_list("value", flat=True)
        )
        ContactPoint.objects.filter(customer=source).update(customer=target)
        # What else is theirs follows: services, agents' notes, "tell me when it's fixed".
        services = Service.objects.filter(customer=source).update(customer=target)
        notes = CustomerNote.objects.filter(customer=source).update(customer=target)
        KnownIssueSubscriber.objects.filter(customer=source).update(customer=target)
        source.messages.update(author_customer=target)
        TicketEvent.objects.bulk_create(
            TicketEvent(
                ticket_id=ticket_id,
                kind=EventKind.CUSTOMER_MERGED,
                actor=actor,
                actor_label="" if actor else "system",
                data={"from_customer": source.pk, "to_customer": target.pk},
            )
            for ticket_id in ticket_ids
        )
        _merge_profile(source, target)
        TicketMetrics.objects.filter(ticket__customer=target).update(
            organization=target.organization_id
        )
        source.merged_into = target
        source.save(update_fields=["merged_into", "user", "updated_at"])
        # Said where agents look: on the customer kept, as who merged whom.
        CustomerNote.objects.create(
            customer=target,
            author=actor,
            text=f"Merged in: customer {source.pk} {source.name or '(no name)'} "
            f"({', '.join(contacts) or 'no contacts'}), {len(ticket_ids)} ticket(s).",
        )
        audit_record(
            action=AuditAction.CUSTOMER_MERGED,
            actor=actor,
            object_type="customer",
            object_id=target.pk,
            summary=f"Customer {source.pk} merged into customer {target.pk}: "
            f"{len(ticket_ids)} ticket(s), {len(contacts)} contact(s) moved.",
            source=source.pk,
            target=target.pk,
            tickets=len(ticket_ids),
            contacts=len(contacts),
            services=services,
            notes=notes,
        )
    return target


def _merge_profile(source: Customer, target: Customer) -> None:
    """Keep what the target lacks: a name, an organisation, a portal account."""
    fields = []
    if not target.name and source.name:
        target.name = source.name
        fields.append("name")
    if target.organization_id is None and source.organization_id is not None:
        target.organization_id = source.organization_id
        fields.append("organization")
    if not target.language and source.language:
        target.language = source.language
        fields.append("language")
    if target.user_id is None and source.user_id is not None:
        user_id, source.user = source.user_id, None
        source.save(update_fields=["user"])
        target.user_id = user_id
        fields.append("user")
    if fields:
        target.save(update_fields=[*fields, "updated_at"])


def customer_set_organization(
    *, customer: Customer, organization: Organization | None, now: datetime | None = None
) -> Customer:
    """Move a customer to another organization; their open tickets' SLAs follow."""
    from tickets.services import sla_clocks

    now = now or timezone.now()
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if customer.organization_id == (organization.pk if organization else None):
            return customer
        customer.organization = organization
        customer.save(update_fields=["organization", "updated_at"])
        # Reports count a customer's tickets under the organization they belong to now.
        TicketMetrics.objects.filter(ticket__customer=customer).update(organization=organization)
        active = customer.tickets.filter(status__in=ACTIVE_STATUSES).values_list("pk", flat=True)
        tickets = Ticket.objects.select_related("tier", "customer")
        for ticket in lock_rows(tickets, list(active)).values():
            if ticket.status in ACTIVE_STATUSES:  # as it is now, under the lock
                sla_clocks.reevaluate(ticket, now)
    return customer
