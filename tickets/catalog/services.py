"""Writes of the catalog: services a customer or an organization has."""

import re
from datetime import date

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from tickets import policy
from tickets.catalog.selectors import About, belongs_to
from tickets.errors import InvalidInput
from tickets.models import (
    Customer,
    EventKind,
    Organization,
    Product,
    ProductPlan,
    Service,
    ServiceStatus,
    Ticket,
    TicketEvent,
)
from tickets.services._common import (
    Actor,
    lock_ticket,
    new_event,
    record_event,
    refuse_if_merged,
)

# What an identifier is written with besides its letters and digits ("AB-12 34" is AB1234).
_SEPARATORS = re.compile(r"[^0-9A-Za-z]+")


def identifier_key(identifier: str) -> str:
    """How an identifier is found: its letters and digits, upper case (no spaces, dashes,
    dots, slashes or other marks), as tickets.catalog.selectors reads them in messages."""
    return _SEPARATORS.sub("", identifier).upper()


def service_save(
    *,
    service: Service | None,
    product: Product,
    actor: Actor,
    customer: Customer | None = None,
    organization: Organization | None = None,
    plan: ProductPlan | None = None,
    identifier: str = "",
    since: date | None = None,
    region: str = "",
    status: str = ServiceStatus.ACTIVE,
    notes: str = "",
) -> Service:
    """Create (service None) or change a service of one customer or one organization."""
    if (customer is None) == (organization is None):
        raise InvalidInput(
            _("A service belongs to a customer or to an organization."), code="service_owner"
        )
    if plan is not None and plan.product_id != product.pk:
        raise InvalidInput(
            _("“%(name)s” is not a plan of %(product_name)s.")
            % {"name": plan.name, "product_name": product.name},
            code="wrong_plan",
        )
    if status not in ServiceStatus.values:
        raise InvalidInput(
            _("The status is one of %(choices)s.") % {"choices": ", ".join(ServiceStatus.values)}
        )
    service = service or Service()
    service.product, service.plan = product, plan
    service.customer, service.organization = customer, organization
    service.identifier = identifier.strip()[:100]
    service.key = identifier_key(service.identifier)
    service.since, service.status, service.notes = since, status, notes.strip()
    service.region = " ".join(region.split())[:100]
    try:
        with transaction.atomic():
            service.save()
    except IntegrityError:
        raise InvalidInput(
            _("%(name)s %(identifier)s is another customer's service already.")
            % {"name": product.name, "identifier": service.identifier},
            code="identifier_taken",
        ) from None
    return service


def about_label(product: Product | None, service: Service | None) -> str:
    """What a ticket is about, as its history says it."""
    if service is not None:
        return str(service)
    return product.name if product is not None else ""


def ticket_set_about(
    *,
    ticket: Ticket,
    actor: Actor,
    product: Product | None = None,
    service: Service | None = None,
    label: str = "",
) -> Ticket:
    """Say which product, or which of the customer's services, a ticket is about (None and
    None: nothing in particular). A service sets its product too."""
    if service is not None:
        if product is not None and product.pk != service.product_id:
            raise InvalidInput(
                _("%(service)s is not a service of %(name)s.")
                % {"service": service, "name": product.name},
                code="wrong_product",
            )
        product = service.product
    with transaction.atomic():
        ticket = lock_ticket(ticket)
        refuse_if_merged(ticket)  # a page loaded before the merge
        policy.refuse_if_closed(ticket)
        if service is not None and not belongs_to(service, ticket.customer):
            raise InvalidInput(
                _("%(service)s is not a service of %(customer)s or their organization.")
                % {"service": service, "customer": ticket.customer},
                code="not_their_service",
            )
        if (ticket.product_id, ticket.service_id) == (
            product.pk if product else None,
            service.pk if service else None,
        ):
            return ticket
        ticket.product, ticket.service = product, service
        ticket.save(update_fields=["product", "service", "updated_at"])
        record_event(
            ticket,
            EventKind.PRODUCT_SET,
            actor=actor,
            label=label,
            to=about_label(product, service),
            product=product.pk if product else None,
            service=service.pk if service else None,
        )
    return ticket


def about_on_open(ticket: Ticket, about: About | None) -> list[TicketEvent]:
    """Set on a ticket not yet written what it is about (selectors.about_new_many: chosen by
    its customer, or the service their first message names); the event to write with it."""
    if about is None:
        return []
    ticket.product, ticket.service = about.product, about.service
    return [
        new_event(
            ticket,
            EventKind.PRODUCT_SET,
            actor=None,
            label="Chosen by the customer" if about.chosen else "Recognised",
            to=about_label(about.product, about.service),
            product=about.product.pk,
            service=about.service.pk if about.service else None,
        )
    ]
