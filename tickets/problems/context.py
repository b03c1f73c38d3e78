"""The known issues' banner for the public pages (help center, contact form, chat start).

A context processor, so the help center's views (knowledge, which does not import tickets)
need not know of it. The value is lazy: a page that shows no banner never looks, and one
that does asks the database nothing while the known issues are unchanged
(tickets.problems.known_issues keeps them per process). A signed-in customer whose services
are known sees only the issues that affect them (and those for everyone): two queries, and
only while an issue names products or regions.
"""

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from tickets.catalog.selectors import customer_services
from tickets.problems import known_issues
from tickets.problems.known_issues import Current
from tickets.selectors import customer_for_user


def known_issues_banner(request: HttpRequest) -> dict[str, Any]:
    return {"known_issues": SimpleLazyObject(lambda: _banner(request))}


def _banner(request: HttpRequest) -> list[Current]:
    issues = list(known_issues.current())
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or all(i.is_for_everyone for i in issues):
        return issues
    customer = customer_for_user(user)
    services = list(customer_services(customer)) if customer is not None else []
    if not services:  # a visitor, or a customer whose services the desk does not know
        return issues
    return known_issues.affecting(customer, services)
