"""Outbound delivery under faults, through the tasks the worker and the sweep run: a
message is sent once whatever fails around its sending (the database on recording it, the
cache, the mail server's connection, a second batch holding it at the same time), and one
that could not be sent now stays pending and goes later. The lone task (deliver_message)
and the batch (deliver_messages) end alike."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from celery.signals import task_prerun
from django.core import mail
from django.db import connection
from django.utils import timezone

from channels_ingest import tasks
from helpdesk.celery import app
from tests.outages import connection_cut_before, own_redis
from tickets import services
from tickets.models import DeliveryStatus, Message

__all__ = ["own_redis"]

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ANYMAIL_TEST = "anymail.backends.test.EmailBackend"
RECORD = 'UPDATE "tickets_message"'  # message_mark_sent, after the provider took it


@pytest.fixture(autouse=True)
def _unusable_connections_closed_between_tasks():
    """What a worker does before each task (Celery's Django fix-up, which skips tasks run
    in place): a connection the database cut is replaced, as it is 30 s later in production."""

    def close_if_unusable(**_: object) -> None:
        connection.close_if_unusable_or_obsolete()

    task_prerun.connect(close_if_unusable, weak=False)
    yield
    task_prerun.disconnect(close_if_unusable)


@contextmanager
def tasks_inline() -> Iterator[None]:
    """Tasks queued meanwhile run at once, in place (a worker taking them at once)."""
    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, False
    try:
        yield
    finally:
        app.conf.task_always_eager, app.conf.task_eager_propagates = previous


def replies(open_ticket, agent, *names: str) -> list[Message]:
    tickets = [open_ticket(sender=f"{name}@example.com") for name in names]
    return [services.ticket_reply(ticket=t, actor=agent, text="Try this.") for t in tickets]


def statuses(messages: list[Message]) -> list[str]:
    found = dict(
        Message.objects.filter(pk__in=[m.pk for m in messages]).values_list("pk", "delivery_status")
    )
    return [found[m.pk] for m in messages]


def sent_to() -> list[str]:
    return sorted(sent.to[0] for sent in mail.outbox)


def sweep_later() -> int:
    """The outbound sweep, run as beat runs it once the messages are old enough."""
    Message.objects.filter(delivery_status=DeliveryStatus.PENDING).update(
        created_at=timezone.now() - timedelta(hours=1)
    )
    return tasks.sweep_outbound.apply().get()


# --- The database failing on the record after a send -----------------------------------


def test_a_reply_whose_sending_could_not_be_recorded_is_recorded_by_the_retry_not_sent_again(
    open_ticket, agent, settings
):
    settings.EMAIL_BACKEND = ANYMAIL_TEST
    [reply] = replies(open_ticket, agent, "ann")

    with connection_cut_before(RECORD) as cuts:
        tasks.deliver_message.apply(args=[reply.pk])  # Celery's own retry, run in place

    assert cuts() == 1
    assert sent_to() == ["ann@example.com"]  # once
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.SENT
    assert reply.provider_id == str(mail.outbox[0].anymail_status.message_id)


def test_a_batch_whose_record_failed_leaves_it_to_be_recorded_not_sent_again(
    open_ticket, agent, settings
):
    settings.EMAIL_BACKEND = ANYMAIL_TEST
    messages = replies(open_ticket, agent, "ann", "bob", "cy")

    with tasks_inline(), connection_cut_before(RECORD) as cuts:
        tasks.deliver_messages.apply(args=[[m.pk for m in messages]])

    assert cuts() == 1
    assert sent_to() == ["ann@example.com", "bob@example.com", "cy@example.com"]  # once each
    assert statuses(messages) == [DeliveryStatus.SENT] * 3
    assert sweep_later() == 0


def test_the_sweep_records_a_reply_sent_before_the_database_went_away_and_sends_nothing(
    open_ticket, agent, settings
):
    """The retries were used up while the database was down: the sweep finds the reply
    pending and records what was sent, without sending it again."""
    settings.EMAIL_BACKEND = ANYMAIL_TEST
    [reply] = replies(open_ticket, agent, "ann")

    with connection_cut_before(RECORD):
        tasks.deliver_messages.apply(args=[[reply.pk]])  # its own task cannot be queued now
    connection.close()

    assert sweep_later() == 1
    tasks.deliver_message.apply(args=[reply.pk])  # what the worker then runs

    assert sent_to() == ["ann@example.com"]
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.SENT
