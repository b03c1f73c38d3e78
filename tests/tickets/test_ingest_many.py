"""Many emails at once give what one at a time gives, in a fixed number of statements."""

import base64
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from channels_ingest import pipeline
from channels_ingest.email.parse import idempotency_key
from channels_ingest.models import InboundItem, InboundStatus
from tickets import addressing, services
from tickets.errors import DomainError
from tickets.inbound import InboundAttachment, InboundMessage, IngestResult
from tickets.models import (
    Channel,
    ContactKind,
    SLAPolicy,
    Ticket,
    TicketParticipant,
    TicketStatus,
)
from tickets.services import ingest_many

pytestmark = pytest.mark.django_db

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def email(world: str, sender: str, number: int, **values: Any) -> InboundMessage:
    """An email in one of two worlds (the same conversations, other addresses)."""
    return InboundMessage(
        channel=Channel.EMAIL,
        sender_kind=ContactKind.EMAIL,
        sender=f"{sender}@{world}.example",
        sender_name=sender.title(),
        subject=values.pop("subject", f"Problem {number}"),
        text=values.pop("text", f"Message {number} from {sender}."),
        external_id=f"<m{number}@{world}.example>",
        **values,
    )


def existing_tickets(world: str, agent: Any) -> tuple[dict[str, Ticket], str]:
    """Tickets already there: answered (open), waiting on the customer, closed, with a
    participant."""
    tickets: dict[str, Ticket] = {}
    for name in ("ann", "bob", "carol", "dave"):
        opened = services.ticket_open(inbound=email(world, name, 900 + len(tickets)), tier_level=1)
        tickets[name] = opened.ticket
    reply = services.ticket_reply(ticket=tickets["ann"], actor=agent, text="Try again, please.")
    services.ticket_reply(
        ticket=tickets["bob"],
        actor=agent,
        text="Did it help?",
        status=TicketStatus.PENDING_CUSTOMER,
    )
    services.ticket_close(ticket=tickets["carol"], actor=agent)
    TicketParticipant.objects.create(ticket=tickets["dave"], email=f"erin@{world}.example")
    return tickets, str(reply.external_id)


def arriving(world: str, existing: tuple[dict[str, Ticket], str]) -> list[InboundMessage]:
    tickets, our_reply = existing
    own = addressing.support_address()
    return [
        email(world, "xena", 1, cc=((f"yuri@{world}.example", "Yuri"), (own, "Support"))),
        email(world, "ann", 2, thread_ids=(our_reply,)),  # answered: a next-response clock
        email(world, "xena", 3, thread_ids=(f"<m1@{world}.example>",)),  # answers message 1
        email(
            world, "bob", 4, thread_ids=(tickets["bob"].messages.get(kind="inbound").external_id,)
        ),
        email(
            world,
            "carol",
            5,
            thread_ids=(tickets["carol"].messages.get(kind="inbound").external_id,),
        ),
        email(world, "mallory", 6, thread_ids=(our_reply,)),  # a stranger on ann's ticket
        email(world, "erin", 7, subject=f"Re: [{tickets['dave'].reference}] help"),
        email(world, "dave", 8, subject=f"Re: [{tickets['dave'].reference}] me too"),
        email(world, "xena", 1),  # the first message again: a duplicate
        InboundMessage(
            channel=Channel.EMAIL, sender_kind=ContactKind.EMAIL, sender=own, text="Loop"
        ),
        email(world, "zoe", 10, text=""),  # nothing in it
        email(
            world,
            "yves",
            11,
            html="<p>See <b>this</b><script>alert(1)</script></p>",
            attachments=(InboundAttachment("shot.png", "image/png", PNG),),
        ),
        email(world, "ann", 12, thread_ids=(our_reply,)),  # ann again, same ticket
    ]


def snapshot(world: str, results: list[Any]) -> dict[str, Any]:
    """What agents and customers see of one world, without ids."""

    def name(ticket: Ticket | None) -> str | None:
        if ticket is None:
            return None
        return f"{ticket.customer.contact_points.get().value.split('@')[0]}:{ticket.subject}"

    tickets = Ticket.objects.filter(customer__contact_points__value__endswith=f"@{world}.example")
    seen = {}
    for ticket in tickets.order_by("created_at", "pk"):
        seen[name(ticket)] = {
            "status": ticket.status,
            "tier": ticket.tier.level,
            "follow_up_of": name(ticket.follow_up_of),
            "deadlines": [
                getattr(ticket, f"{kind}_due_at") is not None
                for kind in ("first_response", "next_response", "resolution")
            ],
            "messages": [
                (m.kind, m.sender.split("@")[0], m.body_html, m.attachments.count())
                for m in ticket.messages.order_by("created_at", "pk")
            ],
            "events": sorted(ticket.events.values_list("kind", flat=True)),
            "participants": sorted(
                e.split("@")[0] for e in ticket.participants.values_list("email", flat=True)
            ),
            "clocks": sorted(
                (kind, cycle, stopped is not None)
                for kind, cycle, stopped in ticket.clocks.values_list("kind", "cycle", "stopped_at")
            ),
        }
    outcomes = [
        (type(r).__name__, getattr(r, "code", None))
        if isinstance(r, DomainError)
        else (r.outcome, name(r.ticket), r.message.body_text)
        for r in results
    ]
    return {"tickets": seen, "outcomes": outcomes}


def test_a_batch_gives_what_one_message_at_a_time_gives(agent, settings, celery_eager):
    settings.HELPDESK_CUSTOMER_NOTICES = True  # the acknowledgement of each new ticket too
    SLAPolicy.objects.create(
        name="Standard",
        is_default=True,
        first_response_minutes=60,
        next_response_minutes=120,
        resolution_minutes=480,
    )
    one_by_one = arriving("one", existing_tickets("one", agent))
    together = arriving("many", existing_tickets("many", agent))
    now = timezone.now()

    singles: list[IngestResult | DomainError] = []
    for message in one_by_one:
        try:
            singles.append(services.ticket_ingest(inbound=message, now=now))
        except DomainError as refusal:
            singles.append(refusal)
    batched = services.ticket_ingest_many(together, now=now)

    expected, got = snapshot("one", singles), snapshot("many", batched)
    assert got["outcomes"] == expected["outcomes"]
    # (the same tickets; numbered in another order, the usual cases first)
    assert sorted(got["tickets"]) == sorted(expected["tickets"])
    for key, ticket in expected["tickets"].items():
        assert (key, got["tickets"][key]) == (key, ticket)
    # and the cases are the ones meant: each kind of outcome happened
    outcomes = [outcome[0] for outcome in got["outcomes"]]
    assert outcomes.count("new") == 4  # xena, carol's follow-up, mallory, yves
    assert outcomes.count("threaded") == 6
    assert outcomes.count("duplicate") == 1
    assert outcomes.count("InvalidInput") == 2
    assert got["tickets"]["xena:Problem 1"]["participants"] == ["yuri"]
    assert got["tickets"]["yves:Problem 11"]["messages"][0][2:] == ("<p>See <b>this</b></p>", 1)


def _independent_batch(count: int, open_ticket: Any) -> list[InboundMessage]:
    """Half new conversations, half answers to tickets already there: one round."""
    tickets = [open_ticket(sender=f"old{count}-{n}@example.example") for n in range(count // 2)]
    answers = [
        email(
            "example",
            f"old{count}-{n}",
            5000 + count * 100 + n,
            thread_ids=(t.messages.get().external_id,),
        )
        for n, t in enumerate(tickets)
    ]
    new = [email("example", f"new{count}-{n}", 7000 + count * 100 + n) for n in range(count // 2)]
    return [message for pair in zip(new, answers, strict=True) for message in pair]


def test_a_batch_costs_the_same_statements_whatever_its_size(open_ticket):
    counts = []
    for size in (10, 40):
        batch = _independent_batch(size, open_ticket)
        with CaptureQueriesContext(connection) as queries:
            results = services.ticket_ingest_many(batch)
        assert [getattr(r, "outcome", r) for r in results] == ["new", "threaded"] * (size // 2)
        counts.append(len(queries))
    assert counts[0] == counts[1]


def _texts(count: int) -> list[InboundMessage]:
    """Half from new numbers, half from numbers whose ticket moved recently: one round."""

    def text(number: str, n: int) -> InboundMessage:
        return InboundMessage(
            channel="sms",
            sender_kind="phone",
            sender=number,
            text=f"The router reboots ({n}).",
            external_id=f"SM{count:03d}{n:04d}",
        )

    known = [f"+1415555{count:02d}{n:02d}" for n in range(count // 2)]
    services.ticket_ingest_many([text(number, n) for n, number in enumerate(known)])
    new = [text(f"+1415556{count:02d}{n:02d}", 500 + n) for n in range(count // 2)]
    again = [text(number, 900 + n) for n, number in enumerate(known)]
    return [message for pair in zip(new, again, strict=True) for message in pair]


def test_a_batch_of_texts_is_written_together(settings):
    settings.HELPDESK_CUSTOMER_NOTICES = True
    counts = []
    for size in (10, 40):
        batch = _texts(size)
        with CaptureQueriesContext(connection) as queries:
            results = services.ticket_ingest_many(batch)
        assert [getattr(r, "outcome", r) for r in results] == ["new", "threaded"] * (size // 2)
        counts.append(len(queries))
    assert counts[0] == counts[1]
    replied = Ticket.objects.get(messages__external_id="SM0400900")
    assert list(replied.messages.filter(kind="inbound").values_list("body_text", flat=True)) == [
        "The router reboots (0).",
        "The router reboots (900).",
    ]


def test_the_pipeline_stores_and_processes_many_items_at_once():
    def raw(number: int, sender: str, extra: str = "") -> bytes:
        return (
            f"Message-ID: <batch{number}@example.com>\r\nFrom: {sender}\r\n{extra}"
            f"Subject: Printer {number}\r\n\r\nIt jams.\r\n"
        ).encode()

    payloads = [
        raw(1, "pat@example.com"),
        raw(2, "sam@example.com", "In-Reply-To: <batch1@example.com>\r\n"),  # a stranger
        raw(3, "pat@example.com", "In-Reply-To: <batch1@example.com>\r\n"),
        b"Message-ID: <batch4@example.com>\r\nSubject: no sender\r\n\r\nx\r\n",
        raw(1, "pat@example.com"),  # the same message twice in one delivery
    ]
    stored = pipeline.receive_many(
        channel="email",
        source="test",
        payloads=[(idempotency_key(p), p) for p in payloads],
        content_type="message/rfc822",
    )
    assert [created for _, created in stored] == [True, True, True, True, False]
    items = pipeline.process_many([item.pk for item, created in stored if created])

    assert [(i.status, i.outcome) for i in items] == [
        (InboundStatus.PROCESSED, "new"),
        (InboundStatus.PROCESSED, "new"),
        (InboundStatus.PROCESSED, "threaded"),
        (InboundStatus.REJECTED, ""),
    ]
    assert items[2].ticket_id == items[0].ticket_id != items[1].ticket_id
    assert "sender" in InboundItem.objects.get(pk=items[3].pk).error
    assert pipeline.process_many([i.pk for i in items]) == []  # done: nothing again
    again = pipeline.receive_many(
        channel="email",
        source="test",
        payloads=[("<batch1@example.com>", payloads[0])],
        content_type="message/rfc822",
    )
    assert again == [(InboundItem.objects.get(pk=items[0].pk), False)]


def test_a_bug_in_the_batch_path_costs_no_message(monkeypatch):
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("bug in the batch path")

    monkeypatch.setattr(services, "ticket_ingest_many", broken)
    payloads = [
        f"Message-ID: <bug{n}@example.com>\r\nFrom: p{n}@example.com\r\n\r\nHi\r\n".encode()
        for n in range(3)
    ]
    stored = pipeline.receive_many(
        channel="email",
        source="test",
        payloads=[(idempotency_key(p), p) for p in payloads],
        content_type="message/rfc822",
    )
    items = pipeline.process_many([item.pk for item, _ in stored])
    assert [i.status for i in items] == [InboundStatus.PROCESSED] * 3
    assert Ticket.objects.count() == 3


def test_a_message_another_worker_stored_meanwhile_is_a_duplicate(monkeypatch, inbound):
    batch = [inbound(), inbound()]
    sort_out = ingest_many._sort_out

    raced: list[bool] = []

    def racing(inbounds: list[InboundMessage], indices: list[int], now: Any) -> Any:
        sorted_out = sort_out(inbounds, indices, now)
        if not raced:  # another worker, just before our write (it sorts out its own, once)
            raced.append(True)
            services.ticket_ingest(inbound=inbounds[0])
        return sorted_out

    monkeypatch.setattr(ingest_many, "_sort_out", racing)
    results = services.ticket_ingest_many(batch)
    assert [getattr(r, "outcome", r) for r in results] == ["duplicate", "new"]
    assert Ticket.objects.count() == 2
