"""Concurrent deliveries on PostgreSQL: one message stored once, one address one customer."""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from tests.concurrency import run_second_while_first_holds
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


def test_first_emails_from_a_new_address_ingested_at_once_make_one_customer(inbound):
    """Ingestion writes without savepoints: the sender's lock keeps two workers from
    creating the customer twice."""
    results = run_together(
        6,
        lambda n: services.ticket_ingest(
            inbound=inbound(
                sender="newcomer@example.com",
                subject=f"Problem {n}",
                external_id=f"<ingested-{n}@x>",
            )
        ),
    )
    assert [r.outcome for r in results] == [IngestOutcome.NEW] * 6
    assert len({r.ticket.pk for r in results}) == 6
    assert Customer.objects.count() == 1


def test_a_ticket_that_changes_tier_while_a_reply_waits_for_it_is_still_answered(
    open_ticket, agent
):
    """PostgreSQL re-checks a row locked meanwhile against the joined rows as they were:
    locking a ticket with its tier joined dropped one that routing had just moved."""
    ticket = open_ticket(tier_level=0, priority="high")  # high: handed to a person at once
    texts: list[str] = []

    def route() -> None:
        texts.append(services.ticket_route(ticket_id=ticket.pk))

    def answer() -> None:
        texts.append(services.ticket_add_note(ticket=ticket, actor=agent, text="Seen.").body_text)

    run_second_while_first_holds(route, answer, lock="transactionid")

    assert texts == ["handed to tier 1", "Seen."]
    assert Ticket.objects.get(pk=ticket.pk).tier.level == 1


def test_routing_that_waits_for_an_escalation_routes_the_escalated_ticket(open_ticket, agent):
    ticket = open_ticket(tier_level=1)
    outcomes: list[str] = []

    def escalate() -> None:
        services.ticket_escalate(ticket=ticket, actor=agent, reason="VPN", handoff_note="Logs.")

    def route() -> None:
        outcomes.append(services.ticket_route(ticket_id=ticket.pk))

    run_second_while_first_holds(escalate, route, lock="transactionid")

    assert outcomes != ["gone"]  # it was read, in tier 2, after the escalation committed
    assert Ticket.objects.get(pk=ticket.pk).tier.level == 2


def test_one_reply_form_sent_twice_at_once_goes_out_once(open_ticket, agent):
    ticket = open_ticket(tier_level=1, sender="grace@example.com")

    def send() -> None:
        services.ticket_reply(
            ticket=ticket, actor=agent, text="Restart the router.", form_key="form-1"
        )

    # The second send waits for the ticket the first holds, then finds the first's reply.
    run_second_while_first_holds(send, send, lock="transactionid")

    assert Message.objects.filter(ticket=ticket, author_user=agent).count() == 1
