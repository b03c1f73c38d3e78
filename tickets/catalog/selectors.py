"""Reads of the catalog: a customer's services, and the services a message names."""

import re

from django.db.models import Q, QuerySet

from tickets.models import Customer, Service

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
