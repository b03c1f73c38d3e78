"""The SLA sweep on the `sla` data set: 1,000,000 open tickets, 1,000 of them due.

- sla_selection: tickets.services.sla_sweep.due_tickets, the query that picks (and locks)
  the due tickets, in its own transaction.
- sla_processing: tickets.services.sla_sweep.sla_sweep at the moment 1,000 are due: fire
  each warning and breach once, write the events, run the policies' actions (notifications,
  escalations with their routing), and what the commit sends (live pushes, Celery tasks for
  routing and notification emails), which is run and timed inside the measurement.

Every processing run happens in a transaction that is rolled back afterwards, so each run
sees the same 1,000 due tickets; the commit itself is therefore not timed. The Celery tasks
the run queued (in the benchmark Redis database, where no worker listens) are counted and
then removed again, as they name rows that were rolled back.
"""

import os
import time
from collections.abc import Iterator
from typing import Any

from tests.benchmarks import data
from tests.benchmarks.harness import Context, Metric, p50, percentile, stopwatch, timings_ms

SELECTION_REPEAT = 20
PROCESSING_REPEAT = 3


class _RollBack(Exception):
    pass


def run(ctx: Context) -> Iterator[Metric]:
    with data.own_database(ctx, "sla", data.build_sla):
        yield from _measure(ctx)


def _measure(ctx: Context) -> Iterator[Metric]:
    from django.db import transaction

    from tickets.models import Ticket
    from tickets.services.sla_sweep import due_tickets

    moment = data.sla_sweep_moment()
    open_tickets = Ticket.objects.filter(status__in=("new", "open")).count()

    def select() -> None:
        with transaction.atomic():
            assert len(due_tickets(now=moment, limit=data.SLA_DUE)) == data.SLA_DUE

    samples = timings_ms(select, repeat=SELECTION_REPEAT)
    yield Metric(
        "sla_selection",
        p50(samples),
        "ms",
        len(samples),
        {
            "p90": round(percentile(samples, 0.9), 3),
            "target_ms": 100,
            "load_1min": round(os.getloadavg()[0], 2),
            "due": data.SLA_DUE,
            "open_tickets": open_tickets,
            "scale": ctx.scale,
        },
    )

    runs = [_process(moment) for _ in range(1 + PROCESSING_REPEAT)]  # the first warms up
    measured = runs[1:]
    seconds = [run["seconds"] for run in measured]
    ctx.log("processing runs: " + ", ".join(f"{s:.2f} s" for s in seconds))
    yield Metric(
        "sla_processing",
        p50(seconds),
        "s",
        len(seconds),
        {
            "target_s": 2,
            "load_1min": round(os.getloadavg()[0], 2),
            "cpu_seconds_p50": round(p50([run["cpu_seconds"] for run in measured]), 3),
            **{
                key: value
                for key, value in measured[-1].items()
                if key not in ("seconds", "cpu_seconds")
            },
            "open_tickets": open_tickets,
            "scale": ctx.scale,
        },
    )


def _queue_lengths(client: Any, names: list[str]) -> dict[str, int]:
    return {name: int(client.llen(name)) for name in names}


def _process(moment: Any) -> dict[str, Any]:
    """One sweep, rolled back; what it did."""
    import redis
    from django.conf import settings
    from django.db import connection, transaction
    from django.db.models import Max
    from django.test import TestCase

    from tickets.models import Notification, SLAFiring, TicketEvent
    from tickets.services.sla_sweep import sla_sweep

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    queues = [queue.name for queue in settings.CELERY_TASK_QUEUES]
    before_tasks = _queue_lengths(broker, queues)
    last_event = TicketEvent.objects.aggregate(n=Max("pk"))["n"] or 0
    last_notification = Notification.objects.aggregate(n=Max("pk"))["n"] or 0
    result: dict[str, Any] = {}
    try:
        with transaction.atomic():
            queries = [0]

            def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
                queries[0] += 1
                return execute(sql, params, many, context)

            cpu = time.process_time()
            with (
                connection.execute_wrapper(count),
                stopwatch() as took,
                TestCase.captureOnCommitCallbacks(execute=True) as callbacks,
            ):
                fired = sla_sweep(now=moment, limit=data.SLA_DUE)
            cpu = time.process_time() - cpu
            new_events = TicketEvent.objects.filter(pk__gt=last_event)
            result = {
                "seconds": took["seconds"],
                "cpu_seconds": round(cpu, 3),
                "fired": fired,
                "queries": queries[0],
                "firings": SLAFiring.objects.filter(fired_at=moment).count(),
                "sla_events": new_events.filter(kind__in=("sla_warning", "sla_breach")).count(),
                "escalations": new_events.filter(kind="escalated").count(),
                "events": new_events.count(),
                "notifications": Notification.objects.filter(pk__gt=last_notification).count(),
                "after_commit_callbacks": len(callbacks),
            }
            raise _RollBack
    except _RollBack:
        pass
    after_tasks = _queue_lengths(broker, queues)
    queued = {name: after_tasks[name] - before_tasks[name] for name in queues}
    for name, added in queued.items():
        if added > 0:
            broker.ltrim(name, added, -1)  # the newest are at the head (LPUSH)
    result["tasks_queued"] = sum(queued.values())
    return result
