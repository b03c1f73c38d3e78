"""Every reply on its conversation, whatever order messages are processed in: a reply before
the stored message it answers (its task lost, or behind), a batch in any order, a message
arriving after its own answer. Through the Celery tasks that process stored deliveries."""

from datetime import timedelta

import pytest
from django.utils import timezone

from channels_ingest import tasks
from channels_ingest.models import InboundItem, InboundStatus
from tests.channels_ingest.conversations import conversations, raw_email, store
from tickets import services
from tickets.models import EventKind, ThreadReference, Ticket, TicketEvent, TicketStatus

pytestmark = pytest.mark.django_db

P = raw_email("p", minute=0)  # Pat: "Printer jams"
R = raw_email("r", answers=("p",), minute=5)  # Pat answers it
R2 = raw_email("r2", answers=("p", "r"), minute=9)  # and answers her answer
OTHER = raw_email("o", sender="sam@example.com", subject="VPN drops", minute=1)

IN_ORDER = [
    ("Printer jams", TicketStatus.NEW, [("inbound", "Message p."), ("inbound", "Message r.")]),
]


def process_one(item: InboundItem) -> None:
    tasks.process_inbound.apply(args=[item.pk])


def process_batch(*items: InboundItem) -> None:
    tasks.process_inbound_batch.apply(args=[[item.pk for item in items]])


def test_in_order_the_reply_joins_its_parent():
    parent, reply = store(P), store(R)
    process_one(parent)
    process_one(reply)
    assert conversations() == IN_ORDER


@pytest.mark.parametrize("batch", [False, True], ids=["one at a time", "in a batch"])
def test_a_reply_processed_before_its_waiting_parent_brings_it_first(batch):
    parent, reply, other = store(P), store(R), store(OTHER)

    if batch:
        process_batch(reply, other)
    else:
        process_one(reply)  # the parent's task was lost, or is still in the queue

    assert conversations()[:1] == IN_ORDER
    parent.refresh_from_db()
    reply.refresh_from_db()
    assert (parent.status, parent.outcome) == (InboundStatus.PROCESSED, "new")
    assert (reply.status, reply.outcome) == (InboundStatus.PROCESSED, "threaded")
    assert parent.ticket_id == reply.ticket_id
    process_one(parent)  # its own task, late: nothing more happens
    assert conversations()[:1] == IN_ORDER
    assert not ThreadReference.objects.exists()


def test_a_batch_threads_whatever_the_order_of_its_items():
    newest_first = [store(R2), store(R), store(P)]  # as the old sweep took them

    process_batch(*newest_first)

    assert conversations() == [
        (
            "Printer jams",
            TicketStatus.NEW,
            [("inbound", "Message p."), ("inbound", "Message r."), ("inbound", "Message r2.")],
        )
    ]


@pytest.mark.parametrize("batch", [False, True], ids=["one at a time", "in a batch"])
def test_a_message_arriving_after_its_answer_joins_it_and_goes_before_it(batch, agent):
    process_one(store(R))  # the provider delivered the answer first
    [ticket] = Ticket.objects.all()
    assert ticket.subject == "Re: Printer jams"
    services.ticket_reply(
        ticket=ticket, actor=agent, text="Which model?", status=TicketStatus.PENDING_CUSTOMER
    )

    parent = store(P)
    if batch:
        process_batch(parent, store(OTHER))
    else:
        process_one(parent)

    assert conversations()[0] == (
        "Printer jams",  # the subject of the message that started it
        TicketStatus.PENDING_CUSTOMER,  # an old message does not reopen what was answered
        [("inbound", "Message p."), ("inbound", "Message r."), ("outbound", "Which model?")],
    )
    parent.refresh_from_db()
    assert (parent.outcome, parent.ticket_id) == ("threaded", ticket.pk)
    assert not ThreadReference.objects.exists()  # nothing is missing any more


def test_answers_to_the_same_missing_message_meet_on_one_ticket_which_it_then_joins():
    process_one(store(R))
    process_one(store(raw_email("r3", answers=("p",), minute=7, text="Also the tray.")))
    assert len(conversations()) == 1

    process_one(store(P))

    assert conversations() == [
        (
            "Printer jams",
            TicketStatus.NEW,
            [("inbound", "Message p."), ("inbound", "Message r."), ("inbound", "Also the tray.")],
        )
    ]


def test_a_late_message_that_answers_another_ticket_brings_its_early_answer_there(agent):
    hour_ago = timezone.now() - timedelta(hours=1)
    process_one(store(raw_email("q", subject="Toner", start=hour_ago)))
    [toner] = Ticket.objects.all()
    ours = services.ticket_reply(
        ticket=toner, actor=agent, text="Try a new cartridge.", now=hour_ago + timedelta(minutes=1)
    )
    # Pat answers ours (p), then her own answer (r): r is processed first, p is not there yet
    process_one(store(raw_email("r", answers=("p",), minute=30, start=hour_ago)))
    late = raw_email("p", minute=20, start=hour_ago).replace(
        b"Subject: Printer jams", f"Subject: Re: Toner\r\nIn-Reply-To: {ours.external_id}".encode()
    )

    process_one(store(late))

    assert conversations() == [
        (
            "Toner",
            TicketStatus.OPEN,
            [
                ("inbound", "Message q."),
                ("outbound", "Try a new cartridge."),
                ("inbound", "Message p."),
                ("inbound", "Message r."),
            ],
        )
    ]
    merged = Ticket.objects.get(merged_into=toner)
    assert merged.subject == "Re: Printer jams"
    event = TicketEvent.objects.get(ticket=toner, kind=EventKind.RELATED)
    assert (event.data["related"], event.data["via"]) == (merged.pk, "late_parent")


def test_a_strangers_early_answer_is_not_joined_by_the_message_it_answers():
    stranger = raw_email("r", sender="sam@example.com", answers=("p",), minute=5)
    process_one(store(stranger))

    process_one(store(P))

    assert [c[0] for c in conversations()] == ["Re: Printer jams", "Printer jams"]
    sams, pats = Ticket.objects.order_by("pk")
    assert TicketEvent.objects.get(ticket=pats, kind=EventKind.RELATED).data["related"] == sams.pk
