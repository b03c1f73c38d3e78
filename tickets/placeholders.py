"""The one placeholder syntax, `{{ name }}`: in replies, canned responses (macros) and the
customer notices. A placeholder it does not know stays as it was typed, so that a mistake
shows instead of vanishing. Where these texts are edited, the placeholders are listed
(`listing`)."""

import re
from typing import Any

from django.utils import translation
from django.utils.html import escape
from django.utils.translation import pgettext

from helpdesk.languages import default_language, supported_language

_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_.]+)\s*\}\}")

# name: what it becomes
TICKET = {
    "customer.name": "the customer's name (“there” when we have none)",
    "customer.first_name": "the customer's first name",
    "ticket.reference": "the ticket's reference, e.g. HD-12",
    "ticket.subject": "the ticket's subject",
}
AGENT = {
    "agent.name": "your full name",
    "agent.first_name": "your first name",
}
NOTICE = {
    "ticket.promise": "when we will answer (“We will answer by 5 December 2026, 14:30 UTC.”)",
    "ticket.rating_link": "the satisfaction survey's link (resolved notice)",
}
IN_REPLIES = {**TICKET, **AGENT}
IN_NOTICES = {**TICKET, **NOTICE}


def fill(text: str, values: dict[str, str], *, html: bool = False) -> str:
    """`text` with its known placeholders replaced (escaped for HTML when `html`)."""
    if "{{" not in text:
        return text

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            return match.group(0)
        return str(escape(values[name])) if html else values[name]

    return _PLACEHOLDER.sub(value, text)


def pieces(text: str, values: dict[str, str]) -> list[tuple[str, str | None]]:
    """`text` cut at its known placeholders, each filled: (the text's own words, None) and
    (a placeholder's value, its name), in order, empty pieces left out. For a receiver that
    shows the values apart from the words around them (Slack)."""
    cut: list[tuple[str, str | None]] = []
    start = 0
    for match in _PLACEHOLDER.finditer(text):
        name = match.group(1)
        if name not in values:
            continue  # stays as typed, part of the words around it
        cut.append((text[start : match.start()], None))
        cut.append((values[name], name))
        start = match.end()
    cut.append((text[start:], None))
    return [(piece, name) for piece, name in cut if piece]


def ticket_values(ticket: Any) -> dict[str, str]:
    name = ticket.customer.name.strip()
    # "Hello there", in the customer's language (German: "Guten Tag zusammen").
    language = supported_language(ticket.customer.language) or default_language()
    with translation.override(language):
        there = pgettext("greeting without a name", "there")
    return {
        "customer.name": name or there,
        "customer.first_name": name.split()[0] if name else there,
        "ticket.reference": ticket.reference,
        "ticket.subject": ticket.subject,
    }


def agent_values(agent: Any) -> dict[str, str]:
    return {
        "agent.name": agent.get_full_name() or agent.get_username(),
        "agent.first_name": agent.first_name or agent.get_username(),
    }


def listing(names: dict[str, str]) -> str:
    """'{{ customer.name }} (the customer's name), ...': for help texts."""
    return "; ".join(f"{{{{ {name} }}}}: {meaning}" for name, meaning in names.items())
