"""The known issues' banner for the public pages (help center, contact form, chat start).

A context processor, so the help center's views (knowledge, which does not import tickets)
need not know of it. The value is lazy: a page that shows no banner never looks, and one
that does asks the database nothing while the known issues are unchanged
(tickets.problems.known_issues keeps them per process). Which of them a reader is shown is
known_issues.shown_to's to say (the public API asks it too).
"""

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from tickets.problems import known_issues


def known_issues_banner(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    return {"known_issues": SimpleLazyObject(lambda: known_issues.shown_to(user))}
