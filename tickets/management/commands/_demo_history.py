"""Eight weeks of demo history, so the reports have something to show: tickets that came
in, were answered, escalated, sent back, solved, reopened and rated, each step told to the
services at the moment it happened (time-machine, a development dependency, sets the
clock). Deterministic, and idempotent by the tickets' external ids."""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from knowledge import services as kb
from knowledge.models import Article, ArticleStatus
from tickets import services
from tickets.inbound import InboundMessage, IngestOutcome
from tickets.models import Channel, ContactKind, Organization, Ticket
from tickets.services import self_service

TICKETS = 160
DAYS = 56
SUBJECTS = [
    "VPN drops every few minutes", "Cannot print to the office printer",
    "Password reset link expired", "Invoice shows the wrong VAT number",
    "Export to CSV times out", "Two-factor codes not arriving",
    "Laptop will not connect to Wi-Fi", "Outlook keeps asking for my password",
    "Need access to the shared drive", "App crashes when I upload a photo",
]  # fmt: skip
REASONS = [
    "Needs a server-side fix", "Reproduced: looks like a defect", "Customer's network config",
    "Needs database access",
]  # fmt: skip
COMMENTS = [
    "Quick and friendly, thanks!", "Took a while but it is fixed.", "",
    "Had to explain the problem twice.", "", "Great help from the engineer.",
]  # fmt: skip


def load_history(users: dict[str, Any], now: datetime | None = None) -> int:
    """Returns how many history tickets it created (0 once they all exist)."""
    try:
        import time_machine
    except ImportError:  # a production install: no demo history
        return 0
    now = now or timezone.now()
    rng = random.Random(23)  # noqa: S311 - demo data, not a secret
    created = 0
    for number in range(TICKETS):
        tier = 0 if rng.random() < 0.2 else 1
        steps = list(_life(rng, number, now, users, tier))
        start, _ = steps[0]
        if start >= now:
            continue
        with time_machine.travel(start, tick=False):
            result = services.ticket_open(inbound=_inbound(rng, number), tier_level=tier)
        if result.outcome != IngestOutcome.NEW:
            continue
        created += 1
        _join_organization(result.ticket.customer, number)
        for moment, step in steps[1:]:
            if moment >= now:
                break
            with time_machine.travel(moment, tick=False):
                ticket = Ticket.objects.get(pk=result.ticket.pk)
                step(ticket)
    if created:
        _web_form_deflections(rng, now)
    return created


def _web_form_deflections(rng: random.Random, now: datetime) -> None:
    """Customers who found the answer among the contact form's suggestions and sent nothing."""
    articles = list(Article.objects.filter(status=ArticleStatus.PUBLISHED).order_by("pk")[:12])
    for _ in range(25 if articles else 0):
        article = rng.choice(articles)
        moment = now - timedelta(days=rng.uniform(0.5, DAYS))
        kb.deflection_record(article=article, query=article.title, search_id=None, now=moment)


ORGANIZATIONS = ["Acme Corp", "Globex", "Initech", "Umbrella Health", "Stark Logistics"]


def _join_organization(customer: Any, number: int) -> None:
    """Most customers work for one of a few organizations; some write for themselves."""
    if customer.organization_id is None and number % 7:
        name = ORGANIZATIONS[zlib.crc32(customer.name.encode()) % len(ORGANIZATIONS)]
        organization, _ = Organization.objects.get_or_create(name=name)
        services.customer_set_organization(customer=customer, organization=organization)


def _inbound(rng: random.Random, number: int) -> InboundMessage:
    channel = rng.choices([Channel.EMAIL, Channel.WEB, Channel.SMS], weights=[6, 3, 1])[0]
    person = rng.randrange(40)
    if channel == Channel.SMS:
        kind, sender = ContactKind.PHONE, f"+1415555{person:04d}"
    else:
        kind, sender = ContactKind.EMAIL, f"customer{person}@example.org"
    return InboundMessage(
        channel=channel,
        sender_kind=kind,
        sender=sender,
        sender_name=f"Customer {person}",
        subject=rng.choice(SUBJECTS) if channel != Channel.SMS else "",
        text="It stopped working this morning; can you help?",
        external_id=f"demo-history-{number}",
    )


def _life(
    rng: random.Random, number: int, now: datetime, users: dict[str, Any], tier: int
) -> Iterator[tuple[datetime, Any]]:
    """(moment, step) pairs: what happens to the ticket, in order."""
    day = now - timedelta(days=rng.uniform(0.5, DAYS))
    at = day.replace(hour=rng.randint(7, 18), minute=rng.randrange(60), second=0, microsecond=0)
    yield at, None
    first, second = rng.choice([users["alice"], users["bob"]]), None

    def later(low: int, high: int) -> datetime:
        nonlocal at
        at += timedelta(minutes=rng.randint(low, high))
        return at

    if tier == 0 and rng.random() < 0.45:  # the suggested articles answered it
        yield (
            later(5, 120),
            lambda t: self_service.ticket_resolve_deflected(ticket_id=t.pk, via="portal"),
        )
        return
    yield later(5, 30), lambda t: _to_frontline(t, first)
    asks = rng.random() < 0.3
    yield later(10, 600), lambda t: services.ticket_reply(
        ticket=t, actor=first, text="Thanks, looking into it.",
        status="pending_customer" if asks else "open",
    )  # fmt: skip
    if asks:
        yield (
            later(30, 1440),
            lambda t: services.ticket_add_inbound(ticket=t, inbound=_follow_up(t, number, 1)),
        )
    solver = first
    if rng.random() < 0.25:
        second = rng.choice([users["carol"], users["dan"]])
        reason = rng.choice(REASONS)
        yield later(20, 240), lambda t: _escalate(t, first, second, reason)
        yield (
            later(20, 900),
            lambda t: services.ticket_reply(
                ticket=t, actor=second, text="An engineer here; we found the cause."
            ),
        )
        solver = second
        if rng.random() < 0.3:
            yield later(60, 1440), lambda t: _send_back(t, second, first)
            solver = first
    yield (
        later(30, 2880),
        lambda t, s=solver: services.ticket_reply(
            ticket=t, actor=s, text="This is fixed now.", status="resolved"
        ),
    )
    if rng.random() < 0.08:
        yield (
            later(60, 2000),
            lambda t: services.ticket_add_inbound(ticket=t, inbound=_follow_up(t, number, 2)),
        )
        yield (
            later(30, 600),
            lambda t, s=solver: services.ticket_reply(
                ticket=t, actor=s, text="Sorry, fixed properly this time.", status="resolved"
            ),
        )
    if rng.random() < 0.4:
        rating = rng.choices([5, 4, 3, 2, 1], weights=[50, 25, 10, 8, 7])[0]
        comment = rng.choice(COMMENTS)
        yield (
            later(10, 1440),
            lambda t: services.ticket_rate(ticket=t, rating=rating, comment=comment, actor=None),
        )


def _to_frontline(ticket: Ticket, agent: Any) -> None:
    if ticket.tier.level == 0:
        services.ticket_move_tier(
            ticket=ticket, tier_level=1, reason="Self-service did not answer it",
            handoff_note="The suggested articles did not help.", actor=None,
        )  # fmt: skip
        ticket.refresh_from_db()
    services.ticket_assign(ticket=ticket, assignee=agent, actor=None)


def _escalate(ticket: Ticket, frontline: Any, engineer: Any, reason: str) -> None:
    services.ticket_escalate(
        ticket=ticket, reason=reason, handoff_note="Steps and logs are in the thread.",
        actor=frontline,
    )  # fmt: skip
    services.ticket_assign(ticket=Ticket.objects.get(pk=ticket.pk), assignee=engineer, actor=None)


def _send_back(ticket: Ticket, engineer: Any, frontline: Any) -> None:
    services.ticket_move_tier(
        ticket=ticket, tier_level=1, reason="Fix deployed; please confirm with the customer",
        handoff_note="Deployed the fix.", actor=engineer,
    )  # fmt: skip
    services.ticket_assign(ticket=Ticket.objects.get(pk=ticket.pk), assignee=frontline, actor=None)


def _follow_up(ticket: Ticket, number: int, n: int) -> InboundMessage:
    contact = ticket.customer.contact_points.first()
    assert contact is not None
    return InboundMessage(
        channel=Channel(ticket.channel) if ticket.channel != Channel.WEB else Channel.EMAIL,
        sender_kind=ContactKind(contact.kind),
        sender=contact.value,
        subject=f"Re: {ticket.subject}",
        text="It still does not work for me." if n == 2 else "Here is what you asked for.",
        external_id=f"demo-history-{number}-reply-{n}",
    )
