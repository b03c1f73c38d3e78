"""Outgoing webhooks, sent to a real HTTP receiver on 127.0.0.1: signed deliveries, retries
with backoff, giving up, switching off a failing webhook, redelivery, Slack's format, and the
addresses a webhook may not reach."""

import hashlib
import hmac
import json
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.automation.receiver import serve
from tests.factories import AgentFactory
from tests.tickets.test_concurrency import run_together
from tickets import services
from tickets.automation import dispatch, sending, tasks, webhooks
from tickets.errors import Conflict, InvalidInput
from tickets.models import (
    EventKind,
    Notification,
    Ticket,
    TicketEvent,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
)

pytestmark = pytest.mark.django_db

SECRET = "test-secret-0123456789"


# --- A receiver, as a customer's service would run one -----------------------------------


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What a receiver does with a delivery (as the README shows it)."""
    timestamp = headers["X-Helpdesk-Timestamp"]
    signed = f"{timestamp}.".encode() + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"sha256={expected}", headers["X-Helpdesk-Signature"])


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def delivery_id(self) -> str:
        return self.headers["X-Helpdesk-Delivery"]


@dataclass
class Receiver:
    url: str = ""
    requests: list[Received] = field(default_factory=list)
    fail_first: int = 0  # answer 500 to this many requests first
    fail_every_other: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            number = len(self.requests)
            failing = number < self.fail_first or (self.fail_every_other and number % 2 == 0)
            status = 500 if failing else 200
            self.requests.append(Received(headers, body, status))
            return status


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()
    server = serve(lambda path, headers, body: state.answer(dict(headers.items()), body))
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/helpdesk"
    yield state
    server.shutdown()
    server.server_close()


def make_hook(receiver: Receiver, **fields: Any) -> Webhook:
    values = {
        "name": f"Hook {Webhook.objects.count() + 1}",
        "url": receiver.url,
        "secret": SECRET,
        "events": ["ticket.created", "ticket.agent_replied", "ticket.rated"],
        "allow_private_network": True,  # the receiver is on 127.0.0.1
    }
    return Webhook.objects.create(**{**values, **fields})


def created_event(ticket: Ticket) -> TicketEvent:
    return ticket.events.get(kind=EventKind.CREATED)


def new_delivery(ticket: Ticket, hook: Webhook) -> WebhookDelivery:
    """A pending delivery (its task not run: the test sends it)."""
    [delivery] = webhooks.subscribed("ticket.created", created_event(ticket), ticket, [hook])
    return delivery


# --- Sending ------------------------------------------------------------------------------


def test_a_signed_delivery_arrives_after_commit(
    open_ticket, receiver, celery_eager, django_capture_on_commit_callbacks
):
    ticket = open_ticket(sender="ann@example.com", sender_name="Ann Lee", subject="Printer")
    hook = make_hook(receiver)
    with django_capture_on_commit_callbacks(execute=True):
        [delivery] = webhooks.subscribed("ticket.created", created_event(ticket), ticket, [hook])
        assert receiver.requests == []  # nothing goes before the transaction commits

    [got] = receiver.requests
    assert got.headers["X-Helpdesk-Event"] == "ticket.created"
    assert got.delivery_id == str(delivery.pk)
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["User-Agent"] == "helpdesk-webhooks/1"
    assert got.headers["X-Helpdesk-Signature"].startswith("sha256=")
    assert verify(SECRET, got.headers, got.body)
    assert not verify("another secret", got.headers, got.body)
    body = got.json
    assert (body["version"], body["type"]) == (1, "ticket.created")
    assert body["event_id"] == created_event(ticket).pk
    assert body["ticket"]["reference"] == ticket.reference
    assert body["ticket"]["subject"] == "Printer"
    assert body["ticket"]["customer"]["email"] == "ann@example.com"
    assert body["ticket"]["customer"]["name"] == "Ann Lee"
    assert body["ticket"]["url"].endswith(f"/agent/tickets/{ticket.pk}/")
    assert body["event"]["kind"] == EventKind.CREATED
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("delivered", 1)
    assert delivery.finished_at is not None and delivery.claimed_until is None
    [attempt] = delivery.tries.all()
    assert (attempt.status_code, attempt.error) == (200, "")


def test_the_events_services_write_reach_the_subscribed_webhook(
    open_ticket, receiver, agent, celery_eager, django_capture_on_commit_callbacks
):
    """The whole way: a service writes an event, the rules' task offers it to the
    subscriptions, the sending task posts it."""
    make_hook(receiver)
    dispatch.forget_rules_in_use()
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(tier_level=1)
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_reply(ticket=ticket, actor=agent, text="On it.")

    assert [r.headers["X-Helpdesk-Event"] for r in receiver.requests] == [
        "ticket.created",
        "ticket.agent_replied",
    ]
    assert receiver.requests[1].json["message"]["text"] == "On it."
    assert set(WebhookDelivery.objects.values_list("state", flat=True)) == {"delivered"}


def test_a_subscription_is_written_once_per_event_and_only_for_its_events(open_ticket, receiver):
    ticket = open_ticket()
    event = created_event(ticket)
    hooks = [
        make_hook(receiver),
        make_hook(receiver, events=["ticket.rated"]),  # not subscribed to this event
        make_hook(receiver, active=False),
        make_hook(receiver, disabled_at=timezone.now()),
    ]
    first = webhooks.subscribed("ticket.created", event, ticket, hooks)
    again = webhooks.subscribed("ticket.created", event, ticket, hooks)  # a task run twice
    assert [d.webhook_id for d in first] == [hooks[0].pk]
    assert [d.pk for d in again] == [d.pk for d in first]
    assert WebhookDelivery.objects.count() == 1


def test_the_payload_of_a_reply_and_of_a_rating(open_ticket, agent):
    ticket = open_ticket(tier_level=1)
    services.ticket_set_tags(ticket=ticket, names=["vip", "billing"], actor=agent)
    services.ticket_assign(ticket=ticket, assignee=agent, actor=agent)
    services.ticket_reply(ticket=ticket, actor=agent, text="Try turning it off and on.")
    reply = ticket.events.get(kind=EventKind.REPLIED)

    body = webhooks.payload("ticket.agent_replied", reply, ticket)

    assert body["ticket"]["tags"] == ["billing", "vip"]
    assert body["ticket"]["tier"] == 1
    assert body["ticket"]["assignee"] == {"id": agent.pk, "name": agent.get_full_name()}
    assert body["ticket"]["organization"] is None
    assert body["event"]["actor"] == agent.get_full_name()
    assert body["message"]["text"] == "Try turning it off and on."
    assert body["message"]["kind"] == "outbound"
    assert "rating" not in body

    services.ticket_resolve(ticket=ticket, actor=agent)
    services.ticket_rate(ticket=ticket, rating=4, comment="Quick, thanks", actor=None)
    rated = ticket.events.get(kind=EventKind.RATED)
    body = webhooks.payload("ticket.rated", rated, ticket)
    assert body["rating"] == {"score": 4, "comment": "Quick, thanks"}
    assert body["event"]["actor"] == "customer (rating link)"
    json.dumps(body)  # all of it is JSON as stored


def test_the_payload_takes_as_many_queries_however_big_the_ticket(open_ticket, agent):
    def queries_for(ticket: Ticket) -> int:
        event = ticket.events.get(kind=EventKind.REPLIED)
        event = TicketEvent.objects.get(pk=event.pk)  # as the dispatcher reads it
        with CaptureQueriesContext(connection) as context:
            webhooks.payload("ticket.agent_replied", event, ticket)
        return len(context)

    small, big = open_ticket(), open_ticket()
    for ticket, tags in ((small, ["a"]), (big, ["a", "b", "c", "d", "e"])):
        services.ticket_set_tags(ticket=ticket, names=tags, actor=agent)
        services.ticket_reply(ticket=ticket, actor=agent, text="Hello")
    other = AgentFactory(username="agent-other", tiers=[1])
    services.ticket_assign(ticket=big, assignee=other, actor=other)
    assert queries_for(small) == queries_for(big) <= 6


def test_a_retry_after_a_500_waits_with_backoff(open_ticket, receiver):
    receiver.fail_first = 1
    delivery = new_delivery(open_ticket(), make_hook(receiver))
    start = timezone.now()

    assert sending.deliver([delivery.pk], now=start) == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("pending", 1)
    wait = delivery.next_attempt_at - start
    assert timedelta(seconds=24) <= wait <= timedelta(seconds=30)

    assert sending.sweep(now=start + timedelta(seconds=20)) == 0  # not due yet
    assert sending.deliver([delivery.pk], now=start + timedelta(seconds=20)) == 0
    assert len(receiver.requests) == 1
    assert sending.sweep(now=start + timedelta(seconds=31)) == 1

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("delivered", 2)
    log = list(delivery.tries.values_list("status_code", "error"))
    assert log == [(500, "HTTP 500 Internal Server Error: receiver broke"), (200, "")]
    assert all(t.duration_ms >= 0 for t in delivery.tries.all())
    # The same delivery both times (a receiver drops a repeat by its id), signed each time.
    assert [r.delivery_id for r in receiver.requests] == [str(delivery.pk)] * 2
    assert all(verify(SECRET, r.headers, r.body) for r in receiver.requests)


def test_a_receiver_that_is_down_is_tried_again(open_ticket, receiver):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    hook = make_hook(receiver, url=f"http://127.0.0.1:{port}/hooks/secret-path")
    delivery = new_delivery(open_ticket(), hook)

    sending.deliver([delivery.pk])

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("pending", 1)
    [attempt] = delivery.tries.all()
    assert (attempt.status_code, attempt.error) == (None, "Could not connect: Connection refused")
    hook.refresh_from_db()
    assert hook.consecutive_failures == 1


def test_the_pauses_double_up_to_an_hour():
    for attempts, seconds in ((1, 30), (2, 60), (3, 120), (8, 3600), (30, 3600)):
        pause = sending.backoff(attempts).total_seconds()
        assert seconds * 0.8 <= pause <= seconds


def test_given_up_after_the_last_attempt(open_ticket, receiver, settings):
    settings.HELPDESK_WEBHOOK_MAX_ATTEMPTS = 3
    receiver.fail_first = 100
    delivery = new_delivery(open_ticket(), make_hook(receiver))
    start = timezone.now()
    sending.deliver([delivery.pk], now=start)
    for hours in (1, 2, 3, 4):
        sending.sweep(now=start + timedelta(hours=hours))

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("failed", 3)
    assert delivery.finished_at == start + timedelta(hours=2)
    assert delivery.next_attempt_at is None
    assert list(delivery.tries.values_list("status_code", flat=True)) == [500, 500, 500]
    assert len(receiver.requests) == 3


def test_a_webhook_failing_too_often_is_switched_off_and_admins_told(
    open_ticket, receiver, settings, admin_user, agent
):
    settings.HELPDESK_WEBHOOK_DISABLE_AFTER = 3
    receiver.fail_first = 100
    hook = make_hook(receiver)
    tickets = [open_ticket() for _ in range(4)]
    deliveries = [new_delivery(ticket, hook) for ticket in tickets]
    start = timezone.now()

    assert sending.deliver([d.pk for d in deliveries[:3]], now=start) == 3

    hook.refresh_from_db()
    assert hook.disabled_at == start
    assert hook.consecutive_failures == 3
    assert "3 deliveries in a row failed" in hook.disabled_reason
    assert "HTTP 500" in hook.disabled_reason
    [notice] = Notification.objects.filter(kind="webhook_disabled")
    assert notice.user == admin_user
    assert hook.name in notice.text
    assert not Notification.objects.filter(user=agent).exists()

    # What was still waiting for it is not sent: failed, saying why.
    assert sending.sweep(now=start + timedelta(hours=1)) == 4
    assert len(receiver.requests) == 3
    states = set(WebhookDelivery.objects.values_list("state", flat=True))
    assert states == {"failed"}
    last_error = deliveries[3].tries.get().error
    assert last_error.startswith("The webhook was switched off")
    with pytest.raises(InvalidInput, match="switched off"):
        webhooks.for_action(
            webhook_id=hook.pk, event_name="ticket.created", event=None, ticket=tickets[0]
        )
    with pytest.raises(InvalidInput, match="switch it on first"):
        webhooks.redeliver(delivery=deliveries[0], actor=admin_user)

    receiver.fail_first = 0
    webhooks.enable(webhook=hook, actor=admin_user)
    assert (hook.disabled_at, hook.consecutive_failures, hook.disabled_reason) == (None, 0, "")
    again = webhooks.redeliver(delivery=deliveries[0], actor=admin_user)
    assert sending.deliver([again.pk]) == 1
    assert receiver.requests[-1].status == 200
    assert Notification.objects.filter(kind="webhook_disabled").count() == 1


def test_a_success_clears_the_run_of_failures(open_ticket, receiver):
    receiver.fail_first = 2
    hook = make_hook(receiver)
    first = [new_delivery(open_ticket(), hook) for _ in range(2)]
    sending.deliver([d.pk for d in first])
    hook.refresh_from_db()
    assert hook.consecutive_failures == 2
    sending.deliver([new_delivery(open_ticket(), hook).pk])
    hook.refresh_from_db()
    assert hook.consecutive_failures == 0


def test_a_manual_redelivery_is_a_new_delivery_of_the_same_body(
    open_ticket, receiver, admin_user, celery_eager, django_capture_on_commit_callbacks
):
    delivery = new_delivery(open_ticket(), make_hook(receiver))
    sending.deliver([delivery.pk])
    delivery.refresh_from_db()

    with django_capture_on_commit_callbacks(execute=True):
        again = webhooks.redeliver(delivery=delivery, actor=admin_user)

    first, second = receiver.requests
    assert again.redelivery_of == delivery and again.pk != delivery.pk
    assert second.delivery_id == str(again.pk) != first.delivery_id
    assert second.body == first.body
    assert verify(SECRET, second.headers, second.body)
    again.refresh_from_db()
    assert again.state == "delivered"


def test_a_pending_delivery_cannot_be_redelivered(open_ticket, receiver, admin_user):
    delivery = new_delivery(open_ticket(), make_hook(receiver))
    with pytest.raises(Conflict):
        webhooks.redeliver(delivery=delivery, actor=admin_user)
    assert WebhookDelivery.objects.count() == 1


def test_a_delivered_delivery_is_never_sent_again(open_ticket, receiver, celery_eager):
    delivery = new_delivery(open_ticket(), make_hook(receiver))
    assert tasks.deliver_webhooks.delay([delivery.pk]).get() == 1
    assert sending.deliver([delivery.pk]) == 0
    assert sending.sweep(now=timezone.now() + timedelta(days=1)) == 0
    assert tasks.sweep_webhooks.delay().get() == 0
    assert len(receiver.requests) == 1
    assert WebhookAttempt.objects.count() == 1


def test_a_lost_workers_claim_runs_out_and_the_sweep_sends_it(open_ticket, receiver):
    delivery = new_delivery(open_ticket(), make_hook(receiver))
    start = timezone.now()
    # A worker claimed it and died before sending.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        claimed_until=start + timedelta(seconds=sending.CLAIM_SECONDS)
    )
    assert sending.sweep(now=start + timedelta(seconds=30)) == 0
    assert sending.deliver([delivery.pk], now=start + timedelta(seconds=30)) == 0
    assert sending.sweep(now=start + timedelta(seconds=61)) == 1
    delivery.refresh_from_db()
    assert delivery.state == "delivered"
    assert len(receiver.requests) == 1


@pytest.mark.services
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_workers_racing_for_the_same_deliveries_send_each_once(open_ticket, receiver):
    """Four workers told of the same deliveries at once (a task and the sweep, say): each
    claims what the others have not (skip locked), so every delivery is POSTed once."""
    hooks = [make_hook(receiver), make_hook(receiver)]
    ids = [new_delivery(open_ticket(), hook).pk for hook in hooks for _ in range(20)]

    handled = run_together(4, lambda n: sending.deliver(ids))

    assert sum(handled) == 40
    assert Counter(r.delivery_id for r in receiver.requests) == {str(pk): 1 for pk in ids}
    assert set(WebhookDelivery.objects.values_list("state", flat=True)) == {"delivered"}


def test_a_receiver_failing_half_the_time_loses_nothing(open_ticket, receiver, settings):
    """Every delivery ends delivered exactly once (one 2xx for its id) or failed."""
    settings.HELPDESK_WEBHOOK_DISABLE_AFTER = 1000
    receiver.fail_every_other = True
    hooks = [make_hook(receiver), make_hook(receiver)]
    tickets = [open_ticket() for _ in range(10)]
    ids = [d.pk for t in tickets for h in hooks for d in [new_delivery(t, h)]]
    ids += [
        webhooks.for_action(
            webhook_id=hooks[0].pk, event_name="ticket.rule", event=None, ticket=t
        ).pk
        for t in tickets
    ]
    start = timezone.now()

    sending.deliver(ids, now=start)
    for hours in range(1, 12):
        sending.sweep(now=start + timedelta(hours=hours))

    rows = dict(WebhookDelivery.objects.values_list("pk", "state"))
    assert len(rows) == 30 and "pending" not in rows.values()
    taken = Counter(int(r.delivery_id) for r in receiver.requests if r.status == 200)
    for pk, state in rows.items():
        assert taken[pk] == (1 if state == "delivered" else 0), (pk, state)
    tried = Counter(int(r.delivery_id) for r in receiver.requests)
    attempts = dict(WebhookDelivery.objects.values_list("pk", "attempts"))
    assert tried == Counter(attempts)
    assert WebhookAttempt.objects.count() == len(receiver.requests)


def test_slack_gets_text_without_our_signature(open_ticket, receiver):
    ticket = open_ticket(subject="Paging <!channel> & co")
    hook = make_hook(receiver, format="slack")
    sending.deliver([new_delivery(ticket, hook).pk])

    [got] = receiver.requests
    text = f"{ticket.reference} Paging &lt;!channel&gt; &amp; co: Ticket created"
    assert got.json["text"] == text  # its fallback; the blocks: test_webhook_slack
    assert not any(name.startswith("X-Helpdesk") for name in got.headers)


def test_a_rule_action_sends_its_own_text_to_teams(open_ticket, receiver):
    ticket = open_ticket(subject="Refund")
    hook = make_hook(receiver, format="teams")
    delivery = webhooks.for_action(
        webhook_id=hook.pk,
        event_name="ticket.created",
        event=created_event(ticket),
        ticket=ticket,
        text="New refund request {{ ticket.reference }}: {{ ticket.subject }}",
    )
    assert delivery.source_event is None  # a subscription to the event may send it too
    sending.deliver([delivery.pk])
    assert receiver.requests[0].json == {"text": f"New refund request {ticket.reference}: Refund"}


def test_a_rule_action_without_an_event_sends_the_payload_without_one(open_ticket, receiver):
    ticket = open_ticket()
    hook = make_hook(receiver)
    delivery = webhooks.for_action(
        webhook_id=hook.pk, event_name="ticket.rule", event=None, ticket=ticket
    )
    sending.deliver([delivery.pk])
    body = receiver.requests[0].json
    assert "event" not in body and body["event_id"] is None
    assert body["ticket"]["id"] == ticket.pk


def test_a_rule_action_to_no_webhook_is_refused(open_ticket):
    with pytest.raises(InvalidInput, match="There is no webhook 999"):
        webhooks.for_action(
            webhook_id=999, event_name="ticket.created", event=None, ticket=open_ticket()
        )
    assert not WebhookDelivery.objects.exists()


# --- Where a webhook may go ---------------------------------------------------------------


def test_a_private_address_is_refused_when_sending_and_nothing_reaches_it(open_ticket, receiver):
    hook = make_hook(receiver, allow_private_network=False)
    delivery = new_delivery(open_ticket(), hook)

    assert sending.deliver([delivery.pk]) == 1

    assert receiver.requests == []
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("failed", 1)  # not tried again
    [attempt] = delivery.tries.all()
    assert attempt.status_code is None
    assert "127.0.0.1 is on a private network" in attempt.error


def test_a_name_that_turns_private_after_the_check_is_refused_on_connecting(
    open_ticket, receiver, monkeypatch
):
    """DNS rebinding: the check sees a public address, the connection would reach ours."""
    port = int(receiver.url.split(":")[2].split("/")[0])
    real = socket.getaddrinfo
    answers = iter(["93.184.216.34", "127.0.0.1", "127.0.0.1"])

    def rebinding(host: str, *args: Any, **kwargs: Any) -> Any:
        if host != "hooks.example.test":
            return real(host, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    hook = make_hook(
        receiver, url=f"http://hooks.example.test:{port}/x", allow_private_network=False
    )
    delivery = new_delivery(open_ticket(), hook)

    sending.deliver([delivery.pk])

    assert receiver.requests == []
    delivery.refresh_from_db()
    assert delivery.state == "failed"
    assert "private network (127.0.0.1)" in delivery.tries.get().error


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/hook",
        "http://127.0.0.1:8000/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://192.168.1.20/hook",
        "http://100.64.0.1/hook",
        "http://224.0.0.1/hook",
    ],
)
def test_private_addresses_are_refused(url):
    with pytest.raises(InvalidInput, match="private network") as refused:
        webhooks.check_target(url, allow_private=False)
    assert refused.value.code == webhooks.PRIVATE_ADDRESS


@pytest.mark.parametrize("url", ["ftp://93.184.216.34/x", "file:///etc/passwd", "https://"])
def test_only_http_addresses(url):
    with pytest.raises(InvalidInput, match="http:// or https://"):
        webhooks.check_target(url, allow_private=True)


def test_a_public_address_and_an_allowed_private_one_pass():
    webhooks.check_target("https://93.184.216.34/hooks", allow_private=False)
    webhooks.check_target("http://[2606:2800:220:1:248:1893:25c8:1946]/", allow_private=False)
    webhooks.check_target("http://127.0.0.1:9000/hook", allow_private=True)


def test_a_signature_covers_the_timestamp_and_the_body():
    expected = hmac.new(b"k", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert webhooks.sign("k", 1700000000, b"{}") == expected
    assert webhooks.sign("k", 1700000001, b"{}") != expected


# --- A receiver answering a byte at a time ------------------------------------------------


@dataclass
class Dripping:
    """A receiver that takes the request, then answers one byte every `pause` seconds (each
    wait shorter than the read timeout), and notes whether the sender hung up on it."""

    url: str = ""
    pause: float = 0.1
    hung_up: threading.Event = field(default_factory=threading.Event)
    answered: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def dripping() -> Iterator[Dripping]:
    state = Dripping()
    listener = socket.create_server(("127.0.0.1", 0))
    state.url = f"http://127.0.0.1:{listener.getsockname()[1]}/hooks/helpdesk"
    answer = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"z" * 60 + b"\r\nContent-Length: 0\r\n\r\n"

    def serve_one() -> None:
        connection, _address = listener.accept()
        with connection:
            connection.recv(65536)
            try:
                for byte in answer:
                    connection.sendall(bytes([byte]))
                    if state.hung_up.wait(state.pause):
                        return
                state.answered.set()
            except OSError:
                state.hung_up.set()

    server = threading.Thread(target=serve_one, daemon=True)
    server.start()
    yield state
    state.hung_up.set()
    server.join(5)
    listener.close()


def test_a_receiver_dripping_its_answer_is_cut_off_at_the_timeout(
    open_ticket, dripping, celery_eager, settings
):
    """Each byte comes within the read timeout, the whole answer would take 8 s: the
    delivery is cut off at the connect and read timeouts together (here 1 s), not held for
    as long as the receiver likes (which would hold the worker, and outlast its claim)."""
    settings.HELPDESK_WEBHOOK_CONNECT_TIMEOUT_SECONDS = 0.5
    settings.HELPDESK_WEBHOOK_TIMEOUT_SECONDS = 0.5
    hook = make_hook(Receiver(url=dripping.url))
    delivery = new_delivery(open_ticket(), hook)

    tasks.deliver_webhooks.delay([delivery.pk])

    assert not dripping.answered.is_set()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("pending", 1)  # tried again later
    [attempt] = delivery.tries.all()
    assert (attempt.status_code, attempt.error) == (None, "No whole answer within 1 s.")
