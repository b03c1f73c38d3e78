"""Two workers processing a message and its answer at the same moment never miss each other:
whichever commits second sees what the first wrote. Each test holds one worker's
transaction open at the worst moment and checks that the other waits for it (PostgreSQL)."""

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction

from channels_ingest import pipeline
from channels_ingest.models import InboundItem
from tests.channels_ingest.conversations import conversations, raw_email, store
from tests.channels_ingest.sms.twilio_helpers import SMS_URL, post, sms_params, twilio_settings
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


class HeldOpen(threading.Thread):
    """A worker that has done `work` in a transaction and does not commit until released."""

    def __init__(self, work: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self.work = work
        self.done = threading.Event()
        self.release = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with transaction.atomic():
                self.work()
                self.done.set()
                self.release.wait(30)
        except BaseException as error:
            self.error = error
        finally:
            self.done.set()
            connection.close()


class Worker(threading.Thread):
    def __init__(self, work: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self.work = work
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.work()
        except BaseException as error:
            self.error = error
        finally:
            connection.close()


def waiting_for_an_advisory_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        return bool(cursor.fetchone()[0])


def run_second_while_first_holds(first: Callable[[], Any], second: Callable[[], Any]) -> None:
    """`first` done and uncommitted; `second` started and seen waiting for it; then both end."""
    holder = HeldOpen(first)
    holder.start()
    other = Worker(second)
    try:
        assert holder.done.wait(30) and holder.error is None, holder.error
        other.start()
        deadline = time.monotonic() + 10
        while not waiting_for_an_advisory_lock():
            assert time.monotonic() < deadline, "the second worker did not wait for the first"
            assert other.is_alive(), "the second worker went ahead without waiting"
            time.sleep(0.02)
    finally:
        holder.release.set()
        holder.join(30)
        if other.is_alive() or other.ident is not None:
            other.join(30)
    assert holder.error is None and other.error is None, (holder.error, other.error)


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
