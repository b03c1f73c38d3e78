"""Concurrent deliveries on PostgreSQL: one message stored once, one address one customer."""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from tickets import services
from tickets.inbound import IngestOutcome
from tickets.models import Customer, Message, Ticket

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def run_together(count: int, work: Callable[[int], Any]) -> list[Any]:
    barrier = threading.Barrier(count)
    results: list[Any] = []
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            barrier.wait()
            results.append(work(n))
        except BaseException as error:  # reported below, on the main thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    return results


def test_same_message_delivered_concurrently_is_stored_once(inbound):
    message = inbound(external_id="<race@example.com>", sender="racer@example.com")

    outcomes = run_together(6, lambda n: services.ticket_open(inbound=message).outcome)

    assert sorted(outcomes) == sorted([IngestOutcome.NEW] + [IngestOutcome.DUPLICATE] * 5)
    assert (Ticket.objects.count(), Message.objects.count(), Customer.objects.count()) == (1, 1, 1)


def test_first_messages_from_a_new_address_make_one_customer(inbound):
    results = run_together(
        6,
        lambda n: services.ticket_open(
            inbound=inbound(sender="newcomer@example.com", external_id=f"<first-{n}@x>")
        ),
    )
    assert len({r.ticket.pk for r in results}) == 6
    assert Customer.objects.count() == 1
