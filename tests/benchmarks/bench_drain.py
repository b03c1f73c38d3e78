"""A backlog drained: items received through the real webhooks while no worker ran, then
processed by one Celery worker process, and again by two.

The web process (uvicorn, `helpdesk.asgi`) takes the webhooks' mix (bench_webhooks.Traffic:
Mailgun raw MIME, Postmark JSON, Twilio SMS, signed as the providers sign them) until the
backlog holds its count, and is stopped. Then `celery worker --concurrency N` on the `ingest`
queue processes it: each item's task is a wake-up that takes the items waiting longest, up
to a hundred, as one batch (`pipeline.process_waiting`). The rate is the items processed
over the span between the first and the last item's `processed_at` (the workers' start-up
is not counted). Customer notices are on, as by default: each new ticket's notice is
written; sending them is the `notify` queue's work, not measured here.

Exactly once: every item stored is processed, and every processed item has one message.

    python -m tests.benchmarks drain     # or: make bench BENCH=drain (BENCH_SCALE applies)

BENCH_DRAIN_PYSPY=FILE records the one worker's drain with py-spy, its processes too
(harness.py_spy: FILE.txt collapsed stacks, else a flame graph).
"""

import asyncio
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.benchmarks.bench_webhooks import (
    ROOT,
    Sent,
    Traffic,
    _database,
    _free_port,
    _prepare,
    _purge,
    _stop,
    ingest_worker_command,
    server_command,
    server_environment,
    wait_ready,
)
from tests.benchmarks.harness import Context, Metric, in_scratch_folder, py_spy, py_spy_end

FULL_BACKLOG = 10_000
TARGET_ONE_WORKER = 750  # items/s
TARGET_TWO_WORKERS = 1.5  # times one worker
CLIENTS = 16


def run(ctx: Context) -> Iterator[Metric]:
    return in_scratch_folder("bench-drain-", lambda media: _drains(ctx, media))


def _drains(ctx: Context, media: str) -> Iterator[Metric]:
    rates = {}
    for workers in (1, 2):
        metric = _drain(ctx, media, workers)
        rates[workers] = metric.value
        yield metric
    yield Metric(
        "drain.two_workers_over_one",
        rates[2] / rates[1] if rates[1] else 0.0,
        "ratio",
        2,
        {"target": TARGET_TWO_WORKERS},
    )


def _drain(ctx: Context, media: str, workers: int) -> Metric:
    count = ctx.scaled(FULL_BACKLOG, 500)
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = server_environment(media, port)
    env["HELPDESK_CUSTOMER_NOTICES"] = "1"
    _prepare(env, ctx)
    logs = Path(media) / f"logs-{workers}"
    logs.mkdir(exist_ok=True)
    stored = _fill_backlog(ctx, env, base_url, count, logs)
    ctx.log(f"drain: {stored:,} items waiting; {workers} worker process(es) start")
    load_before = os.getloadavg()[0]
    with (logs / "worker.log").open("wb") as log:
        worker = subprocess.Popen(
            ingest_worker_command(workers), cwd=ROOT, env=env, stdout=log, stderr=log
        )
        target = os.environ.get("BENCH_DRAIN_PYSPY") if workers == 1 else None
        profiler = py_spy(worker.pid, target, subprocesses=True)
        try:
            waited = _wait_until_drained(env, limit=max(120.0, count / 50))
        finally:
            py_spy_end(profiler)
            _stop(worker)
            _purge(env)
    result = _outcome(env)
    text = (logs / "worker.log").read_bytes().decode(errors="replace")
    if "Traceback" in text:
        ctx.log(f"drain: the worker's log has errors; it ends with:\n{text[-3000:]}")
    rate = result["done"] / result["span"] if result["span"] else 0.0
    ctx.log(f"drain: {result['done']:,} processed in {result['span']:.1f} s = {rate:,.0f}/s")
    return Metric(
        f"drain.{'one_worker' if workers == 1 else 'two_workers'}_rate",
        rate,
        "items/s",
        result["done"],
        {
            "target": TARGET_ONE_WORKER if workers == 1 else None,
            "worker_processes": workers,
            "backlog": stored,
            "span_seconds": round(result["span"], 2),
            "waited_seconds": round(waited, 1),
            "still_waiting": result["waiting"],
            "statuses": result["statuses"],
            "exactly_once": result["exactly_once"],
            "tickets": result["tickets"],
            "notices_written": result["notices"],
            "customer_notices": True,
            "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        },
    )


def _fill_backlog(ctx: Context, env: dict[str, str], base_url: str, count: int, logs: Path) -> int:
    """Post through the webhooks until `count` items are stored; returns how many are."""
    port = base_url.rsplit(":", 1)[1]
    with (logs / "server.log").open("wb") as log:
        server = subprocess.Popen(server_command(port), cwd=ROOT, env=env, stdout=log, stderr=log)
        try:
            wait_ready(base_url, server)
            traffic = Traffic(base_url, run=f"d{int(time.time())}")
            started = time.perf_counter()
            while (stored := _stored(env)) < count:
                sent = asyncio.run(_post(traffic, count - stored))
                if sent.errors:
                    ctx.log(f"drain: errors while filling: {dict(sent.errors)}")
            ctx.log(f"drain: backlog of {stored:,} in {time.perf_counter() - started:.0f} s")
        finally:
            _stop(server)
    return stored


async def _post(traffic: Traffic, requests: int) -> Sent:
    """About `requests` requests from CLIENTS clients (redeliveries store nothing new)."""
    import aiohttp

    sent = Sent()
    per_client = max(1, requests // CLIENTS)
    timeout = aiohttp.ClientTimeout(total=30)
    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:

        async def client() -> None:
            for _ in range(per_client):
                _, url, headers, body, _, _ = traffic.next()
                try:
                    async with session.post(url, data=body, headers=headers) as response:
                        await response.read()
                        status = response.status
                except Exception as error:  # counted, never fatal
                    sent.errors[type(error).__name__] += 1
                    continue
                sent.requests += 1
                if not 200 <= status < 300:
                    sent.errors[f"HTTP {status}"] += 1

        await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return sent


def _stored(env: dict[str, str]) -> int:
    with _database(env) as connection:
        row = connection.execute("SELECT count(*) FROM channels_ingest_inbounditem").fetchone()
        return int(row[0]) if row else 0


def _wait_until_drained(env: dict[str, str], *, limit: float) -> float:
    started = time.perf_counter()
    with _database(env) as connection:
        while time.perf_counter() - started < limit:
            row = connection.execute(
                "SELECT count(*) FROM channels_ingest_inbounditem WHERE status = 'received'"
            ).fetchone()
            if row and row[0] == 0:
                break
            time.sleep(0.25)
    return time.perf_counter() - started


def _outcome(env: dict[str, str]) -> dict[str, Any]:
    with _database(env) as connection:
        statuses = dict(
            connection.execute(
                "SELECT status, count(*) FROM channels_ingest_inbounditem GROUP BY status"
            ).fetchall()
        )
        done, first, last = connection.execute(
            "SELECT count(*), min(processed_at), max(processed_at) "
            "FROM channels_ingest_inbounditem WHERE status <> 'received'"
        ).fetchone()
        items_with_message, messages = connection.execute(
            "SELECT (SELECT count(*) FROM channels_ingest_inbounditem WHERE message_id IS NOT "
            "NULL), (SELECT count(*) FROM tickets_message WHERE kind = 'inbound')"
        ).fetchone()
        tickets, notices = connection.execute(
            "SELECT (SELECT count(*) FROM tickets_ticket), "
            "(SELECT count(*) FROM tickets_message WHERE is_automatic AND kind = 'outbound')"
        ).fetchone()
    return {
        "statuses": statuses,
        "done": int(done),
        "span": (last - first).total_seconds() if first and last else 0.0,
        "waiting": int(statuses.get("received", 0)),
        "exactly_once": items_with_message == messages
        and statuses.get("received", 0) == 0
        and statuses.get("failed", 0) == 0,
        "tickets": int(tickets),
        "notices": int(notices),
    }
