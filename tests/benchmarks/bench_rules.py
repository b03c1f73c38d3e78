"""Triggers, automations and outgoing webhooks (issue 24), against the issue's targets:

1. "100 active triggers add <= 2 ms to processing one inbound message and to one agent
   reply." On a small desk of its own (`rules` data set: agents in tiers 1-3, the office-hours
   and 24/7 SLA policies), with real commits on PostgreSQL: an inbound email processed as the
   ingest task does (`channels_ingest.pipeline.process` of a stored item; bench_ingest's mail
   generator, new conversations and replies), and an agent's reply
   (`tickets.services.ticket_reply`). With 100 active triggers the door's commit judges its
   events against the triggers' conditions and publishes the `rules` task only when one
   holds; when it did, what the task does with the events (`dispatch.dispatch`) is timed
   and added to the sample. Without triggers nothing is judged, published or dispatched.
   Blocks of each setting alternate, so that the desk's growth and the machine's load fall
   on both alike; each setting has its own stream of work (two mail sets alike, two halves
   of the tickets to answer). rules.triggers_added_<door>_ms is p50(door + dispatch, 100 triggers) -
   p50(door, no trigger); rules.triggers_dispatch_<door>_ms the dispatch alone (0 where
   no task was queued). The
   triggers' conditions mix subject and body text, channel, priority, tags, sender's
   domain, business hours, tier and organization, and mostly do not hold; five hold now and
   then and act (add tags, raise a priority).
2. "The automation sweep over 1,000,000 tickets selects what is due in <= 100 ms." On the
   `reports` data set (1,000,000 tickets over a year, ~9 % still active; data.build_reports),
   committed, vacuumed and deleted afterwards: a few automations an admin would write, and
   firing records for the oldest 90 % of what each finds due (as in steady state, where
   the sweep acted on them before); then `timed.due_ids(automation, now)` of each (the
   ids and clock starts of the first 500 due, which the sweep then reads 50 at a time),
   timed (rules.sweep_select_<automation>), at the moment the data set was built. The
   plan of the slowest (EXPLAIN ANALYZE) goes to stderr, and of any that misses the target.
3. "Webhook delivery sustains >= 200 deliveries/s to a local receiver with 0 lost and
   exactly-once-or-marked-failed semantics under a receiver that fails half the time." A
   receiver in a process of its own (http.server, keep-alive, no Nagle) verifies each
   signature and answers 500 to a random half of the requests, counting the 2xx answers per
   X-Helpdesk-Delivery id. 5,000 pending deliveries to five webhooks (bodies: real payloads)
   are sent by `tickets.automation.sending.sweep(now=...)` in this process, `now` moved past
   the longest backoff after each round, until none is pending (rules.webhook_sweep_*). Then,
   for a Celery worker of one process and again of two, 5,000 more written by the real path
   (`dispatch` of 1,000 events to five subscribed webhooks, each event's sending task queued
   after commit) are sent by the worker on the `webhooks` queue, started once they wait
   (rules.webhook_worker<N>_rate: first attempts over the span from the first to the last;
   the worker's start-up is not counted); their retries are swept as before. Checked over
   all 15,000 (rules.webhook_lost): none pending or lost, every delivered id answered 2xx
   exactly once, every failed one tried the maximum of times and never answered 2xx, every
   attempt the receiver saw recorded.

Parts 1 and 3 run in a child process whose Celery broker is a Redis database of its own
(OWN_REDIS_DB), emptied before and after: what the doors publish stays out of the shared
one, and the worker reads only this benchmark's tasks.

    python -m tests.benchmarks rules    # or: make bench BENCH=rules (BENCH_SCALE applies)
"""

import hashlib
import hmac
import json
import multiprocessing
import os
import random
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.benchmarks import data
from tests.benchmarks.bench_ingest import generate_mail, sibling_url
from tests.benchmarks.bench_webhooks import ROOT, _stop
from tests.benchmarks.harness import (
    DEFAULT_REDIS_URL,
    Context,
    Metric,
    configure_environment,
    in_scratch_folder,
    metrics_of_child,
    p50,
    percentile,
    stopwatch,
    timings_ms,
)

# 1. Triggers at the doors.
TRIGGERS = 100
DOOR_SAMPLES = 300  # per door and setting, at scale 1
BLOCK = 25  # samples of one setting before switching to the other
WARMUP = 10  # per door and setting, not counted
TARGET_ADDED_MS = 2
# 2. The automations' selection.
TARGET_SELECT_MS = 100
SELECT_REPEAT = 20
FIRED_SHARE = 0.9
# 3. Webhook delivery.
FULL_DELIVERIES = 5000
HOOKS = 5
FAIL_SHARE = 0.5
TARGET_PER_SECOND = 200
MAX_ROUNDS = 40
WORKER_PROCESSES = (1, 2)
# The desk's Celery broker (bench_ingest has 13, the other benchmarks 14, the tests 15).
OWN_REDIS_DB = 12
_EVENTS = ["ticket.created", "ticket.customer_replied", "ticket.agent_replied"]


def run(ctx: Context) -> Iterator[Metric]:
    yield from _desk_in_child(ctx)
    yield from _selection(ctx)


# --- The small desk: triggers at the doors, webhook delivery -----------------------------


def _desk_in_child(ctx: Context) -> Iterator[Metric]:
    """Parts 1 and 3 in a child process whose Celery broker is a Redis database of its own
    (OWN_REDIS_DB): the tasks the doors publish wait there, and the worker of part 3 reads
    only what this benchmark queued."""
    base_redis = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    env = {
        **os.environ,
        "BENCH_REDIS_URL": sibling_url(base_redis, str(OWN_REDIS_DB)),
        "BENCH_SCALE": str(ctx.scale),
    }
    yield from metrics_of_child("tests.benchmarks.bench_rules", env)


def child() -> int:
    configure_environment()
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    ctx = Context(scale=float(os.environ.get("BENCH_SCALE", "1")))
    _purge_broker()
    try:
        for metric in in_scratch_folder("bench-rules-", lambda media: _on_desk(ctx, media)):
            print(metric.line(), flush=True)
    finally:
        _purge_broker()
    return 0


def _rules_task_published() -> bool:
    """Whether the door queued the `rules` task (this benchmark's broker has no worker);
    taken off the queue again."""
    import redis

    from helpdesk.celery import app

    broker = redis.Redis.from_url(app.conf.broker_url)
    return bool(broker.delete("rules"))


def _purge_broker() -> None:
    """The tasks left in this benchmark's own Redis database (no worker ran them)."""
    from helpdesk.celery import app

    app.control.purge()


def _build_desk(ctx: Context) -> None:
    """A few agents per tier (the benchmark's agent is an admin, told of stopped rules),
    the office-hours default policy and the 24/7 one."""
    rng = random.Random(20261224)
    data.make_agents(rng, {1: 8, 2: 4, 3: 2}, bench_agent_admin=True, notifications=False)
    data.make_policies()


def _empty_desk() -> None:
    """What an earlier run left: tickets and everything on them, rules, webhooks."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE channels_ingest_inbounditem, tickets_customer, tickets_notification, "
            "tickets_trigger, tickets_automation, tickets_webhook RESTART IDENTITY CASCADE"
        )


def _on_desk(ctx: Context, media: str) -> Iterator[Metric]:
    from django.test.utils import override_settings

    results: list[Metric] = []
    # Attachments of the generated mail go to the scratch folder.
    with (
        override_settings(MEDIA_ROOT=str(Path(media) / "media")),
        data.own_database(ctx, "rules", _build_desk) as database,
    ):
        _empty_desk()
        results += _doors(ctx)
        _purge_broker()  # what the doors published: the worker below reads the same broker
        results += _webhooks(ctx, database, media)
    yield from results


def _condition(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


def _trigger_specs() -> list[dict[str, Any]]:
    """100 triggers as a desk's admins would write them: 95 whose conditions seldom or never
    hold for this mail, 5 that hold now and then and act."""
    rng = random.Random(24)
    never = [
        (["ticket.created"], {"all": [_condition("subject", "contains", word)]})
        for word in (
            "refund", "chargeback", "gdpr", "data deletion", "lawsuit", "phishing", "outage",
            "cancel my", "security incident", "invoice copy", "contract", "onboarding",
        )
    ]  # fmt: skip
    never += [
        (
            ["ticket.created", "ticket.customer_replied"],
            {"any": [_condition("body", "contains", a), _condition("body", "contains", b)]},
        )
        for a, b in (
            ("terminate the contract", "speak to a manager"),
            ("legal action", "our lawyer"),
            ("credit card", "bank transfer"),
            ("unsubscribe", "stop emailing"),
            ("data breach", "hacked"),
        )
    ]
    never += [
        (["ticket.created"], {"all": [_condition("channel", "in", channels)]})
        for channels in (["sms"], ["phone"], ["chat"], ["sms", "phone"], ["web", "api"])
    ]
    never += [
        (["ticket.created", "ticket.priority_changed"], {"all": [_condition("priority", "is", p)]})
        for p in ("urgent", "low")
    ]
    never += [
        (
            ["ticket.created", "ticket.customer_replied"],
            {"all": [_condition("tags", "contains_any", tags)]},
        )
        for tags in (["vip"], ["enterprise", "partner"], ["gdpr"], ["outage"], ["beta"])
    ]
    never += [
        (["ticket.created"], {"all": [_condition("sender_domain", "in", domains)]})
        for domains in (
            ["bigbank.example"], ["globex.example", "initech.example"], ["gov.example"],
            ["university.example"], ["hospital.example"],
        )
    ]  # fmt: skip
    never += [
        (
            ["ticket.created", "ticket.customer_replied"],
            {"all": [_condition("business_hours", "is", "false"), _condition("channel", "is", c)]},
        )
        for c in ("sms", "phone", "chat")
    ]
    never += [
        (
            ["ticket.customer_replied"],
            {"all": [_condition("tier", "is", 3), _condition("priority", "above", "normal")]},
        ),
        (["ticket.created"], {"all": [_condition("tier", "above", 2)]}),
        (
            ["ticket.created"],
            {"all": [_condition("organization", "is_set"), _condition("priority", "is", "high")]},
        ),
        (["ticket.agent_replied"], {"all": [_condition("priority", "is", "urgent")]}),
        (["ticket.agent_replied"], {"all": [_condition("tags", "contains_any", ["vip"])]}),
        (
            ["ticket.status_changed"],
            {"all": [_condition("previous_status", "is", "resolved")]},
        ),
        (["ticket.status_changed"], {"all": [_condition("status", "is", "on_hold")]}),
        (["ticket.rated"], {"all": [_condition("rating", "below", 3)]}),
        (["ticket.tier_changed"], {"all": [_condition("tier", "is", 3)]}),
        (["ticket.assignee_changed"], {"all": [_condition("assignee", "is_empty")]}),
        (["ticket.created"], {"all": [_condition("subject", "starts_with", "[alert]")]}),
        (["sla.breached"], {"all": [_condition("priority", "above", "normal")]}),
    ]
    actions: list[list[dict[str, Any]]] = [
        [{"type": "add_tags", "value": ["triage"]}],
        [{"type": "set_priority", "value": "high"}],
        [{"type": "notify", "to": ["tier"], "value": "Look at {{ ticket.reference }}"}],
        [{"type": "add_note", "value": "Check the contract before answering."}],
        [{"type": "assign_round_robin", "value": 2}],
        [{"type": "message_customer", "value": "We have your message and are on it."}],
    ]
    specs: list[dict[str, Any]] = [
        {
            "name": f"Rule {n + 1:03d}",
            "events": events,
            "conditions": conditions,
            "actions": rng.choice(actions),
        }
        for n, (events, conditions) in enumerate(never[k % len(never)] for k in range(TRIGGERS - 5))
    ]
    acting: list[dict[str, Any]] = [
        {
            "name": "Tag Acme",
            "events": ["ticket.created", "ticket.customer_replied"],
            "conditions": {"all": [_condition("sender_domain", "is", "acme.example")]},
            "actions": [{"type": "add_tags", "value": ["acme"]}],
        },
        {
            "name": "Hardware",
            "events": ["ticket.created"],
            "conditions": {
                "any": [
                    _condition("subject", "contains", "printer"),
                    _condition("subject", "contains", "docking"),
                ]
            },
            "actions": [{"type": "add_tags", "value": ["hardware"]}],
        },
        {
            "name": "Invoices are billing",
            "events": ["ticket.created"],
            "conditions": {"all": [_condition("subject", "contains", "invoice")]},
            "actions": [
                {"type": "add_tags", "value": ["billing"]},
                {"type": "set_priority", "value": "high"},
            ],
        },
        {
            "name": "Login errors with a code",
            "events": ["ticket.created", "ticket.customer_replied"],
            "conditions": {
                "all": [
                    _condition("subject", "contains", "log in"),
                    _condition("body", "contains", "0x80070005"),
                ]
            },
            "actions": [{"type": "add_tags", "value": ["error-code"]}],
        },
        {
            "name": "First answer given",
            "events": ["ticket.agent_replied"],
            "conditions": {"all": [_condition("tags", "contains_none", ["answered"])]},
            "actions": [{"type": "add_tags", "value": ["answered"]}],
        },
    ]
    for n, spec in enumerate(acting):  # spread among the others
        specs.insert(10 + 20 * n, spec)
    return specs


def _make_triggers() -> None:
    from tickets.automation.manage import trigger_save

    for position, spec in enumerate(_trigger_specs(), start=1):
        trigger_save(trigger=None, actor=None, position=position, **spec)


def _switch(on: bool) -> None:
    """All triggers on or off; the process's "rules in use?" asked afresh (as a change of
    rules does), before the next door."""
    from tickets.automation import dispatch
    from tickets.models import Trigger

    Trigger.objects.update(active=on)
    dispatch.forget_rules_in_use()
    dispatch.rules_in_use()


class _Counter:
    def __init__(self) -> None:
        self.queries = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.queries += 1
        return execute(sql, params, many, context)


class _Door:
    """Samples of one door: its own time, and (with triggers) the dispatch of its events."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.door: dict[bool, list[float]] = {False: [], True: []}
        self.dispatch: list[float] = []
        self.total: list[float] = []
        self.events: list[int] = []
        self.acted = 0
        self.samples_acting = 0
        self.door_queries = {False: _Counter(), True: _Counter()}
        self.tasks = 0  # samples whose door queued the `rules` task
        self.dispatch_when_queued: list[float] = []
        self.dispatch_queries = _Counter()

    def measure(self, action: Callable[[], Any], with_triggers: bool, *, keep: bool) -> None:
        from django.db import connection

        from tickets.automation import dispatch
        from tickets.models import TicketEvent

        last = TicketEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        door_counter = self.door_queries[with_triggers] if keep else _Counter()
        with connection.execute_wrapper(door_counter):
            started = time.perf_counter()
            action()
            door_ms = (time.perf_counter() - started) * 1000
        if not with_triggers:  # nothing in use: the commit published no task
            if keep:
                self.door[False].append(door_ms)
            return
        ids = list(TicketEvent.objects.filter(pk__gt=last).values_list("pk", flat=True))
        acted, dispatch_ms = 0, 0.0
        if _rules_task_published():  # the door judged a trigger's conditions to hold
            dispatch_counter = self.dispatch_queries if keep else _Counter()
            with connection.execute_wrapper(dispatch_counter):
                started = time.perf_counter()
                acted = dispatch.dispatch(ids)  # what the task does
                dispatch_ms = (time.perf_counter() - started) * 1000
            if keep:
                self.tasks += 1
                self.dispatch_when_queued.append(dispatch_ms)
        if keep:
            self.door[True].append(door_ms)
            self.dispatch.append(dispatch_ms)
            self.total.append(door_ms + dispatch_ms)
            self.events.append(len(ids))
            self.acted += acted
            self.samples_acting += bool(acted)

    def metrics(self, ctx: Context) -> list[Metric]:
        base = p50(self.door[False])
        added = p50(self.total) - base
        n = len(self.total)
        common = {
            "triggers": TRIGGERS,
            "samples_per_setting": n,
            "load_1min": round(os.getloadavg()[0], 2),
            "scale": ctx.scale,
        }
        ctx.log(
            f"rules: {self.name}: p50 {base:.2f} ms without triggers, "
            f"{p50(self.door[True]):.2f} + {p50(self.dispatch):.2f} ms (dispatch) with"
        )
        return [
            Metric(
                f"rules.triggers_added_{self.name}_ms",
                added,
                "ms",
                n,
                {
                    "target_ms": TARGET_ADDED_MS,
                    "p50_door_without_ms": round(base, 3),
                    "p50_door_with_ms": round(p50(self.door[True]), 3),
                    "p50_dispatch_ms": round(p50(self.dispatch), 3),
                    "p50_door_plus_dispatch_ms": round(p50(self.total), 3),
                    "p90_door_without_ms": round(percentile(self.door[False], 0.9), 3),
                    "p90_door_plus_dispatch_ms": round(percentile(self.total, 0.9), 3),
                    # what the commit's task publication and rule bookkeeping add at the door
                    "door_added_ms": round(p50(self.door[True]) - base, 3),
                    "statements_door_without": round(self.door_queries[False].queries / n, 1),
                    "statements_door_with": round(self.door_queries[True].queries / n, 1),
                    **common,
                },
            ),
            Metric(
                f"rules.triggers_dispatch_{self.name}_ms",
                p50(self.dispatch),
                "ms",
                n,
                {
                    "p90_ms": round(percentile(self.dispatch, 0.9), 3),
                    # the door queues the task only when a trigger's conditions hold
                    "samples_queueing_the_task": self.tasks,
                    "p50_dispatch_when_queued_ms": round(p50(self.dispatch_when_queued), 3)
                    if self.dispatch_when_queued
                    else None,
                    "statements": round(self.dispatch_queries.queries / n, 1),
                    "events_per_sample": round(sum(self.events) / n, 2),
                    "triggers_acted": self.acted,
                    "samples_with_a_trigger_acting": self.samples_acting,
                    **common,
                },
            ),
        ]


def _alternating(
    door: _Door, actions: dict[bool, Iterator[Callable[[], Any]]], samples: int, ctx: Context
) -> None:
    """Warm-up in both settings, then blocks of BLOCK samples, alternately without and
    with the triggers, `samples` of each; each setting takes its work from its own stream
    (`actions`), alike but apart, so that neither gets the other's easier or harder part."""
    for setting in (False, True):
        _switch(setting)
        for _ in range(WARMUP):
            door.measure(next(actions[setting]), setting, keep=False)
    done = {False: 0, True: 0}
    setting = False
    while min(done.values()) < samples:
        _switch(setting)
        for _ in range(min(BLOCK, samples - done[setting])):
            door.measure(next(actions[setting]), setting, keep=True)
            done[setting] += 1
        setting = not setting if done[not setting] < samples else setting
    ctx.log(f"rules: {door.name}: {samples} samples in each setting")


def _doors(ctx: Context) -> list[Metric]:
    from django.conf import settings
    from django.contrib.auth.models import User

    from channels_ingest import pipeline
    from channels_ingest.email.parse import idempotency_key
    from tickets import services
    from tickets.models import Ticket, TicketStatus

    samples = ctx.scaled(DOOR_SAMPLES, 40)
    _make_triggers()
    run = f"rules{int(time.time())}"
    # Two streams of mail alike (new conversations and answers in them, from different
    # people), one for each setting.
    mail = {
        setting: generate_mail(
            samples + WARMUP,
            run=f"{run}{int(setting)}",
            support=settings.HELPDESK_SUPPORT_ADDRESS,
            seed=42 + int(setting),
        )
        for setting in (False, True)
    }
    ctx.log(
        f"rules: {TRIGGERS} triggers; twice {samples + WARMUP} emails "
        f"({mail[False].new_threads} and {mail[True].new_threads} conversations)"
    )

    def inbound_messages(messages: list[bytes]) -> Iterator[Callable[[], Any]]:
        for raw in messages:
            item, created = pipeline.receive(
                channel="email",
                source="bench-rules",
                key=idempotency_key(raw),
                payload=raw,
                content_type="message/rfc822",
                enqueue=False,  # stored by the webhook's request; the task is timed
            )
            assert created
            yield partial(pipeline.process, item.pk)

    inbound = _Door("inbound")
    streams = {setting: inbound_messages(mail[setting].messages) for setting in (False, True)}
    _alternating(inbound, streams, samples, ctx)

    agent = User.objects.get(username=data.BENCH_AGENT)
    tickets = list(Ticket.objects.exclude(status=TicketStatus.CLOSED).order_by("pk"))
    texts = [
        "Hello {{ customer.first_name }},\n\nthank you for the details. We have reset the "
        "session on our side; please sign in again and tell us if it works.\n\nBest regards",
        "Hi,\n\ncould you send us a screenshot of the error and the time it happened?\n\nThanks",
        "Hello,\n\nthe fix is deployed. Please try again.\n\nKind regards",
    ]

    def replies(pool: list[Ticket]) -> Iterator[Callable[[], Any]]:
        """Round after round over the pool: a first reply on each ticket, then later ones."""
        n = 0
        while True:
            ticket, text = pool[n % len(pool)], texts[n % len(texts)]
            n += 1
            yield partial(services.ticket_reply, ticket=ticket, actor=agent, text=text)

    reply = _Door("reply")
    _alternating(reply, {False: replies(tickets[0::2]), True: replies(tickets[1::2])}, samples, ctx)
    _switch(False)
    return inbound.metrics(ctx) + reply.metrics(ctx)


# --- Webhook delivery --------------------------------------------------------------------


def _receiver_main(conn: Any, fail_share: float, seed: int) -> None:
    """The receiver process: answers 500 to a random `fail_share` of the requests, checks
    each signature, counts the answers per delivery id; told by `conn`."""
    from tests.automation.receiver import serve

    secrets: dict[str, str] = {}
    answered: dict[str, list[int]] = {}
    unsigned = [0]
    lock = threading.Lock()
    rng = random.Random(seed)

    def answer(path: str, headers: Any, body: bytes) -> int:
        signed = _verified(secrets.get(path, ""), headers, body)
        with lock:
            status = 500 if rng.random() < fail_share else 200
            answered.setdefault(headers.get("X-Helpdesk-Delivery", ""), []).append(status)
            unsigned[0] += not signed
        return status

    server = serve(answer)
    conn.send(server.server_address[1])
    while True:
        command, value = conn.recv()
        if command == "secrets":
            secrets.update(value)
            conn.send(True)
        elif command == "report":
            with lock:
                conn.send(({k: list(v) for k, v in answered.items()}, unsigned[0]))
        else:
            server.shutdown()
            server.server_close()
            conn.send(True)
            return


def _verified(secret: str, headers: Any, body: bytes) -> bool:
    """What a receiver does with a delivery (the README's check)."""
    timestamp, signature = headers.get("X-Helpdesk-Timestamp"), headers.get("X-Helpdesk-Signature")
    if not (secret and timestamp and signature):
        return False
    signed = f"{timestamp}.".encode() + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"sha256={expected}", signature)


class _Receiver:
    def __init__(self) -> None:
        spawn = multiprocessing.get_context("spawn")
        self.conn, child = spawn.Pipe()
        self.process = spawn.Process(
            target=_receiver_main, args=(child, FAIL_SHARE, 20261224), daemon=True
        )
        self.process.start()
        self.url = f"http://127.0.0.1:{self.conn.recv()}"

    def ask(self, command: str, value: Any = None) -> Any:
        self.conn.send((command, value))
        return self.conn.recv()

    def close(self) -> None:
        if self.process.is_alive():
            self.ask("stop")
        self.process.join(10)


def _webhooks(ctx: Context, database: str, media: str) -> list[Metric]:
    from django.utils import timezone

    from tickets.automation.manage import webhook_save
    from tickets.models import Trigger

    Trigger.objects.update(active=False)
    count = ctx.scaled(FULL_DELIVERIES, 250)
    receiver = _Receiver()
    try:
        # Five webhooks for each way of sending: the sweep, one worker process, two.
        hooks = {
            way: [
                webhook_save(
                    webhook=None,
                    name=f"Receiver {way} {n}",
                    url=f"{receiver.url}/hooks/{way}/{n}",
                    events=_EVENTS,
                    actor=None,
                    allow_private_network=True,  # the receiver is on 127.0.0.1
                )
                for n in range(HOOKS)
            ]
            for way in ("sweep", *(f"worker{c}" for c in WORKER_PROCESSES))
        }
        secrets = {urlsplit(h.url).path: h.secret for way in hooks.values() for h in way}
        receiver.ask("secrets", secrets)
        swept_ids = _pending(hooks["sweep"], count)
        now = timezone.now()  # all of them due
        ctx.log(f"rules: {len(swept_ids):,} pending deliveries to {HOOKS} webhooks; sweeping")
        swept = _sweep_until_done(now)
        ctx.log(f"rules: swept in {swept['rounds']} rounds, {swept['seconds']:.1f} s")
        workers = {}
        for processes in WORKER_PROCESSES:
            _subscribe_only(hooks[f"worker{processes}"])
            workers[processes] = _by_worker(ctx, database, media, count // HOOKS, processes)
        retried = _sweep_until_done(now + timedelta(days=2))
        ctx.log(f"rules: the workers' retries swept in {retried['rounds']} rounds")
        answered, unsigned = receiver.ask("report")
    finally:
        receiver.close()
    common = {
        "receiver_fails": FAIL_SHARE,
        "webhooks": HOOKS,
        "threads_per_sender": _sending_threads(),
        "unsigned_or_bad_signature": unsigned,
        "load_1min": round(os.getloadavg()[0], 2),
        "scale": ctx.scale,
    }
    swept_check = _check(swept_ids, answered)
    checks = [swept_check]
    metrics = [
        Metric(
            "rules.webhook_sweep_attempt_rate",
            swept["attempts"] / swept["seconds"],
            "attempts/s",
            swept["attempts"],
            {
                "target_per_s": TARGET_PER_SECOND,
                "delivered_per_s": round(swept_check["delivered"] / swept["seconds"], 1),
                "first_round_attempts_per_s": round(swept["first_rate"], 1),
                "rounds": swept["rounds"],
                "seconds": round(swept["seconds"], 2),
                "sender": "sending.sweep(now=...) in this process",
                **swept_check,
                **common,
            },
        )
    ]
    for processes, (ids, worker) in workers.items():
        check = _check(ids, answered)
        checks.append(check)
        metrics.append(
            Metric(
                f"rules.webhook_worker{processes}_rate",
                worker["rate"],
                "attempts/s",
                worker["attempts"],
                {
                    "target_per_s": TARGET_PER_SECOND,
                    "sender": f"a Celery worker, `webhooks` queue, {processes} process(es)",
                    "worker_processes": processes,
                    "tasks": worker["tasks"],
                    "deliveries_per_task": HOOKS,
                    "ms_per_task": round(1000 * worker["span"] / worker["tasks"], 1)
                    if worker["tasks"]
                    else None,
                    "span_seconds": round(worker["span"], 2),
                    "waited_seconds": round(worker["waited"], 1),
                    "delivered_first_try": worker["delivered"],
                    "dispatch_seconds": round(worker["dispatch_seconds"], 2),
                    "note": "first attempts; the retries were then swept in this process",
                    **check,
                    **common,
                },
            )
        )
    metrics.append(
        Metric(
            "rules.webhook_lost",
            sum(check["pending"] + check["lost"] for check in checks),
            "deliveries",
            sum(check["deliveries"] for check in checks),
            {
                "target": 0,
                "exactly_once": all(check["exactly_once"] for check in checks),
                "failed_at_max_attempts": all(check["failed_at_max_attempts"] for check in checks),
                "attempts_recorded_as_received": all(
                    check["attempts_recorded_as_received"] for check in checks
                ),
                "delivered": sum(check["delivered"] for check in checks),
                "failed": sum(check["failed"] for check in checks),
                "attempts": sum(check["attempts_recorded"] for check in checks),
                "workers_retries_rounds": retried["rounds"],
                "workers_retries_per_s": round(retried["attempts"] / retried["seconds"], 1)
                if retried["seconds"]
                else None,
                **common,
            },
        )
    )
    return metrics


def _subscribe_only(hooks: list[Any]) -> None:
    """Only these webhooks subscribe to the events (the others stay on, to send what they
    have)."""
    from tickets.automation import dispatch
    from tickets.models import Webhook

    Webhook.objects.update(events=[])
    Webhook.objects.filter(pk__in=[hook.pk for hook in hooks]).update(events=_EVENTS)
    dispatch.forget_rules_in_use()


def _sending_threads() -> int:
    from tickets.automation import sending

    return sending.THREADS


def _payload_events(kinds: tuple[str, ...]) -> list[Any]:
    from tickets.models import TicketEvent

    return list(TicketEvent.objects.filter(kind__in=kinds).select_related("ticket").order_by("pk"))


def _pending(hooks: list[Any], count: int) -> list[int]:
    """`count` pending deliveries spread over the hooks, with real payloads of the desk's
    events (written directly, as the subscriptions write them; no task queued: the sweep
    sends them)."""

    from django.core.serializers.json import DjangoJSONEncoder
    from django.utils import timezone

    from tickets.automation import rules, webhooks
    from tickets.models import EventKind, WebhookDelivery

    events = _payload_events((EventKind.CREATED, EventKind.MESSAGE_RECEIVED, EventKind.REPLIED))
    bodies = []
    for event in events[: max(1, count // len(hooks))]:
        name = rules.event_name(event.kind) or "ticket.created"
        body = webhooks.payload(name, event, event.ticket)
        text = json.dumps(body, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))
        bodies.append((name, text, event.ticket_id))
    now = timezone.now()
    rows = [
        WebhookDelivery(
            webhook=hooks[n % len(hooks)],
            event_type=bodies[n // len(hooks) % len(bodies)][0],
            body=bodies[n // len(hooks) % len(bodies)][1],
            ticket_id=bodies[n // len(hooks) % len(bodies)][2],
            next_attempt_at=now,
            created_at=now,
        )
        for n in range(count)
    ]
    return [row.pk for row in WebhookDelivery.objects.bulk_create(rows, batch_size=1000)]


def _sweep_until_done(now: datetime) -> dict[str, Any]:
    """Sweeps at `now`, then past the longest backoff each time, until no delivery is
    pending; the sweeps' own time only."""
    from tickets.automation import sending
    from tickets.models import DeliveryState, WebhookDelivery

    rounds, attempts, seconds, first_rate = 0, 0, 0.0, 0.0
    pending = WebhookDelivery.objects.filter(state=DeliveryState.PENDING)
    while pending.exists() and rounds < MAX_ROUNDS:
        with stopwatch() as took:
            handled = sending.sweep(now=now)
        rounds += 1
        attempts += handled
        seconds += took["seconds"]
        if rounds == 1 and took["seconds"]:
            first_rate = handled / took["seconds"]
        now += timedelta(seconds=sending.BACKOFF_MAX_SECONDS + 60)
    return {"rounds": rounds, "attempts": attempts, "seconds": seconds, "first_rate": first_rate}


def _by_worker(
    ctx: Context, database: str, media: str, events_wanted: int, processes: int
) -> tuple[list[int], dict[str, Any]]:
    """Deliveries written by the subscriptions (dispatch of the desk's events, each event's
    sending task queued after commit), sent by a Celery worker of `processes` processes
    started afterwards; their first attempts."""
    import redis
    from django.conf import settings
    from django.db.models import Max, Min

    from tickets.automation import dispatch
    from tickets.models import EventKind, WebhookAttempt, WebhookDelivery

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    queued_before = int(broker.llen("webhooks"))
    if queued_before:
        ctx.log(f"rules: {queued_before} tasks already wait on the webhooks queue")
    last = WebhookDelivery.objects.aggregate(n=Max("pk"))["n"] or 0
    # created and agent_replied: a customer's first message on a ticket created in the same
    # batch is part of the creation, not an event of its own
    events = _payload_events((EventKind.CREATED, EventKind.REPLIED))[-events_wanted:]
    dispatch.forget_rules_in_use()
    with stopwatch() as took:
        dispatch.dispatch([event.pk for event in events])
    ids = list(WebhookDelivery.objects.filter(pk__gt=last).values_list("pk", flat=True))
    tasks = int(broker.llen("webhooks")) - queued_before
    ctx.log(
        f"rules: {len(ids):,} deliveries of {len(events)} events written in "
        f"{took['seconds']:.1f} s, {tasks} tasks queued; a worker starts"
    )
    env = {
        **os.environ,
        "DATABASE_URL": sibling_url(os.environ["DATABASE_URL"], database),
        "DATA_DIR": media,
        "MEDIA_ROOT": str(Path(media) / "media"),
    }
    command = [
        sys.executable, "-m", "celery", "--app", "helpdesk", "worker", "--concurrency",
        str(processes),
        "--queues", "webhooks", "--loglevel", "WARNING", "--without-gossip",
        "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    log_path = Path(media) / f"worker{processes}.log"
    untried = WebhookDelivery.objects.filter(pk__in=ids, attempts=0)
    with log_path.open("wb") as log:
        worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
        started = time.perf_counter()
        try:
            limit = max(120.0, len(ids) / 20)
            while untried.exists() and time.perf_counter() - started < limit:
                if worker.poll() is not None:
                    break
                time.sleep(0.25)
            waited = time.perf_counter() - started
        finally:
            _stop(worker)
    text = log_path.read_bytes().decode(errors="replace")
    if "Traceback" in text or untried.exists():
        ctx.log(f"rules: the worker's log ends with:\n{text[-3000:]}")
    span = WebhookAttempt.objects.filter(delivery_id__in=ids).aggregate(
        first=Min("at"), last=Max("at")
    )
    attempts = WebhookAttempt.objects.filter(delivery_id__in=ids).count()
    seconds = (span["last"] - span["first"]).total_seconds() if span["first"] else 0.0
    delivered = WebhookDelivery.objects.filter(pk__in=ids, state="delivered").count()
    rate = attempts / seconds if seconds else 0.0
    ctx.log(
        f"rules: the worker ({processes} processes) tried {attempts:,} in {seconds:.1f} s "
        f"= {rate:,.0f}/s"
    )
    return ids, {
        "rate": rate,
        "attempts": attempts,
        "span": seconds,
        "waited": waited,
        "tasks": tasks,
        "delivered": delivered,
        "dispatch_seconds": took["seconds"],
    }


def _check(ids: list[int], answered: dict[str, list[int]]) -> dict[str, Any]:
    """Every delivery delivered or failed; a delivered one answered 2xx exactly once, a
    failed one never and tried the maximum of times; each try the receiver saw recorded."""
    from collections import Counter

    from django.conf import settings

    from tickets.models import WebhookAttempt, WebhookDelivery

    rows = dict(WebhookDelivery.objects.filter(pk__in=ids).values_list("pk", "state"))
    tries = dict(WebhookDelivery.objects.filter(pk__in=ids).values_list("pk", "attempts"))
    recorded = Counter(
        WebhookAttempt.objects.filter(delivery_id__in=ids).values_list("delivery_id", flat=True)
    )
    states = Counter(rows.values())
    most = int(settings.HELPDESK_WEBHOOK_MAX_ATTEMPTS)
    wrong_delivered = wrong_failed = not_at_max = unrecorded = 0
    for pk in ids:
        seen = answered.get(str(pk), [])
        ok = sum(1 for status in seen if 200 <= status < 300)
        state = rows.get(pk)
        if state == "delivered" and ok != 1:
            wrong_delivered += 1
        if state == "failed":
            wrong_failed += ok != 0
            not_at_max += tries[pk] != most
        unrecorded += len(seen) != recorded[pk]
    return {
        "deliveries": len(ids),
        "delivered": states.get("delivered", 0),
        "failed": states.get("failed", 0),
        "pending": states.get("pending", 0),
        "lost": len(ids) - len(rows),
        "attempts_recorded": sum(recorded.values()),
        "delivered_not_answered_2xx_once": wrong_delivered,
        "failed_but_answered_2xx": wrong_failed,
        "exactly_once": wrong_delivered == 0 and wrong_failed == 0,
        "failed_at_max_attempts": not_at_max == 0,
        "attempts_recorded_as_received": unrecorded == 0,
        "max_attempts": most,
    }


# --- The automations' selection over a million tickets ------------------------------------

# (metric key, name, since, hours, conditions, actions)
AUTOMATIONS: tuple[tuple[str, str, str, int, dict[str, Any], list[dict[str, Any]]], ...] = (
    (
        "pending_72h_remind",
        "Remind after 72 h waiting on the customer",
        "status_changed",
        72,
        {"all": [_condition("status", "is", "pending_customer")]},
        [{"type": "message_customer", "value": "Do you still need our help?"}],
    ),
    (
        "resolved_168h_close",
        "Close a week after resolving",
        "status_changed",
        168,
        {"all": [_condition("status", "is", "resolved")]},
        [{"type": "set_status", "value": "closed"}],
    ),
    (
        # The data set closes what was solved 4 days ago (as a desk closing after 96 h
        # would): a week finds nothing; 72 h finds the last day's.
        "resolved_72h_close",
        "Close 72 h after resolving",
        "status_changed",
        72,
        {"all": [_condition("status", "is", "resolved")]},
        [{"type": "set_status", "value": "closed"}],
    ),
    (
        "tier2_unassigned_4h",
        "Unassigned in tier 2 for 4 h",
        "tier_entered",
        4,
        {"all": [_condition("tier", "is", 2), _condition("assignee", "is_empty")]},
        [{"type": "assign_round_robin", "value": 2}],
    ),
    (
        "customer_waiting_24h",
        "Customer waiting for 24 h",
        "customer_waiting",
        24,
        {},
        [{"type": "notify", "to": ["tier"], "value": "{{ ticket.reference }} waits a day"}],
    ),
    (
        "open_30d",
        "Still open after 30 days",
        "created",
        720,
        {"all": [_condition("status", "in", ["new", "open"])]},
        [{"type": "notify", "to": ["leads"], "value": "{{ ticket.reference }} is a month old"}],
    ),
)


_INDEX_USED = r"(?:using|Bitmap Index Scan on) (\w+)"


def _selection(ctx: Context) -> Iterator[Metric]:
    with data.own_database(ctx, "reports", data.build_reports):
        metrics = _select(ctx)
    yield from metrics


def _select(ctx: Context) -> list[Metric]:
    from django.db import connection, transaction
    from django.db.models import Max

    from tickets.automation import timed
    from tickets.automation.manage import automation_save
    from tickets.models import ACTIVE_STATUSES, AutomationFiring, Ticket

    moment = Ticket.objects.aggregate(m=Max("updated_at"))["m"]
    tickets = Ticket.objects.count()
    active = Ticket.objects.filter(status__in=ACTIVE_STATUSES).count()
    # (key, automation, samples, counts, plan)
    results: list[tuple[str, Any, list[float], dict[str, Any], str]] = []
    # The firings are committed and vacuumed, as in steady state (the sweep acted on them in
    # earlier minutes and autovacuum has been by): an index-only scan needs the visibility
    # map. They and the automations are deleted afterwards.
    prepared = []
    try:
        for key, name, since, hours, conditions, actions in AUTOMATIONS:
            automation = automation_save(
                automation=None,
                name=name,
                since=since,
                hours=hours,
                conditions=conditions,
                actions=actions,
                actor=None,
            )
            due = list(timed.due_ids(automation, moment))
            fired = due[: int(len(due) * FIRED_SHARE)]  # the oldest: acted on before
            AutomationFiring.objects.bulk_create(
                (
                    AutomationFiring(automation=automation, ticket_id=pk, anchor_at=anchor)
                    for pk, anchor in fired
                ),
                batch_size=5000,
            )
            prepared.append((key, automation, {"due": len(due), "fired": len(fired)}))
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) tickets_automationfiring")
            cursor.execute("VACUUM (ANALYZE) tickets_ticket")
        for key, automation, counts in prepared:
            selected: list[Any] = []

            def select(automation: Any = automation, selected: list[Any] = selected) -> None:
                with transaction.atomic():
                    selected[:] = timed.due_ids(automation, moment)[: timed.BATCH]

            samples = timings_ms(select, repeat=SELECT_REPEAT)
            counts["selected"] = len(selected)
            plan = timed.due_ids(automation, moment)[: timed.BATCH].explain(
                analyze=True, buffers=True
            )
            results.append((key, automation, samples, counts, plan))
            ctx.log(f"rules: {key}: p50 {p50(samples):.1f} ms, {counts}")
    finally:
        for _key, automation, _counts in prepared:
            automation.delete()  # and its firings
    slowest = max(results, key=lambda result: p50(result[2]))
    for key, _, samples, _, plan in results:
        if key == slowest[0] or p50(samples) > TARGET_SELECT_MS:
            ctx.log(f"rules: EXPLAIN (ANALYZE, BUFFERS) of {key}:\n{plan}")
    metrics = []
    for key, automation, samples, counts, plan in results:
        metrics.append(
            Metric(
                f"rules.sweep_select_{key}",
                p50(samples),
                "ms",
                len(samples),
                {
                    "p90": round(percentile(samples, 0.9), 3),
                    "target_ms": TARGET_SELECT_MS,
                    "automation": automation.name,
                    "since": automation.since,
                    "hours": float(automation.hours),
                    **counts,
                    "fired_share": FIRED_SHARE,
                    "indexes": sorted(set(re.findall(_INDEX_USED, plan))),
                    "seq_scans": sorted(set(re.findall(r"Seq Scan on (\w+)", plan))),
                    "now": moment.isoformat(),
                    "tickets": tickets,
                    "active_tickets": active,
                    "load_1min": round(os.getloadavg()[0], 2),
                    "scale": ctx.scale,
                },
            )
        )
    return metrics


if __name__ == "__main__":
    if "--child" not in sys.argv[1:]:
        sys.exit("usage: python -m tests.benchmarks.bench_rules --child (or use the runner)")
    sys.exit(child())
