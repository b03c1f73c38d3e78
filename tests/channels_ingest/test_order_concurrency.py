"""Two workers processing a message and its answer at the same moment never miss each other:
whichever commits second sees what the first wrote. Each test holds one worker's
transaction open at the worst moment and checks that the other waits for it (PostgreSQL)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from channels_ingest import pipeline
from channels_ingest.models import InboundItem
from tests.channels_ingest.conversations import conversations, raw_email, store
from tests.channels_ingest.sms.twilio_helpers import SMS_URL, post, sms_params, twilio_settings
from tests.concurrency import run_second_while_first_holds
from tickets import services
from tickets.models import Ticket, TicketStatus

__all__ = ["twilio_settings"]

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

P = raw_email("p", minute=0)
R = raw_email("r", answers=("p",), minute=5)
ONE_CONVERSATION = [
    ("Printer jams", TicketStatus.NEW, [("inbound", "Message p."), ("inbound", "Message r.")])
]


def test_a_batch_with_the_parent_and_a_batch_with_its_answer_at_once_parent_first():
    parent_batch = [store(P), store(raw_email("x", sender="xena@example.com", subject="X"))]
    answer_batch = [store(R), store(raw_email("y", sender="yuri@example.com", subject="Y"))]

    run_second_while_first_holds(
        lambda: pipeline.process_many([item.pk for item in parent_batch]),
        lambda: pipeline.process_many([item.pk for item in answer_batch]),
    )

    assert conversations()[:1] == ONE_CONVERSATION
    assert InboundItem.objects.get(pk=answer_batch[0].pk).outcome == "threaded"


def test_a_batch_with_the_parent_and_a_batch_with_its_answer_at_once_answer_first():
    answer_batch = [store(R), store(raw_email("y", sender="yuri@example.com", subject="Y"))]
    parent_batch: list[InboundItem] = []

    def parent_arrives() -> None:  # while the answer's worker has not committed
        parent_batch.extend([store(P), store(raw_email("x", sender="xena@example.com"))])
        pipeline.process_many([item.pk for item in parent_batch])

    run_second_while_first_holds(
        lambda: pipeline.process_many([item.pk for item in answer_batch]), parent_arrives
    )

    assert conversations()[:1] == ONE_CONVERSATION
    assert InboundItem.objects.get(pk=parent_batch[0].pk).outcome == "threaded"


def test_two_texts_from_a_new_number_at_once_make_one_ticket(client, twilio_settings):
    for sid in ("SM-A", "SM-B"):
        post(client, SMS_URL, sms_params(sid, "+14155550177", f"Text {sid}"))
    first, second = InboundItem.objects.order_by("pk")

    run_second_while_first_holds(
        lambda: pipeline.process(first.pk), lambda: pipeline.process(second.pk)
    )

    [(_, _, messages)] = conversations()
    assert messages == [("inbound", "Text SM-A"), ("inbound", "Text SM-B")]


def test_an_answer_waiting_for_a_ticket_merged_meanwhile_lands_where_it_went(agent):
    """The message that arrived late merges the ticket its early answer opened into its own
    ticket, while a worker with an answer to that answer waits for the merged ticket. (The
    answer is from a colleague the customer copied in: two messages of one sender are
    never processed at once.)"""
    hour_ago = timezone.now() - timedelta(hours=1)
    pipeline.process(
        store(raw_email("q", subject="Toner", start=hour_ago, cc="sam@example.com")).pk
    )
    [toner] = Ticket.objects.all()
    ours = services.ticket_reply(
        ticket=toner, actor=agent, text="Try a new one.", now=hour_ago + timedelta(minutes=1)
    )
    pipeline.process(
        store(raw_email("r", answers=("p",), minute=30, start=hour_ago, cc="sam@example.com")).pk
    )
    late = store(
        raw_email("p", minute=20, start=hour_ago).replace(
            b"Subject: Printer jams",
            f"Subject: Re: Toner\r\nIn-Reply-To: {ours.external_id}".encode(),
        )
    )
    answer = store(  # names r only
        raw_email("r2", sender="sam@example.com", answers=("r",), minute=40, start=hour_ago)
    )

    run_second_while_first_holds(
        lambda: pipeline.process(late.pk), lambda: pipeline.process(answer.pk), lock="transactionid"
    )

    answer.refresh_from_db()
    assert (answer.status, answer.outcome, answer.ticket_id) == ("processed", "threaded", toner.pk)
    [(subject, _, messages)] = conversations()
    assert subject == "Toner"
    assert [text for _, text in messages] == [
        "Message q.",
        "Try a new one.",
        "Message p.",
        "Message r.",
        "Message r2.",
    ]
