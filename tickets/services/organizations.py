"""Organizations: their domains (whose new customers join them), notes and SLA plan."""

from collections.abc import Iterable
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets.errors import Conflict, InvalidInput
from tickets.models import (
    ACTIVE_STATUSES,
    ContactKind,
    ContactPoint,
    Customer,
    Organization,
    OrganizationDomain,
    SLAPolicy,
    Ticket,
    TicketMetrics,
)

# Domains that many unrelated people write from: tying one to an organization would make
# strangers its members.
SHARED_MAIL_DOMAINS = frozenset(
    {
        "aol.com", "gmail.com", "googlemail.com", "gmx.de", "gmx.net", "hotmail.com",
        "icloud.com", "live.com", "mail.com", "me.com", "msn.com", "outlook.com",
        "proton.me", "protonmail.com", "t-online.de", "web.de", "yahoo.com", "yandex.ru",
    }
)  # fmt: skip
# Open tickets re-read for their SLA a transaction at a time when an organization changes.
SLA_BATCH = 200


def email_domain(address: str) -> str:
    return address.rpartition("@")[2].lower()


def normalize_domain(text: str) -> str:
    """`text` as a bare domain ("@Acme.example" and "acme.example." alike), or InvalidInput."""
    domain = text.strip().lower().removeprefix("@").rstrip(".")
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
        # As IDNA reads it (gmail.com typed in full-width letters is gmail.com), so the
        # public-mail check below and the addresses it is compared with see one spelling.
        domain = domain if domain.isascii() else ascii_domain.encode("ascii").decode("idna")
    except UnicodeError:
        ascii_domain = ""
    labels = ascii_domain.split(".")
    if (
        len(labels) < 2
        or len(ascii_domain) > 253
        or not all(0 < len(label) <= 63 for label in labels)
        or not all(label.replace("-", "").isalnum() for label in labels)
    ):
        raise InvalidInput(
            _("“%(domain)s” is not a domain like acme.example.") % {"domain": text.strip()},
            code="invalid",
        )
    if domain in SHARED_MAIL_DOMAINS:
        raise InvalidInput(
            _("%(domain)s is a public mail service: its customers are not one organization.")
            % {"domain": domain},
            code="shared_domain",
        )
    return domain


def organizations_for_addresses(addresses: Iterable[str]) -> dict[str, int]:
    """The id of the organization each email address's domain belongs to (those that have
    one), from the desk's set-up kept per process: no query."""
    from tickets.services import desk_setup

    owners = desk_setup.current().domains
    if not owners:
        return {}
    found = {address: owners.get(email_domain(address)) for address in addresses}
    return {address: owner for address, owner in found.items() if owner is not None}


def organization_for_new_customer(kind: str, value: str) -> int | None:
    """The organization a new customer first reached by this contact joins, if any."""
    if kind != ContactKind.EMAIL:
        return None
    return organizations_for_addresses([value]).get(value)


def organization_update(
    *,
    organization: Organization,
    name: str,
    notes: str,
    sla_policy: SLAPolicy | None,
    now: datetime | None = None,
) -> Organization:
    """Rename, note and choose the plan; a new plan applies to open tickets at once."""
    name = name.strip()
    if not name:
        raise InvalidInput(_("An organization needs a name."), code="invalid")
    if "\x00" in name + notes:  # PostgreSQL stores no NUL character
        raise InvalidInput(_("Remove the NUL character from the name or notes."), code="invalid")
    with transaction.atomic():
        organization = Organization.objects.select_for_update().get(pk=organization.pk)
        plan_changed = organization.sla_policy_id != (sla_policy.pk if sla_policy else None)
        organization.name, organization.notes = name[:200], notes.strip()
        organization.sla_policy = sla_policy
        try:
            with transaction.atomic():
                organization.save(update_fields=["name", "notes", "sla_policy"])
        except IntegrityError:
            raise Conflict(
                _("Another organization is called %(name)s.") % {"name": name}, code="name_taken"
            ) from None
        if plan_changed:
            _reevaluate_open_tickets(
                Ticket.objects.filter(customer__organization=organization), now or timezone.now()
            )
    return organization


def organization_add_domain(*, organization: Organization, domain: str) -> OrganizationDomain:
    domain = normalize_domain(domain)
    owner = OrganizationDomain.objects.select_related("organization").filter(domain=domain).first()
    if owner is not None:
        if owner.organization_id == organization.pk:
            return owner
        raise Conflict(
            _("%(domain)s already belongs to %(organization)s.")
            % {"domain": domain, "organization": owner.organization},
            code="domain_taken",
        )
    try:
        with transaction.atomic():
            return OrganizationDomain.objects.create(organization=organization, domain=domain)
    except IntegrityError:
        raise Conflict(
            _("%(domain)s was just given to another organization.") % {"domain": domain},
            code="domain_taken",
        ) from None


def organization_remove_domain(*, organization: Organization, domain_id: int) -> None:
    """New customers of the domain stop joining; those who joined stay."""
    deleted, _kinds = OrganizationDomain.objects.filter(
        organization=organization, pk=domain_id
    ).delete()
    if not deleted:
        raise InvalidInput(_("That is not one of this organization's domains."), code="not_found")


def unattached_customers_of_domain(domain: OrganizationDomain) -> QuerySet[Customer]:
    """Customers who write from the domain but belong to no organization yet."""
    return Customer.objects.filter(
        organization__isnull=True,
        merged_into__isnull=True,
        pk__in=ContactPoint.objects.filter(
            kind=ContactKind.EMAIL, value__endswith=f"@{domain.domain}"
        ).values("customer_id"),
    )


def organization_adopt_domain_customers(
    *, organization: Organization, domain_id: int, now: datetime | None = None
) -> int:
    """Bring the domain's customers who belong to no organization into this one (those of
    another organization stay where an agent put them); how many joined."""
    domain = OrganizationDomain.objects.filter(organization=organization, pk=domain_id).first()
    if domain is None:
        raise InvalidInput(_("That is not one of this organization's domains."), code="not_found")
    with transaction.atomic():
        joining = list(
            unattached_customers_of_domain(domain).select_for_update().values_list("pk", flat=True)
        )
        Customer.objects.filter(pk__in=joining).update(
            organization=organization, updated_at=now or timezone.now()
        )
        TicketMetrics.objects.filter(ticket__customer_id__in=joining).update(
            organization=organization
        )
        _reevaluate_open_tickets(
            Ticket.objects.filter(customer_id__in=joining), now or timezone.now()
        )
    return len(joining)


def _reevaluate_open_tickets(tickets: QuerySet[Ticket], now: datetime) -> None:
    """Re-choose the SLA policy of the open ones among `tickets`, a batch at a time."""
    from tickets.services import sla_clocks
    from tickets.services._common import lock_rows

    open_ids = list(tickets.filter(status__in=ACTIVE_STATUSES).values_list("pk", flat=True))
    policies = sla_clocks.active_policies()
    for start in range(0, len(open_ids), SLA_BATCH):
        batch = open_ids[start : start + SLA_BATCH]
        locked = lock_rows(Ticket.objects.select_related("tier", "customer__organization"), batch)
        for ticket in locked.values():
            if ticket.status in ACTIVE_STATUSES:
                sla_clocks.reevaluate(ticket, now, policies)
