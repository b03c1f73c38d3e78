"""End to end under a steady offered load: from a webhook's acknowledgement to its message on
a ticket (what the agent's queue shows), with the web process, one worker, PostgreSQL,
Redis and the load generator sharing the machine.

The web process (uvicorn, `helpdesk.asgi`) and one Celery worker process (the `ingest`
queue, at a lower CPU priority, as in the webhook benchmark) run; the clients offer the
webhook benchmark's mix (Mailgun, Postmark, Twilio, signed) at a fixed rate,
`BENCH_LATENCY_RATE` a second (200 by default), for five minutes at scale 1. Each
acknowledged request's key and time are kept; afterwards each item's `processed_at` gives
its latency. The backlog (items waiting) is sampled every second: it must not grow. Then
twenty messages one at a time, a second apart: a lone message at rest.

Each process's CPU over the load is reported (`cpu_share`: the web process, the worker,
the whole machine), to show which is the limit; BENCH_LATENCY_PYSPY=PREFIX records both
with py-spy (PREFIX.server.txt, PREFIX.worker.txt: collapsed stacks).

    python -m tests.benchmarks latency    # or: make bench BENCH=latency (BENCH_SCALE applies)
"""

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.benchmarks.bench_drain import _wait_until_drained
from tests.benchmarks.bench_webhooks import (
    Traffic,
    _database,
    _free_port,
    _prepare,
    server_environment,
    serving,
    wait_ready,
)
from tests.benchmarks.harness import (
    Context,
    Metric,
    cpu_seconds,
    in_scratch_folder,
    percentile,
    py_spy,
    py_spy_end,
)

FULL_SECONDS = 300
TARGET_P50_MS = 250
TARGET_P99_MS = 2000
CLIENTS = 32  # enough open requests for the offered rate at a few hundred ms each
AT_REST = 20


def run(ctx: Context) -> Iterator[Metric]:
    return in_scratch_folder("bench-latency-", lambda media: _run(ctx, media))


def _run(ctx: Context, media: str) -> Iterator[Metric]:
    rate = float(os.environ.get("BENCH_LATENCY_RATE", "200"))
    seconds = max(30.0, FULL_SECONDS * ctx.scale)
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = server_environment(media, port)
    env["HELPDESK_CUSTOMER_NOTICES"] = "1"
    _prepare(env, ctx)
    logs = Path(media) / "logs"
    logs.mkdir()
    with serving(env, port, logs) as (server, worker):
        wait_ready(base_url, server)
        traffic = Traffic(base_url, run=f"l{int(time.time())}")
        ctx.log(f"latency: {rate:.0f} webhooks/s offered for {seconds:.0f} s")
        sampler = _BacklogSampler(env)
        profiles = _profiles(server.pid, worker.pid)
        cpu_before, offered_at = _cpu(server.pid, worker.pid), time.perf_counter()
        with sampler:
            acked, errors = asyncio.run(_offer(traffic, rate, seconds))
        # Requests still open when the offer ends are waited for (up to their timeout).
        offer_span = time.perf_counter() - offered_at
        cpu = {k: v - cpu_before[k] for k, v in _cpu(server.pid, worker.pid).items()}
        for profiler in profiles:
            py_spy_end(profiler)
        settled = _wait_until_drained(env, limit=120.0)
        loaded = _latencies(env, acked)
        at_rest_acked, _ = asyncio.run(_offer(traffic, 1.0, AT_REST))
        _wait_until_drained(env, limit=30.0)
        at_rest = _latencies(env, at_rest_acked)
    done = len(loaded)
    ctx.log(
        f"latency: {len(acked)} acknowledged ({len(acked) / seconds:.0f}/s), {done} timed; "
        f"p50 {percentile(loaded, 0.5):.0f} ms, p99 {percentile(loaded, 0.99):.0f} ms"
    )
    yield Metric(
        "latency.visible_p50_ms",
        percentile(loaded, 0.5) if loaded else 0.0,
        "ms",
        done,
        {
            "target": TARGET_P50_MS,
            "p99_ms": round(percentile(loaded, 0.99), 1) if loaded else None,
            "p99_target": TARGET_P99_MS,
            "offered_per_second": rate,
            "acknowledged_per_second": round(len(acked) / seconds, 1),
            "request_errors": errors,
            "seconds": seconds,
            "backlog_max": max((n for _, n in sampler.samples), default=0),
            "backlog_at_end_of_load": sampler.samples[-1][1] if sampler.samples else 0,
            "backlog_last_minute_slope_per_s": round(sampler.slope(last=60.0), 2),
            "settled_seconds_after_load": round(settled, 1),
            # Where the two cores went while offered the load: each process's CPU over the
            # span (1.0: a whole core), and the web process's CPU per acknowledged webhook.
            "cpu_share": {k: round(v / offer_span, 2) for k, v in cpu.items()},
            "offer_span_seconds": round(offer_span, 1),
            "server_cpu_ms_per_acknowledged": round(1000 * cpu["server"] / max(1, len(acked)), 2),
        },
    )
    yield Metric(
        "latency.at_rest_p50_ms",
        percentile(at_rest, 0.5) if at_rest else 0.0,
        "ms",
        len(at_rest),
        {"target": TARGET_P50_MS, "max_ms": round(max(at_rest, default=0.0), 1)},
    )


def _cpu(server: int, worker: int) -> dict[str, float]:
    """CPU seconds so far: the web process, the worker (its pool too), the whole machine
    (from /proc/stat: everything else is PostgreSQL, Redis and the clients)."""
    # The "cpu" line: user nice system idle iowait irq softirq steal; busy is all but idle.
    fields = [int(n) for n in Path("/proc/stat").read_text().split()[1:9]]
    ticks = sum(fields) - fields[3] - fields[4]
    return {
        "server": cpu_seconds(server),
        "worker": cpu_seconds(worker, with_children=True),
        "machine": ticks / os.sysconf("SC_CLK_TCK"),
    }


def _profiles(server: int, worker: int) -> list[Any]:
    """BENCH_LATENCY_PYSPY=PREFIX: py-spy of the web process (PREFIX.server.txt) and of the
    worker with its pool (PREFIX.worker.txt) while the load is offered."""
    prefix = os.environ.get("BENCH_LATENCY_PYSPY")
    if not prefix:
        return []
    return [
        py_spy(server, f"{prefix}.server.txt"),
        py_spy(worker, f"{prefix}.worker.txt", subprocesses=True),
    ]


async def _offer(traffic: Traffic, rate: float, seconds: float) -> tuple[dict[str, float], int]:
    """Requests at `rate` a second for `seconds`; returns {key: acknowledged at (epoch s)}
    of the new ones answered 2xx, and how many failed."""
    import aiohttp

    acked: dict[str, float] = {}
    errors = 0
    pending: set[asyncio.Task[None]] = set()
    timeout = aiohttp.ClientTimeout(total=30)
    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:

        async def send() -> None:
            nonlocal errors
            kind, url, headers, body, _, key = traffic.next()
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    ok = 200 <= response.status < 300
            except Exception:
                ok = False
            if not ok:
                errors += 1
            elif not kind.endswith(" again"):
                acked.setdefault(key, time.time())

        started = time.perf_counter()
        sent = 0
        while (elapsed := time.perf_counter() - started) < seconds:
            due = int(elapsed * rate) + 1
            while sent < due:
                task = asyncio.create_task(send())
                pending.add(task)
                task.add_done_callback(pending.discard)
                sent += 1
            await asyncio.sleep(min(0.005, 1 / rate))
        if pending:
            await asyncio.gather(*pending)
    return acked, errors


def _latencies(env: dict[str, str], acked: dict[str, float]) -> list[float]:
    """Milliseconds from each acknowledgement to its item's processing."""
    if not acked:
        return []
    with _database(env) as connection:
        rows = connection.execute(
            "SELECT idempotency_key, extract(epoch FROM processed_at) "
            "FROM channels_ingest_inbounditem "
            "WHERE idempotency_key = ANY(%s) AND processed_at IS NOT NULL",
            [list(acked)],
        ).fetchall()
    return [max(0.0, (float(done) - acked[key]) * 1000) for key, done in rows if key in acked]


class _BacklogSampler:
    """Items waiting, every second, in a thread of its own."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "_BacklogSampler":
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        started = time.perf_counter()
        with _database(self.env) as connection:
            while not self._stop.wait(1.0):
                row = connection.execute(
                    "SELECT count(*) FROM channels_ingest_inbounditem WHERE status = 'received'"
                ).fetchone()
                self.samples.append((time.perf_counter() - started, int(row[0]) if row else 0))

    def slope(self, *, last: float) -> float:
        """Items a second the backlog grew by over the last `last` seconds (least squares)."""
        if not self.samples:
            return 0.0
        end = self.samples[-1][0]
        points = [(t, n) for t, n in self.samples if t >= end - last]
        if len(points) < 2:
            return 0.0
        mean_t = sum(t for t, _ in points) / len(points)
        mean_n = sum(n for _, n in points) / len(points)
        spread = sum((t - mean_t) ** 2 for t, _ in points)
        return sum((t - mean_t) * (n - mean_n) for t, n in points) / spread if spread else 0.0
