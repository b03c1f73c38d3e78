"""One ticket's unexpected failure in the rules' batch task stops only that ticket: the
others' triggers act and are kept, the failure is logged with its traceback and shown on its
ticket ("Rule could not act"), and the task ends normally, so it is not run again and again."""

import logging
from typing import Any
from unittest import mock

import psycopg
import pytest
import redis
from celery.exceptions import Retry
from django.db import OperationalError

from tickets import services
from tickets.automation import dispatch, rules
from tickets.automation.manage import trigger_save
from tickets.automation.tasks import dispatch_events
from tickets.models import EventKind, Ticket, TicketEvent, TriggerFiring

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _rules(celery_eager: Any) -> None:
    dispatch.forget_rules_in_use()


@pytest.fixture
def unhappy_rule() -> Any:
    return trigger_save(
        trigger=None,
        name="Unhappy customers",
        events=["ticket.rated"],
        conditions={"all": [{"field": "rating", "op": "below", "value": 3}]},
        actions=[{"type": "add_tags", "value": ["unhappy"]}],
        actor=None,
    )


@pytest.fixture
def rated_batch(open_ticket, agent, django_capture_on_commit_callbacks) -> Any:
    """Three resolved tickets each rated 1, their rated events not dispatched yet (as in one
    batch the task is given)."""

    def build() -> tuple[list[Ticket], list[int]]:
        tickets = [open_ticket(subject=f"Printer {n}") for n in range(3)]
        with django_capture_on_commit_callbacks(execute=False):
            for ticket in tickets:
                services.ticket_resolve(ticket=ticket, actor=agent)
                services.ticket_rate(ticket=ticket, rating=1, actor=None)
        rated = TicketEvent.objects.filter(kind=EventKind.RATED, ticket__in=tickets)
        return tickets, list(rated.order_by("id").values_list("id", flat=True))

    return build


def tags(ticket: Ticket) -> list[str]:
    return list(ticket.tags.values_list("name", flat=True))


def test_a_bad_stored_value_on_one_ticket_leaves_the_batch_acting(
    unhappy_rule, rated_batch, caplog
):
    (first, broken, last), event_ids = rated_batch()
    # A rating event kept with a value no rating can be (an old import, a bug since fixed).
    TicketEvent.objects.filter(ticket=broken, kind=EventKind.RATED).update(
        data={"rating": "one", "comment": ""}
    )

    with caplog.at_level(logging.ERROR, logger="tickets.automation.dispatch"):
        result = dispatch_events.delay(event_ids)

    assert result.successful() and result.get() == 2  # ended normally: no retry
    assert tags(first) == ["unhappy"] and tags(last) == ["unhappy"]
    assert tags(broken) == []
    assert TriggerFiring.objects.filter(ticket__in=[first, last]).count() == 2
    [failed] = broken.events.filter(kind=EventKind.RULE_FAILED)
    assert failed.actor_label == "Trigger: Unhappy customers"
    assert failed.data["trigger"] == unhappy_rule.pk
    assert "ValueError" in failed.data["error"]
    assert not first.events.filter(kind=EventKind.RULE_FAILED).exists()
    [logged] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert broken.reference in logged.getMessage()
    assert logged.exc_info is not None and logged.exc_info[0] is ValueError  # the traceback

    # The task delivered again (a lost acknowledgement): nothing acts twice, nothing is
    # said twice.
    assert dispatch_events.delay(event_ids).get() == 0
    assert broken.events.filter(kind=EventKind.RULE_FAILED).count() == 1
    assert TriggerFiring.objects.count() == 2


def test_a_failure_mid_way_keeps_nothing_of_that_ticket(rated_batch, agent):
    # Two triggers on one ticket: the first acts, the second's action fails unexpectedly.
    trigger_save(
        trigger=None,
        name="Tag ratings",
        events=["ticket.rated"],
        conditions=None,
        actions=[{"type": "add_tags", "value": ["rated"]}],
        actor=None,
    )
    trigger_save(
        trigger=None,
        name="Note low ratings",
        events=["ticket.rated"],
        conditions={"all": [{"field": "rating", "op": "below", "value": 3}]},
        actions=[{"type": "add_note", "value": "Call them back."}],
        actor=None,
    )
    (first, broken, last), event_ids = rated_batch()
    real_holds = rules.holds

    def holds_failing_on_broken(conditions: Any, facts: Any) -> bool:
        if facts.ticket.pk == broken.pk and "rating" in str(conditions):
            raise KeyError("a condition this code cannot answer")
        return real_holds(conditions, facts)

    with mock.patch.object(dispatch, "holds", holds_failing_on_broken):
        assert dispatch_events.delay(event_ids).get() == 4

    assert tags(first) == ["rated"] and tags(last) == ["rated"]
    assert tags(broken) == []  # the first trigger's change went with the ticket's failure
    assert not TriggerFiring.objects.filter(ticket=broken).exists()
    [failed] = broken.events.filter(kind=EventKind.RULE_FAILED)
    assert failed.actor_label == "Trigger: Note low ratings"
    assert first.messages.filter(kind="note").count() == 1


def test_an_outage_is_left_to_the_tasks_retry(unhappy_rule, rated_batch):
    (first, broken, last), event_ids = rated_batch()
    real_holds = rules.holds

    def database_gone(conditions: Any, facts: Any) -> bool:
        if facts.ticket.pk == broken.pk:
            lost = psycopg.OperationalError("server closed the connection unexpectedly")
            raise OperationalError("the database went away") from lost
        return real_holds(conditions, facts)

    with mock.patch.object(dispatch, "holds", database_gone), pytest.raises(Retry) as retry:
        dispatch_events.apply(args=[event_ids], throw=True)
    assert isinstance(retry.value.exc, OperationalError)  # the task's retry, with backoff

    assert not broken.events.filter(kind=EventKind.RULE_FAILED).exists()
    assert tags(first) == ["unhappy"]  # kept: a retry does not act on it twice
    assert dispatch_events.delay(event_ids).get() == 2  # back: the other two act
    assert tags(broken) == ["unhappy"] and tags(last) == ["unhappy"]


def test_a_redis_outage_is_left_to_the_tasks_retry_too(unhappy_rule, rated_batch):
    # Redis (the cache, the queue) unreachable is an outage as the database's is
    # (helpdesk.faults), retried as the per-minute automations task retries it.
    (first, broken, last), event_ids = rated_batch()
    real_holds = rules.holds
    gone = redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379.")

    def redis_gone(conditions: Any, facts: Any) -> bool:
        if facts.ticket.pk == broken.pk:
            raise gone
        return real_holds(conditions, facts)

    with mock.patch.object(dispatch, "holds", redis_gone), pytest.raises(Retry) as retry:
        dispatch_events.apply(args=[event_ids], throw=True)
    assert retry.value.exc is gone

    assert not broken.events.filter(kind=EventKind.RULE_FAILED).exists()
    assert tags(first) == ["unhappy"]  # kept: a retry does not act on it twice
    assert dispatch_events.delay(event_ids).get() == 2  # back: the other two act
    assert tags(broken) == ["unhappy"] and tags(last) == ["unhappy"]
