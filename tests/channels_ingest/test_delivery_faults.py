"""Outbound delivery under faults, through the tasks the worker and the sweep run: a
message is sent once whatever fails around its sending (the database on recording it, the
cache, the mail server's connection, a second batch holding it at the same time), and one
that could not be sent now stays pending and goes later. The lone task (deliver_message)
and the batch (deliver_messages) end alike."""

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from anymail.backends.test import EmailBackend as AnymailTestBackend
from celery.signals import task_prerun
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone
from twilio.http.response import Response

from channels_ingest import tasks
from channels_ingest.sms.backends import TwilioBackend
from helpdesk.celery import app
from tests.channels_ingest.sms.test_backends import FakeTwilioHttp, created, error
from tests.channels_ingest.sms.twilio_helpers import STATUS_URL, post, twilio_settings
from tests.outages import OwnRedis, broker_at, connection_cut_before, own_redis
from tickets import services
from tickets.inbound import InboundAttachment
from tickets.models import Channel, DeliveryStatus, EventKind, Message, TicketEvent
from tickets.services.undeliverable import address_record_bounce

__all__ = ["own_redis", "twilio_settings"]

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ANYMAIL_TEST = "anymail.backends.test.EmailBackend"
RECORD = 'UPDATE "tickets_message" SET "delivery_status"'  # message_mark_sent, after a send


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


def broker_down():
    """Celery's broker unreachable (a Redis that is not running)."""
    return broker_at(OwnRedis().url)


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


def claims_run_out() -> None:
    """As time does: the claims of workers that died, or could not give them back, run out
    (five minutes)."""
    Message.objects.exclude(claimed_until=None).update(
        claimed_until=timezone.now() - timedelta(hours=1)
    )


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
    """The reply's own task could not be queued (the broker went with the database), nor
    the worker's claim on it given back: once the claim has run out, the sweep finds the
    reply pending and records what was sent, without sending it again."""
    settings.EMAIL_BACKEND = ANYMAIL_TEST
    [reply] = replies(open_ticket, agent, "ann")

    with broker_down(), connection_cut_before(RECORD):
        assert tasks.deliver_messages.apply(args=[[reply.pk]]).get() == 0
    connection.close()

    assert sweep_later() == 0  # the worker's claim holds it
    claims_run_out()
    assert sweep_later() == 1
    tasks.deliver_message.apply(args=[reply.pk])  # what the worker then runs

    assert sent_to() == ["ann@example.com"]
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.SENT


# --- Redis (cache and broker) going down during a batch --------------------------------


class RedisDiesAfterTheFirst(AnymailTestBackend):
    """The provider takes every message; Redis is killed right after it took the first."""

    redis = None

    def send_messages(self, email_messages):
        sent = super().send_messages(email_messages)
        if RedisDiesAfterTheFirst.redis is not None:
            RedisDiesAfterTheFirst.redis.stop()
            RedisDiesAfterTheFirst.redis = None
        return sent


def test_redis_dying_mid_batch_sends_nothing_twice_and_the_rest_waits_pending(
    open_ticket, agent, settings, own_redis
):
    settings.EMAIL_BACKEND = f"{__name__}.RedisDiesAfterTheFirst"
    ann, cy = replies(open_ticket, agent, "ann", "cy")
    notice = services.ticket_send_automatic_reply(
        ticket=open_ticket(sender="bob@example.com"), text="Got it"
    )
    batch = [ann, notice, cy]
    RedisDiesAfterTheFirst.redis = own_redis

    # The notice's hourly limit cannot be counted, and its own task cannot be queued.
    assert tasks.deliver_messages.apply(args=[[m.pk for m in batch]]).get() == 0

    assert sent_to() == ["ann@example.com", "cy@example.com"]
    assert statuses(batch) == [DeliveryStatus.SENT, DeliveryStatus.PENDING, DeliveryStatus.SENT]
    assert not TicketEvent.objects.filter(kind=EventKind.DELIVERY_FAILED).exists()

    own_redis.start()  # empty: the batch's locks went with it
    assert sweep_later() == 1
    tasks.deliver_message.apply(args=[notice.pk])

    assert sent_to() == ["ann@example.com", "bob@example.com", "cy@example.com"]
    assert statuses(batch) == [DeliveryStatus.SENT] * 3


# --- The same messages in two batches at once ------------------------------------------


class HoldsTheFirstSend(AnymailTestBackend):
    """The provider, slow on the first message it is handed: it waits until told to go on."""

    sending = threading.Event()
    go_on = threading.Event()

    def send_messages(self, email_messages):
        if not HoldsTheFirstSend.sending.is_set():
            HoldsTheFirstSend.sending.set()
            HoldsTheFirstSend.go_on.wait(timeout=30)
        return super().send_messages(email_messages)


def test_the_same_messages_in_two_batches_at_once_are_each_sent_once(open_ticket, agent, settings):
    settings.EMAIL_BACKEND = f"{__name__}.HoldsTheFirstSend"
    HoldsTheFirstSend.sending.clear()
    HoldsTheFirstSend.go_on.clear()
    messages = replies(open_ticket, agent, "ann", "bob", "cy")
    ids = [m.pk for m in messages]
    handed_on: list[int] = []

    def worker() -> None:
        try:
            handed_on.append(tasks.deliver_messages.apply(args=[ids]).get())
        finally:
            connection.close()

    first = threading.Thread(target=worker)
    first.start()
    assert HoldsTheFirstSend.sending.wait(timeout=30)  # the first batch is sending
    second = threading.Thread(target=worker)  # a redelivered or repeated task, meanwhile
    second.start()
    second.join(timeout=30)
    HoldsTheFirstSend.go_on.set()
    first.join(timeout=30)

    assert handed_on == [0, 0]
    assert sent_to() == ["ann@example.com", "bob@example.com", "cy@example.com"]
    assert statuses(messages) == [DeliveryStatus.SENT] * 3
    tasks.deliver_messages.apply(args=[ids])  # and once more, after both
    assert len(mail.outbox) == 3


# --- A text through Twilio failing for good or for now, alone or in a batch ------------


class ScriptedTwilio(TwilioBackend):
    """The Twilio backend, its HTTP answered by Twilio's test-credential answers in turn."""

    http: FakeTwilioHttp | None = None

    def __init__(self) -> None:
        super().__init__(http_client=ScriptedTwilio.http)


def run(path: str, message: Message) -> None:
    """`lone`: its own task (retries run in place); `batch`: a batch of one, which hands a
    message it could not send now to its own task (run at once)."""
    if path == "lone":
        tasks.deliver_message.apply(args=[message.pk])
        return
    with tasks_inline():
        tasks.deliver_messages.apply(args=[[message.pk]])


@pytest.fixture
def text_reply(open_ticket, agent, twilio_settings):
    twilio_settings.SMS_BACKEND = f"{__name__}.ScriptedTwilio"

    def make(number: str) -> Message:
        ticket = open_ticket(
            channel=Channel.SMS, sender_kind="phone", sender=number, external_id=f"SM{number}"
        )
        return services.ticket_reply(ticket=ticket, actor=agent, text="Restart it.")

    return make


@pytest.mark.parametrize("path", ["lone", "batch"])
def test_a_text_twilio_refuses_for_good_fails_once_and_agents_are_told(path, text_reply):
    reply = text_reply("+15005550001")  # Twilio's test number that is not a valid number
    ScriptedTwilio.http = FakeTwilioHttp(error(400, 21211, "The 'To' number is not valid."))

    run(path, reply)

    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.FAILED
    assert reply.delivery_error == "Twilio error 21211: the number is not a valid phone number"
    assert len(ScriptedTwilio.http.requests) == 1  # not tried again
    assert TicketEvent.objects.filter(kind=EventKind.DELIVERY_FAILED).count() == 1


@pytest.mark.parametrize("path", ["lone", "batch"])
def test_a_text_twilio_cannot_take_for_now_is_sent_by_the_retry(path, text_reply):
    reply = text_reply("+15005550006")
    ScriptedTwilio.http = FakeTwilioHttp(
        Response(503, "<html>Service Unavailable</html>"), created("SM0002")
    )

    run(path, reply)

    reply.refresh_from_db()
    assert (reply.delivery_status, reply.provider_id) == (DeliveryStatus.SENT, "SM0002")
    assert len(ScriptedTwilio.http.requests) == 2
    assert not TicketEvent.objects.filter(kind=EventKind.DELIVERY_FAILED).exists()


# --- An address flagged, or cleared, between queueing a notice and sending it ----------


def bounce(ticket, address: str) -> None:
    """A hard bounce reported for the customer's first message (as the tracking webhook does)."""
    with transaction.atomic():
        address_record_bounce(
            message=ticket.messages.first(), recipient=address, reason="550 No such user",
            at=timezone.now(),
        )  # fmt: skip


@pytest.mark.parametrize("path", ["lone", "batch"])
def test_a_notice_queued_while_the_address_was_flagged_goes_once_an_agent_cleared_it(
    path, open_ticket, agent, settings
):
    settings.EMAIL_BACKEND = ANYMAIL_TEST
    ticket = open_ticket(sender="ann@example.com")
    bounce(ticket, "ann@example.com")
    notice = services.ticket_send_automatic_reply(ticket=ticket, text="Got it")
    point = ticket.customer.contact_points.get()
    services.contact_point_clear_flag(customer=ticket.customer, contact_id=point.pk, actor=agent)

    run(path, notice)

    assert sent_to() == ["ann@example.com"]
    assert statuses([notice]) == [DeliveryStatus.SENT]


@pytest.mark.parametrize("path", ["lone", "batch"])
def test_a_notice_whose_address_bounced_after_it_was_queued_is_held(path, open_ticket, settings):
    settings.EMAIL_BACKEND = ANYMAIL_TEST
    ticket = open_ticket(sender="ann@example.com")
    notice = services.ticket_send_automatic_reply(ticket=ticket, text="Got it")
    bounce(ticket, "ann@example.com")

    run(path, notice)

    assert mail.outbox == []
    assert statuses([notice]) == [DeliveryStatus.SUPPRESSED]
    assert TicketEvent.objects.filter(kind=EventKind.DELIVERY_HELD).count() == 1
    run(path, notice)  # a repeated task
    assert TicketEvent.objects.filter(kind=EventKind.DELIVERY_HELD).count() == 1


# --- The worker killed in the middle of a batch ----------------------------------------


def test_a_worker_killed_mid_batch_loses_nothing_and_resends_only_the_one_it_was_sending(
    open_ticket, agent, settings, own_redis, tmp_path
):
    settings.EMAIL_BACKEND = ANYMAIL_TEST
    messages = replies(open_ticket, agent, "ann", "bob", "cy")
    ids = [str(m.pk) for m in messages]
    taken = tmp_path / "taken.txt"
    db = connection.settings_dict
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings",
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}"
        f"/{db['NAME']}",
        "REDIS_URL": own_redis.url,
        "EMAIL_BACKEND": "tests.channels_ingest.dying_worker.DiesAfterTheSecond",
        "EMAIL_ESP": "",
        "DYING_WORKER_OUT": str(taken),
    }

    worker = subprocess.run(
        [sys.executable, "-m", "tests.channels_ingest.dying_worker", *ids],
        env=environment,
        cwd=settings.BASE_DIR,
        capture_output=True,
        timeout=120,
    )

    assert worker.returncode == -signal.SIGKILL, worker.stderr.decode()[-2000:]
    assert taken.read_text().split() == ["ann@example.com", "bob@example.com"]
    # Ann's was recorded at once; Bob's was taken by the provider, not recorded; Cy's waits.
    assert statuses(messages) == [
        DeliveryStatus.SENT,
        DeliveryStatus.PENDING,
        DeliveryStatus.PENDING,
    ]

    # The broker hands the batch to another worker (acks late): the dead worker's claims
    # still hold the two it had not recorded, so it sends nothing now.
    assert tasks.deliver_messages.apply(args=[[int(pk) for pk in ids]]).get() == 0
    assert mail.outbox == []
    assert sweep_later() == 0

    claims_run_out()
    assert sweep_later() == 2
    for message in messages[1:]:
        tasks.deliver_message.apply(args=[message.pk])

    # Cy's goes once; Bob's, taken when the worker died, again (a reply is at least once).
    assert sent_to() == ["bob@example.com", "cy@example.com"]
    assert statuses(messages) == [DeliveryStatus.SENT] * 3
    assert sweep_later() == 0


# --- A reply changed under it between queueing and sending ------------------------------


@pytest.mark.parametrize("path", ["lone", "batch"])
def test_a_reply_whose_file_is_gone_is_shown_not_sent_and_the_sweep_lets_it_be(
    path, open_ticket, agent, settings
):
    settings.EMAIL_BACKEND = ANYMAIL_TEST
    ticket = open_ticket(sender="ann@example.com")
    file = InboundAttachment("steps.txt", "text/plain", b"1. restart\n")
    reply = services.ticket_reply(ticket=ticket, actor=agent, text="See", attachments=(file,))
    stored = reply.attachments.get().file
    stored.storage.delete(stored.name)  # lost from storage before it was sent

    run(path, reply)

    assert mail.outbox == []
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.FAILED
    assert reply.delivery_error == "Not sent: an error on our side (FileNotFoundError)."
    assert TicketEvent.objects.filter(kind=EventKind.DELIVERY_FAILED).count() == 1
    assert sweep_later() == 0  # not queued again every two minutes, for ever


@pytest.mark.parametrize("path", ["lone", "batch"])
def test_a_reply_deleted_with_its_ticket_before_it_was_sent_is_not_sent(
    path, open_ticket, agent, settings
):
    settings.EMAIL_BACKEND = ANYMAIL_TEST
    [reply] = replies(open_ticket, agent, "ann")
    reply.ticket.delete()

    run(path, reply)

    assert mail.outbox == []
    assert sweep_later() == 0


@pytest.mark.parametrize("path", ["lone", "batch"])
def test_a_reply_whose_ticket_was_merged_before_it_was_sent_goes_once_threaded_in_the_target(
    path, open_ticket, agent, settings
):
    settings.EMAIL_BACKEND = ANYMAIL_TEST
    target = open_ticket(sender="ann@example.com", external_id="<first@example.com>")
    source = open_ticket(sender="ann@example.com", external_id="<second@example.com>")
    reply = services.ticket_reply(ticket=source, actor=agent, text="Restart it.")
    services.ticket_merge(source=source, target=target, actor=agent)

    run(path, reply)

    [sent] = mail.outbox
    assert sent.to == ["ann@example.com"]
    assert target.reference in sent.subject
    assert sent.extra_headers["References"] == "<first@example.com> <second@example.com>"
    assert statuses([reply]) == [DeliveryStatus.SENT]


# --- The sweep and the retries: one task waiting per message -----------------------------


class ProviderDown(AnymailTestBackend):
    """The provider unreachable (for now)."""

    def send_messages(self, email_messages):
        raise ConnectionResetError("connection reset by peer")


def test_the_sweep_does_not_queue_a_message_again_while_its_task_waits_to_run(
    open_ticket, agent, settings
):
    """During a long outage of the provider, the sweep (every two minutes) queued another
    task for each pending message each time, each retrying on its own: the provider got a
    growing number of attempts per message when it came back."""
    settings.EMAIL_BACKEND = f"{__name__}.ProviderDown"
    [reply] = replies(open_ticket, agent, "ann")

    assert sweep_later() == 1  # its first task was lost (the broker was down, say)
    assert sweep_later() == 0  # two minutes later: that task is still waiting to run

    settings.EMAIL_BACKEND = ANYMAIL_TEST
    tasks.deliver_message.apply(args=[reply.pk])  # the worker runs it, the provider is back
    assert sent_to() == ["ann@example.com"]
    assert sweep_later() == 0


def test_a_batch_that_hands_a_message_to_its_own_task_keeps_the_sweep_off_it(
    open_ticket, agent, settings
):
    settings.EMAIL_BACKEND = f"{__name__}.ProviderDown"
    [reply] = replies(open_ticket, agent, "ann")

    assert tasks.deliver_messages.apply(args=[[reply.pk]]).get() == 1  # its own task, in 30 s

    assert sweep_later() == 0


@pytest.mark.parametrize("path", ["lone", "batch"])
def test_a_text_waits_pending_while_twilio_is_misconfigured_then_goes_once_it_is_fixed(
    path, text_reply, twilio_settings
):
    reply = text_reply("+15005550006")
    twilio_settings.TWILIO_AUTH_TOKEN = ""  # an admin's slip, fixed later
    ScriptedTwilio.http = FakeTwilioHttp(created("SM0003"))

    run(path, reply)

    reply.refresh_from_db()
    assert (reply.delivery_status, reply.delivery_error) == (DeliveryStatus.PENDING, "")
    assert not TicketEvent.objects.filter(kind=EventKind.DELIVERY_FAILED).exists()

    twilio_settings.TWILIO_AUTH_TOKEN = "fixed-token"
    assert sweep_later() in (0, 1)  # queued again unless its own task still waits
    tasks.deliver_message.apply(args=[reply.pk])
    reply.refresh_from_db()
    assert (reply.delivery_status, reply.provider_id) == (DeliveryStatus.SENT, "SM0003")


# --- The provider's report arriving before the send could be recorded -------------------


def test_twilios_report_arriving_while_the_record_waits_is_kept_and_the_retry_does_not_undo_it(
    client, text_reply
):
    reply = text_reply("+15005550006")
    ScriptedTwilio.http = FakeTwilioHttp(created("SM0004"))
    with broker_down(), connection_cut_before(RECORD):
        tasks.deliver_messages.apply(args=[[reply.pk]])  # sent; not recorded
    connection.close()

    response = post(
        client,
        STATUS_URL,
        {"MessageSid": "SM0004", "MessageStatus": "undelivered", "ErrorCode": "30003"},
    )

    assert response.status_code == 204
    reply.refresh_from_db()
    assert (reply.delivery_status, reply.delivery_error) == (
        DeliveryStatus.FAILED,
        "Twilio error 30003: the phone is switched off or out of coverage",
    )
    assert sweep_later() == 0
    tasks.deliver_message.apply(args=[reply.pk])  # a late retry changes nothing
    reply.refresh_from_db()
    assert (reply.delivery_status, reply.provider_id) == (DeliveryStatus.FAILED, "SM0004")
    assert len(ScriptedTwilio.http.requests) == 1
