"""One ticket's unexpected failure in the automations' beat task stops only that ticket: the
other tickets' automations act and are kept, the failure is logged with its traceback and
shown on its ticket once ("Rule could not act"), and the task ends normally. The failing
ticket is not tried again, nor said again, every minute: only when its clock starts again."""

import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import psycopg
import pytest
import redis.exceptions
import time_machine
from celery.exceptions import Retry
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import browser
from tickets import services
from tickets.automation import actions, dispatch, rules, timed
from tickets.automation.manage import automation_save
from tickets.automation.tasks import run_automations
from tickets.models import Automation, AutomationFiring, EventKind, Notification, Ticket

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
DUE = MONDAY + timedelta(days=3)
PENDING = {"all": [{"field": "status", "op": "is", "value": "pending_customer"}]}


@pytest.fixture(autouse=True)
def _rules(celery_eager: Any) -> None:
    dispatch.forget_rules_in_use()


@pytest.fixture
def nudge() -> Any:
    return automation_save(
        automation=None, name="Nudge", since="status_changed", hours=48, conditions=PENDING,
        actions=[{"type": "add_tags", "value": ["nudged"]}], actor=None,
    )  # fmt: skip


@pytest.fixture
def waiting(open_ticket, agent) -> Any:
    """Tickets waiting on their customer since Monday, a minute apart (oldest first)."""

    def build(count: int = 3) -> list[Ticket]:
        tickets = []
        for n in range(count):
            with time_machine.travel(MONDAY + timedelta(minutes=n), tick=False):
                ticket = open_ticket(subject=f"Printer {n}")
                services.ticket_reply(
                    ticket=ticket, actor=agent, text="A screenshot?", status="pending_customer"
                )
            tickets.append(ticket)
        return tickets

    return build


def beat(at: datetime, **task: Any) -> Any:
    """The beat task as beat sends it: no arguments, the clock at `at`."""
    with time_machine.travel(at, tick=False):
        return run_automations.apply(**task)


def tags(ticket: Ticket) -> list[str]:
    return list(ticket.tags.values_list("name", flat=True))


def failing_on(ticket: Ticket, error: Exception, real: Any) -> Any:
    """`real` (a rule's step given the ticket or its facts) raising `error` for `ticket`: a
    bug, or an outage, met on that ticket alone."""

    def step(*args: Any, **kwargs: Any) -> Any:
        given = [getattr(arg, "ticket", arg) for arg in args]
        if any(isinstance(arg, Ticket) and arg.pk == ticket.pk for arg in given):
            raise error
        return real(*args, **kwargs)

    return step


def test_an_error_mid_way_on_one_ticket_leaves_the_others_acting_and_is_said_once(
    nudge, waiting, agent, caplog
):
    first, broken, last = waiting()
    # A bug after the automation's action was done to the broken ticket.
    bug = mock.patch.object(
        actions, "record_fired", failing_on(broken, ValueError("bug"), actions.record_fired)
    )

    with bug, caplog.at_level(logging.ERROR, logger="tickets.automation.timed"):
        result = beat(DUE)

    assert result.successful() and result.get() == 2  # ended normally: no retry
    assert tags(first) == ["nudged"] and tags(last) == ["nudged"]
    assert tags(broken) == []  # its tag went with the failure
    assert not broken.events.filter(kind=EventKind.RULE_FIRED).exists()
    [failed] = broken.events.filter(kind=EventKind.RULE_FAILED)
    assert failed.actor_label == "Automation: Nudge"
    assert failed.data["automation"] == nudge.pk
    assert "ValueError" in failed.data["error"]
    assert not first.events.filter(kind=EventKind.RULE_FAILED).exists()
    page = browser(agent).get(f"/agent/tickets/{broken.pk}/").content.decode()
    assert "Could not act: an unexpected error (ValueError) stopped the rules" in page
    [logged] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert broken.reference in logged.getMessage() and "Nudge" in logged.getMessage()
    assert logged.exc_info is not None and logged.exc_info[0] is ValueError  # the traceback

    # Every minute after: not tried again, not said again, not logged again.
    caplog.clear()
    with bug, caplog.at_level(logging.ERROR, logger="tickets.automation.timed"):
        for minute in range(1, 4):
            assert beat(DUE + timedelta(minutes=minute)).get() == 0
    assert broken.events.filter(kind=EventKind.RULE_FAILED).count() == 1
    assert not [r for r in caplog.records if r.levelno == logging.ERROR]

    # Its clock starts again (the customer is asked again), the bug fixed: it acts.
    with time_machine.travel(DUE + timedelta(hours=1), tick=False):
        services.ticket_reply(ticket=broken, actor=agent, text="Hello?", status="open")
        services.ticket_reply(ticket=broken, actor=agent, text="And?", status="pending_customer")
    assert beat(DUE + timedelta(days=2, hours=1)).get() == 1
    assert tags(broken) == ["nudged"]


def refused_by_the_database_on(ticket: Ticket, real: Any) -> Any:
    """`real` (the conditions' check) sending a statement the server refuses for `ticket`: a
    database error of ours, not an outage, that aborts the transaction it is in."""

    def step(conditions: Any, facts: Any) -> Any:
        if facts.ticket.pk == ticket.pk:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 / 0")
        return real(conditions, facts)

    return step


@pytest.mark.parametrize(
    "error", ["KeyError", pytest.param("DataError", marks=pytest.mark.services)]
)
def test_a_ticket_failing_every_minute_does_not_hold_up_the_others(
    nudge, waiting, monkeypatch, error
):
    broken, second, third = waiting()  # the broken one is due first
    monkeypatch.setattr(timed, "BATCH", 1)  # one ticket per run: a full batch each time
    step = (
        failing_on(broken, KeyError("no such fact"), rules.holds)
        if error == "KeyError"
        else refused_by_the_database_on(broken, rules.holds)
    )
    bug = mock.patch.object(timed, "holds", step)

    with bug:
        assert [beat(DUE + timedelta(minutes=m)).get() for m in range(3)] == [0, 1, 1]

    assert tags(second) == ["nudged"] and tags(third) == ["nudged"]
    [failed] = broken.events.filter(kind=EventKind.RULE_FAILED)
    assert error in failed.data["error"]


def test_a_failure_that_cannot_be_said_on_its_ticket_does_not_stop_the_run(nudge, waiting, caplog):
    first, broken, last = waiting()
    bug = mock.patch.object(
        timed, "holds", failing_on(broken, KeyError("no such fact"), rules.holds)
    )
    unsaid = mock.patch.object(timed, "record_event", side_effect=ValueError("history full"))

    with bug, unsaid, caplog.at_level(logging.ERROR):
        assert beat(DUE).get() == 2

    assert tags(first) == ["nudged"] and tags(last) == ["nudged"]
    logged = [r.exc_info[0] for r in caplog.records if r.levelno == logging.ERROR and r.exc_info]
    assert logged == [KeyError, ValueError]  # the failure, then why it could not be said


def test_an_outage_is_left_to_the_tasks_retry(nudge, waiting):
    first, broken, last = waiting()
    lost = psycopg.OperationalError("server closed the connection unexpectedly")
    gone = OperationalError("the database went away")
    gone.__cause__ = lost
    outage = mock.patch.object(timed, "holds", failing_on(broken, gone, rules.holds))

    with outage, pytest.raises(Retry) as retry:
        beat(DUE, throw=True)
    assert retry.value.exc is gone  # the task's retry, with backoff

    assert not broken.events.filter(kind=EventKind.RULE_FAILED).exists()
    assert not AutomationFiring.objects.filter(ticket=broken).exists()
    assert tags(first) == ["nudged"]  # kept: the retry does not act on it twice
    assert beat(DUE + timedelta(minutes=1)).get() == 2  # back: the other two act
    assert tags(broken) == ["nudged"] and tags(last) == ["nudged"]


def test_each_ticket_costs_the_same_queries_however_many_are_due(nudge, waiting):
    def run(count: int, at: datetime) -> int:
        waiting(count)
        with CaptureQueriesContext(connection) as queries:
            assert beat(at).get() == count
        return len(queries)

    run(1, DUE)  # the first makes the tag
    # The automations, the due tickets' ids (in a savepoint: 2 more) and the tickets, once;
    # then each ticket: its savepoint (2), its firing and what the action does (tag, events,
    # with their own savepoints: 13).
    assert run(2, DUE + timedelta(days=1)) == 5 + 2 * 15
    assert run(4, DUE + timedelta(days=2)) == 5 + 4 * 15


@pytest.fixture
def broken_automation() -> Any:
    """An automation whose own selection fails: its stored condition cannot be read (an old
    import, a bug since fixed), so its query raises before any ticket is handled."""
    broken = automation_save(
        automation=None, name="Broken", since="status_changed", hours=1, conditions=PENDING,
        actions=[{"type": "add_tags", "value": ["broken"]}], actor=None,
    )  # fmt: skip
    Automation.objects.filter(pk=broken.pk).update(
        conditions={"all": [{"field": "status", "op": "is"}]}  # no value
    )
    return broken


def test_an_automation_whose_selection_fails_leaves_the_others_acting_and_is_said_once(
    broken_automation, nudge, waiting, admin_user, caplog
):
    first, second = waiting(2)
    assert broken_automation.position < nudge.position  # the broken one runs first

    with caplog.at_level(logging.ERROR, logger="tickets.automation.timed"):
        result = beat(DUE)

    assert result.successful() and result.get() == 2  # ended normally: no retry
    assert tags(first) == ["nudged"] and tags(second) == ["nudged"]
    [logged] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "Broken" in logged.getMessage() and logged.exc_info[0] is KeyError
    page = browser(admin_user).get(f"/agent/rules/automations/{broken_automation.pk}/")
    text = page.content.decode()
    assert "could not select its tickets" in text and "KeyError" in text
    home = browser(admin_user).get("/agent/rules/").content.decode()
    assert "could not run" in home
    [notice] = Notification.objects.filter(user=admin_user)
    assert "Broken" in notice.text and "KeyError" in notice.text

    # Every minute after: the others act, the broken one is neither logged nor told again.
    caplog.clear()
    more = waiting(1)[0]
    with caplog.at_level(logging.ERROR, logger="tickets.automation.timed"):
        assert beat(DUE + timedelta(minutes=5)).get() == 1
        assert beat(DUE + timedelta(minutes=6)).get() == 0
    assert tags(more) == ["nudged"]
    assert not [r for r in caplog.records if r.levelno == logging.ERROR]
    assert Notification.objects.filter(user=admin_user).count() == 1

    # Mended: it acts, and its page no longer says it failed.
    Automation.objects.filter(pk=broken_automation.pk).update(conditions=PENDING)
    assert beat(DUE + timedelta(minutes=7)).get() == 3
    assert tags(first) == ["broken", "nudged"]
    page = browser(admin_user).get(f"/agent/rules/automations/{broken_automation.pk}/")
    assert "could not select its tickets" not in page.content.decode()


@pytest.mark.services
def test_a_selection_the_database_refuses_leaves_the_others_acting(
    broken_automation, nudge, waiting
):
    Automation.objects.filter(pk=broken_automation.pk).update(conditions=PENDING)
    real = timed.due_ids

    def refused(automation: Any, now: Any) -> Any:
        # A statement the server refuses (not an outage): it aborts the transaction it is in.
        if automation.pk == broken_automation.pk:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 / 0")
        return real(automation, now)

    [ticket] = waiting(1)

    with mock.patch.object(timed, "due_ids", refused):
        assert beat(DUE).get() == 1

    assert tags(ticket) == ["nudged"]
    broken_automation.refresh_from_db()
    assert "DataError" in broken_automation.failure


def test_an_outage_in_an_automations_selection_is_left_to_the_tasks_retry(
    nudge, waiting, monkeypatch
):
    [ticket] = waiting(1)
    gone = redis.exceptions.ConnectionError("Redis went away")

    def selection(*args: Any, **kwargs: Any) -> Any:
        raise gone

    monkeypatch.setattr(timed, "due_ids", selection)
    with pytest.raises(Retry) as retry:
        beat(DUE, throw=True)
    assert retry.value.exc is gone
    nudge.refresh_from_db()
    assert nudge.failure == ""  # not said to be the automation's fault
    assert tags(ticket) == []


def test_a_failure_that_cannot_be_said_is_not_tried_every_minute(nudge, waiting, caplog):
    _, broken, _ = waiting()
    tried: list[int] = []

    def holds(conditions: Any, facts: Any) -> bool:
        tried.append(facts.ticket.pk)
        if facts.ticket.pk == broken.pk:
            raise KeyError("no such fact")
        return rules.holds(conditions, facts)

    bug = mock.patch.object(timed, "holds", holds)
    unsaid = mock.patch.object(timed, "record_event", side_effect=ValueError("history full"))

    with bug, unsaid, caplog.at_level(logging.ERROR):
        assert beat(DUE).get() == 2
        caplog.clear()
        for minute in range(1, 4):
            assert beat(DUE + timedelta(minutes=minute)).get() == 0

    assert tried.count(broken.pk) == 1  # not tried again for this start of its clock
    assert not [r for r in caplog.records if r.levelno == logging.ERROR]
