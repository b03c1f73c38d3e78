"""Routing with a real Celery worker on Redis: tasks go to the ticket's tier queue."""

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker

from helpdesk.celery import app
from tests.factories import AgentFactory
from tickets.models import AgentProfile, Ticket, Tier

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def wait_for(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the worker")
        time.sleep(0.1)


def routing_tasks_in(queue: str, ticket_id: int) -> int:
    """How many routing tasks for this ticket wait in a queue, read from Redis itself."""
    with app.connection_for_write() as connection:
        raw = connection.default_channel.client.lrange(queue, 0, -1)
    wanted = ("tickets.route_ticket", f"({ticket_id},)")
    return sum(
        (message["headers"]["task"], message["headers"]["argsrepr"]) == wanted
        for message in map(json.loads, raw)
    )


@pytest.fixture
def empty_queues() -> Iterator[None]:
    app.control.purge()
    yield
    app.control.purge()


def open_via_api(agent_api: Any, priority: str) -> int:
    response = agent_api.post(
        "/api/v1/tickets/",
        {
            "requester": {"email": "dev@example.com"},
            "subject": "Build server down",
            "text": "Nothing builds.",
            "priority": priority,
        },
        format="json",
    )
    assert response.status_code == 201
    return response.json()["id"]


def test_a_new_ticket_is_routed_on_the_tier0_queue(agent_api, empty_queues):
    ticket_id = open_via_api(agent_api, "normal")
    assert routing_tasks_in("tier0", ticket_id) == 1
    assert routing_tasks_in("tier1", ticket_id) == 0


def test_urgent_ticket_goes_to_tier1_and_is_assigned_by_a_real_worker(
    agent, agent_api, empty_queues
):
    Tier.objects.filter(level=1).update(assignment_mode="round_robin")
    AgentProfile.objects.filter(user=agent).update(is_available=False)
    oncall = AgentFactory(username="oncall", tiers=[1])

    with start_worker(
        app,
        pool="solo",
        concurrency=1,
        perform_ping_check=False,
        loglevel="WARNING",
        queues=["tier0", "tier1"],
        shutdown_timeout=30,
    ):
        ticket_id = open_via_api(agent_api, "urgent")
        wait_for(lambda: Ticket.objects.get(pk=ticket_id).assignee_id == oncall.pk)

    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.tier.level == 1
    assert ticket.routing_due_at is None
