"""Tier 0: offer knowledge-base answers on the customer's channel; "solved" closes it.

The customer gets the best confident matches with a signed link (and, by SMS, a reply
keyword) that resolves the ticket as deflected. Without a confident match the ticket goes
on to tier 1 at once.
"""

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from helpdesk.signed import SignedId
from knowledge.selectors import SearchHit, article_answers
from tickets import metrics
from tickets.catalog.selectors import articles_about, customer_services, preferring
from tickets.models import Channel, EventKind, MessageKind, Ticket, TicketStatus
from tickets.problems import known_issues, offers
from tickets.services._common import lock_ticket, record_event
from tickets.services.notices import customer_language
from tickets.services.outbound import ticket_send_automatic_reply
from tickets.services.transitions import apply_transition

SOLVED_KEYWORD = "SOLVED"
# The confident answers a customer is offered on any channel (the chat and the form too).
ANSWERS_OFFERED = 3
# A "solved" link keeps working this long.
_LINK_MAX_AGE = 30 * 24 * 3600
SELF_SERVICE = "Self-service"


_SOLVED_LINKS = SignedId("helpdesk.self-service-solved", max_age_seconds=_LINK_MAX_AGE)


def solved_token(ticket_id: int) -> str:
    return _SOLVED_LINKS.token(ticket_id)


def ticket_id_from_solved_token(token: str) -> int | None:
    return _SOLVED_LINKS.value(token)


def was_offered(ticket: Ticket) -> bool:
    return ticket.events.filter(kind=EventKind.KB_SUGGESTED).exists()


def offer_articles(ticket: Ticket) -> bool:
    """Send the customer what may answer them: a known issue of a service they have first,
    then confident article matches (those about their products first); False when there is
    nothing to offer."""
    first = ticket.messages.filter(kind=MessageKind.INBOUND).order_by("created_at").first()
    text = f"{ticket.subject}\n{first.body_text if first else ''}"
    services = list(customer_services(ticket.customer))
    issues = offers.issues_for(ticket, services) if known_issues.current() else []
    products = {s.product_id for s in services}
    if ticket.product_id is not None:
        products.add(ticket.product_id)
    language = customer_language(ticket.customer)
    hits = preferring(
        article_answers(text, limit=ANSWERS_OFFERED, confident=True, language=language),
        articles_about(products),
    )
    if not hits and not issues:
        return False
    record_event(
        ticket,
        EventKind.KB_SUGGESTED,
        actor=None,
        label=SELF_SERVICE,
        articles=[hit.article.slug for hit in hits],
        known_issues=[issue.problem_id for issue in issues],
    )
    with translation.override(language):
        heading = gettext("We know of this") if issues else gettext("Answers that may solve")
        text = "\n".join([*offers.offer_lines(ticket, issues), *_article_lines(ticket, hits)])
    ticket_send_automatic_reply(ticket=ticket, subject=f"{heading}: {ticket.subject}", text=text)
    return True


def _article_lines(ticket: Ticket, hits: list[SearchHit]) -> list[str]:
    base = settings.PUBLIC_BASE_URL
    otherwise = gettext("Otherwise there is nothing to do: a member of our team will answer you.")
    if not hits:
        return [otherwise]
    lines = [
        gettext(
            "While we look at your request %(reference)s, these articles may already answer it:"
        )
        % {"reference": ticket.reference},
        "",
        *(
            f"- {hit.article.title}: "
            f"{base}{reverse('kb-article', args=[hit.article.category.slug, hit.article.slug])}"
            for hit in hits
        ),
        "",
        gettext("If one solved your problem, tell us here: %(link)s")
        % {"link": f"{base}{reverse('self-service-solved', args=[solved_token(ticket.pk)])}"},
    ]
    if ticket.channel == Channel.SMS:
        lines.append(gettext("Or reply %(keyword)s to this message.") % {"keyword": SOLVED_KEYWORD})
    lines.append(otherwise)
    return lines


def ticket_resolve_deflected(*, ticket_id: int, via: str, now: datetime | None = None) -> bool:
    """The customer says self-service solved it; only while tier 0 still has the ticket.
    True when it is resolved as deflected, by this call or an earlier one (the link clicked
    again, the keyword sent twice: nothing is recorded twice)."""
    now = now or timezone.now()
    with transaction.atomic():
        ticket = lock_ticket(Ticket(pk=ticket_id))
        if ticket.tier.level != 0 or ticket.status not in (TicketStatus.NEW, TicketStatus.OPEN):
            return ticket.status == TicketStatus.RESOLVED and _deflected_since_resolved(ticket)
        apply_transition(
            ticket, TicketStatus.RESOLVED, actor=None, now=now, reason="Solved by self-service",
            tell_customer=False,  # they just told us
        )  # fmt: skip
        record_event(ticket, EventKind.DEFLECTED, actor=None, label=SELF_SERVICE, via=via)
        ticket.routing_due_at = None
        ticket.save(
            update_fields=["status", "status_since", "resolved_at", "routing_due_at", "updated_at"]
        )
        metrics.save(ticket)
    return True


def _deflected_since_resolved(ticket: Ticket) -> bool:
    """Whether the ticket's latest resolution was self-service's."""
    latest = (
        ticket.events.filter(kind__in=(EventKind.DEFLECTED, EventKind.STATUS_CHANGED))
        .order_by("-created_at", "-id")
        .values_list("kind", flat=True)
        .first()
    )
    return latest == EventKind.DEFLECTED
