"""Writes of the catalog: services a customer or an organization has."""

import re
from datetime import date

from django.db import IntegrityError, transaction

from tickets.errors import InvalidInput
from tickets.models import Customer, Organization, Product, ProductPlan, Service, ServiceStatus
from tickets.services._common import Actor

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
    status: str = ServiceStatus.ACTIVE,
    notes: str = "",
) -> Service:
    """Create (service None) or change a service of one customer or one organization."""
    if (customer is None) == (organization is None):
        raise InvalidInput(
            "A service belongs to a customer or to an organization.", code="service_owner"
        )
    if plan is not None and plan.product_id != product.pk:
        raise InvalidInput(f"“{plan.name}” is not a plan of {product.name}.", code="wrong_plan")
    if status not in ServiceStatus.values:
        raise InvalidInput(f"The status is one of {', '.join(ServiceStatus.values)}.")
    service = service or Service()
    service.product, service.plan = product, plan
    service.customer, service.organization = customer, organization
    service.identifier = identifier.strip()[:100]
    service.key = identifier_key(service.identifier)
    service.since, service.status, service.notes = since, status, notes.strip()
    try:
        with transaction.atomic():
            service.save()
    except IntegrityError:
        raise InvalidInput(
            f"{product.name} {service.identifier} is another customer's service already.",
            code="identifier_taken",
        ) from None
    return service
