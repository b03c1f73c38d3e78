"""Reads of the catalog: a customer's services, and the services a message names."""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from tickets.models import Customer, Product, Service

# Identifiers are written in parts ("RT-88-1234", "rt 88 1234", "0207 946 0000"): runs of
# up to this many adjacent words (letters and digits, one separator apart) are tried joined.
_WORD = re.compile(r"[A-Za-z0-9]+")
_SEPARATOR = re.compile(r"[\s\-./_:]{1,2}")
_MOST_PARTS = 4
_MIN_LENGTH = 4
# Of a long message, the start is read (identifiers come with the problem, not the footer).
_READ_CHARS = 4000


def _candidate_keys(text: str) -> set[str]:
    words = list(_WORD.finditer(text[:_READ_CHARS]))
    keys: set[str] = set()
    for first in range(len(words)):
        joined = ""
        for n in range(first, min(first + _MOST_PARTS, len(words))):
            between = text[words[n - 1].end() : words[n].start()] if n > first else ""
            if n > first and not _SEPARATOR.fullmatch(between):
                break
            joined += words[n].group().upper()
            if len(joined) >= _MIN_LENGTH and any(c.isdigit() for c in joined):
                keys.add(joined)
    return keys


def belongs_to(service: Service, customer: Customer) -> bool:
    """Whether the service is the customer's own or their organization's."""
    return service.customer_id == customer.pk or (
        service.organization_id is not None and service.organization_id == customer.organization_id
    )


def customer_services(customer: Customer) -> QuerySet[Service]:
    """The services of the customer and of their organization, with product and plan."""
    mine = Q(customer=customer)
    if customer.organization_id is not None:
        mine |= Q(organization_id=customer.organization_id)
    return Service.objects.filter(mine).select_related("product", "plan")


def services_named_in(text: str, customer: Customer) -> list[Service]:
    """The customer's services whose identifier the text names, however it is written
    (case, spaces, dashes): one query."""
    keys = _candidate_keys(text)
    if not keys:
        return []
    return list(customer_services(customer).filter(key__in=keys))


def services_named_in_many(texts: list[tuple[str, Customer]]) -> list[Service | None]:
    """services_named_in for many (text, customer) at once, in one query: for each, the
    first service of that customer (or their organization) the text names, or None."""
    wanted = [_candidate_keys(text) for text, _ in texts]
    keys = set().union(*wanted)
    if not keys:
        return [None] * len(texts)
    customers = {customer.pk for _, customer in texts}
    organizations = {c.organization_id for _, c in texts if c.organization_id is not None}
    owners = Q(customer_id__in=customers) | Q(organization_id__in=organizations)
    found: dict[str, list[Service]] = {}
    for service in Service.objects.filter(owners, key__in=keys).select_related("product"):
        found.setdefault(service.key, []).append(service)

    return [
        next(
            (
                s
                for key in sorted(candidates)
                for s in found.get(key, ())
                if belongs_to(s, customer)
            ),
            None,
        )
        for candidates, (_, customer) in zip(wanted, texts, strict=True)
    ]


def offered_products() -> QuerySet[Product]:
    """The products customers may choose from (forms, pickers)."""
    return Product.objects.filter(active=True).order_by("name")


@dataclass(frozen=True)
class Asked:
    """A new ticket's first words and customer, with what the customer chose it is about
    (a form's choice; ids as sent, not yet checked)."""

    text: str
    customer: Customer
    product_id: int | None = None
    service_id: int | None = None


@dataclass(frozen=True)
class About:
    """What a new ticket is about, and how that is known."""

    product: Product
    service: Service | None
    chosen: bool  # the customer chose it (else their message named the service)


def about_new_many(asked: Sequence[Asked]) -> list[About | None]:
    """What each new ticket is about: the service its customer chose, if it is theirs or
    their organization's, else the product they chose, if offered (active); without such a
    choice, the service their message names (services_named_in_many); else None. A query
    for the chosen services, one for the chosen products, one for the named services: each
    only when there is something to look for."""
    service_ids = {a.service_id for a in asked if a.service_id is not None}
    product_ids = {a.product_id for a in asked if a.product_id is not None}
    services = Service.objects.select_related("product").in_bulk(service_ids) if service_ids else {}
    products = offered_products().in_bulk(product_ids) if product_ids else {}
    found = [_chosen(a, services, products) for a in asked]
    left = [index for index, about in enumerate(found) if about is None]
    if left:
        named = services_named_in_many([(asked[i].text, asked[i].customer) for i in left])
        for index, service in zip(left, named, strict=True):
            if service is not None:
                found[index] = About(product=service.product, service=service, chosen=False)
    return found


def _chosen(
    asked: Asked, services: dict[int, Service], products: dict[int, Product]
) -> About | None:
    service = services.get(asked.service_id) if asked.service_id is not None else None
    if service is not None and belongs_to(service, asked.customer):
        return About(product=service.product, service=service, chosen=True)
    product = products.get(asked.product_id) if asked.product_id is not None else None
    if product is not None:
        return About(product=product, service=None, chosen=True)
    return None


def articles_about(product_ids: set[int]) -> set[int]:
    """The knowledge-base articles tied to these products (tier 0 and suggestions prefer
    them for the customers who have them)."""
    if not product_ids:
        return set()
    links = Product.articles.through.objects.filter(product_id__in=product_ids)
    return set(links.values_list("article_id", flat=True))


def preferring(hits: list[Any], article_ids: set[int]) -> list[Any]:
    """Search hits with those about the given articles first, each part in its order."""
    return sorted(hits, key=lambda hit: hit.article.pk not in article_ids)
