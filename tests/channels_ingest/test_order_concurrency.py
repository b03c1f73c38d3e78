"""Two workers processing a message and its answer at the same moment never miss each other:
whichever commits second sees what the first wrote. Each test holds one worker's
transaction open at the worst moment and checks that the other waits for it (PostgreSQL)."""

import pytest

from channels_ingest import pipeline
from channels_ingest.models import InboundItem
from tests.channels_ingest.conversations import conversations, raw_email, store
from tests.channels_ingest.sms.twilio_helpers import SMS_URL, post, sms_params, twilio_settings
from tests.concurrency import run_second_while_first_holds
from tickets.models import TicketStatus

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
