"""Inbound integrity under faults: nothing lost, nothing doubled, every reply on its
conversation, nothing stuck, and everything processed in bounded time after the last delivery.

The doors providers use, against real processes: 2,000 emails over anymail's Postmark
inbound webhook (400 of them answers, with In-Reply-To and References, to an earlier email
of the same sender, sometimes to an answer) and 500 Twilio texts from 150 numbers, signed as
the providers sign them, sent by 8 clients to uvicorn serving `helpdesk.asgi`; 10% are
delivered twice, half of those as two simultaneous requests. A Celery worker (two
processes, every queue) and beat (the sweeps every HELPDESK_INBOUND_SWEEP_SECONDS) process
them. Meanwhile, at random moments: the worker is SIGKILLed three times and started again,
Redis (a server of this benchmark's own, on its own port, keeping nothing on disk: broker,
cache and channel layer) is killed and started again once, and the web server is SIGKILLed
once and started again. Clients retry connection errors and 5xx with backoff, as providers
do. Then, when everything is processed (or 15 minutes have passed), the database is read:

- lost: deliveries acknowledged whose message is not on a ticket;
- doubled: messages stored more than once, or tickets told twice that we received them;
- misthreaded: answers not on the ticket of the email they answer (following merges), and
  texts of one number on more than one ticket;
- stuck: items still waiting, or failed;
- settle_seconds: from the last acknowledged delivery until the last item was processed,
  against the README's bound.

BENCH_SCALE shrinks the traffic (0.1: 200 emails). `BENCH_FAULT_RUNS` (default 1) runs it
that many times, each from an emptied database (`helpdesk_bench_faults`).
`BENCH_FAULT_SEED` changes the moments of the faults. `BENCH_KEEP_LOGS=1` keeps the
processes' logs (their folder is printed).
"""

import asyncio
import base64
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from tests.benchmarks.bench_ingest import create_database, sibling_url
from tests.benchmarks.bench_webhooks import wait_ready
from tests.benchmarks.harness import DEFAULT_DATABASE_URL, Context, Metric, scratch_folder
from tests.channels_ingest.sms.twilio_helpers import ACCOUNT_SID, OUR_NUMBER, sms_params
from tests.outages import OwnRedis, free_port

ROOT = Path(__file__).resolve().parents[2]
OWN_DATABASE = "helpdesk_bench_faults"
CLIENTS = 8
EMAILS, ANSWERS, TEXTS, NUMBERS = 2000, 400, 500, 150
TWICE_SHARE = 0.10
SECRET = "bench-faults:s3cr3t"
TWILIO_TOKEN = "bench-faults-twilio-token-0123456789"
SUPPORT = "support@localhost"
QUEUES = "default,ingest,recovery,tier0,tier1,tier2,tier3,sla,notify,rules,webhooks"
STALE_SECONDS = 60  # the defaults of HELPDESK_INBOUND_STALE_SECONDS ...
SWEEP_SECONDS = 30  # ... and HELPDESK_INBOUND_SWEEP_SECONDS
SETTLE_LIMIT_SECONDS = 900
WORKER_READY = b" ready."  # what a Celery worker logs once it takes tasks
_SWEEP_LOG = re.compile(
    r"Task channels_ingest\.sweep_inbound\[[^\]]+\] succeeded in ([\d.]+)s: (\d+)"
)


# --- What the providers send -------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    channel: str  # email | sms
    key: str  # Message-ID or MessageSid
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Traffic:
    deliveries: list[Delivery]
    answers: dict[str, str]  # answer's Message-ID -> the Message-ID it answers
    numbers: dict[str, str]  # MessageSid -> the number it came from
    jobs: list[list[Delivery]]  # in order; a job of two is sent as two simultaneous requests


def traffic(run: str, base_url: str, seed: int, scale: float = 1.0) -> Traffic:
    rng = random.Random(seed)
    email_count, answer_count = max(100, int(EMAILS * scale)), max(20, int(ANSWERS * scale))
    text_count = max(25, int(TEXTS * scale))
    auth = "Basic " + base64.b64encode(SECRET.encode()).decode()
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(TWILIO_TOKEN)
    start = datetime.now(UTC) - timedelta(hours=1)
    emails: list[tuple[str, str, str]] = []  # (Message-ID, sender, subject)
    chains: dict[str, list[str]] = {}  # Message-ID -> its References, oldest first
    answers: dict[str, str] = {}  # answer -> parent
    deliveries: list[Delivery] = []
    answer_slots = set(rng.sample(range(50, email_count), answer_count))
    for number in range(email_count):
        key = f"<{run}.{number}@mail.example>"
        if number in answer_slots:
            parent, sender, subject = rng.choice(emails[-60:])
            references = [*chains[parent], parent]
            answers[key] = parent
        else:
            sender, subject = f"c{rng.randrange(900)}.{run}@example.org", f"Case {number}"
            parent, references = "", []
        emails.append((key, sender, subject))
        chains[key] = references[-8:]
        when = start + timedelta(seconds=number)
        payload = _postmark(key, sender, subject, parent, references[-8:], when, number)
        deliveries.append(
            Delivery(
                "email",
                key,
                "/anymail/postmark/inbound/",
                {"Authorization": auth, "Content-Type": "application/json"},
                json.dumps(payload).encode(),
            )
        )
    phones = [f"+1415556{n:04d}" for n in range(NUMBERS)]
    numbers: dict[str, str] = {}
    for number in range(text_count):
        sid = f"SM{run}{number:010d}"
        numbers[sid] = rng.choice(phones)
        params = sms_params(sid, numbers[sid], f"The router keeps rebooting ({number})")
        path = "/inbound/sms/twilio/"
        headers = {
            "X-Twilio-Signature": validator.compute_signature(base_url + path, params),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        delivery = Delivery("sms", sid, path, headers, urlencode(params).encode())
        deliveries.insert(rng.randrange(len(deliveries) + 1), delivery)
    return Traffic(deliveries, answers, numbers, _jobs(deliveries, rng))


def _jobs(deliveries: list[Delivery], rng: random.Random) -> list[list[Delivery]]:
    """Each delivery once, in order; 10% twice: half as a simultaneous pair, half again
    a little later (a provider's retry after a lost acknowledgement)."""
    twice = rng.sample(range(len(deliveries)), int(len(deliveries) * TWICE_SHARE))
    pairs, later = set(twice[: len(twice) // 2]), twice[len(twice) // 2 :]
    jobs = [[d, d] if i in pairs else [d] for i, d in enumerate(deliveries)]
    for index in sorted(later, reverse=True):
        jobs.insert(min(len(jobs), index + 1 + rng.randrange(20, 200)), [deliveries[index]])
    return jobs


def _postmark(
    key: str,
    sender: str,
    subject: str,
    parent: str,
    references: list[str],
    when: datetime,
    number: int,
) -> dict[str, Any]:
    headers = [{"Name": "Message-ID", "Value": key}]
    if parent:
        headers.append({"Name": "In-Reply-To", "Value": parent})
        headers.append({"Name": "References", "Value": " ".join(references)})
    text = f"Hello,\n\nThe export to CSV still times out (note {number}).\n"
    return {
        "FromName": sender.split("@")[0],
        "From": sender,
        "FromFull": {"Email": sender, "Name": sender.split("@")[0], "MailboxHash": ""},
        "To": SUPPORT,
        "ToFull": [{"Email": SUPPORT, "Name": "", "MailboxHash": ""}],
        "Cc": "",
        "CcFull": [],
        "Subject": f"Re: {subject}" if parent else subject,
        "MessageID": key.strip("<>"),
        "Date": format_datetime(when),
        "TextBody": text,
        "HtmlBody": "",
        "StrippedTextReply": "",
        "Headers": headers,
        "Attachments": [],
    }


# --- The clients: every delivery until it is acknowledged ---------------------------------


@dataclass
class Sent:
    acknowledged: dict[tuple[str, str], float] = field(default_factory=dict)  # wall clock
    statuses: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    done_jobs: int = 0


async def _deliver(session: Any, base_url: str, delivery: Delivery, sent: Sent) -> None:
    """Post until a 2xx; connection errors, timeouts and 5xx are retried with backoff."""
    wait = 0.2
    while True:
        sent.requests += 1
        try:
            async with session.post(
                base_url + delivery.path, data=delivery.body, headers=delivery.headers
            ) as response:
                await response.read()
                status = response.status
        except Exception as error:
            sent.statuses[type(error).__name__] += 1
        else:
            sent.statuses[str(status)] += 1
            if 200 <= status < 300:
                sent.acknowledged[(delivery.channel, delivery.key)] = time.time()
                return
            if status < 500:
                raise RuntimeError(f"{delivery.path} answered {status}: a bug, not a fault")
        await asyncio.sleep(wait)
        wait = min(2.0, wait * 2)


async def _send_all(base_url: str, jobs: list[list[Delivery]], sent: Sent) -> None:
    import aiohttp

    queue: asyncio.Queue[list[Delivery]] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)

    async def client(session: Any) -> None:
        while not queue.empty():
            job = queue.get_nowait()
            await asyncio.gather(*(_deliver(session, base_url, d, sent) for d in job))
            sent.done_jobs += 1

    timeout = aiohttp.ClientTimeout(total=30)
    connector = aiohttp.TCPConnector(limit=CLIENTS * 2, force_close=False)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        await asyncio.gather(*(client(session) for _ in range(CLIENTS)))


# --- The processes and the faults --------------------------------------------------------


class Process:
    """A child process in a session of its own, so a SIGKILL takes its children too."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], logs: Path) -> None:
        self.name, self.command, self.env = name, command, env
        self.path = logs / f"{name}.log"
        self.log = self.path.open("ab")
        self.popen: subprocess.Popen[bytes] | None = None
        self.held_down = True  # killed on purpose (or not started): not to be restarted
        self.lock = threading.Lock()

    def start_until(self, ready: bytes, seconds: float = 90) -> None:
        """Start, and return once the log says `ready` once more (a worker takes seconds)."""
        before = self.path.read_bytes().count(ready)
        self.start()
        deadline = time.monotonic() + seconds
        while self.path.read_bytes().count(ready) <= before and time.monotonic() < deadline:
            time.sleep(0.1)

    def start(self) -> None:
        with self.lock:
            self.popen = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env=self.env,
                stdout=self.log,
                stderr=self.log,
                start_new_session=True,
            )
            self.held_down = False

    def kill(self) -> None:
        with self.lock:
            self.held_down = True
            if self.popen is not None and self.popen.poll() is None:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()

    def exited_by_itself(self) -> bool:
        with self.lock:
            return not self.held_down and self.popen is not None and self.popen.poll() is not None

    def stop(self) -> None:
        with self.lock:
            self.held_down = True
        if self.popen is not None and self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


class Supervisor(threading.Thread):
    """What runs the processes in production (compose's `restart: unless-stopped`): one
    that exits by itself is started again, and the time it was down is an outage too."""

    def __init__(self, processes: list[Process], outages: list["Outage"]) -> None:
        super().__init__(daemon=True)
        self.processes, self.outages = processes, outages
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.3):
            for process in self.processes:
                if process.exited_by_itself():
                    outage = Outage(f"{process.name} exited by itself", time.monotonic())
                    self.outages.append(outage)
                    if process.name == "worker":
                        process.start_until(WORKER_READY)
                    else:
                        process.start()
                    outage.back = time.monotonic()


@dataclass
class Fault:
    """Something killed when a share of the deliveries (`on` "delivered") or of the items
    (`on` "processed") is done, and started again `down_seconds` later."""

    on: str
    at_share: float
    name: str
    action: Callable[[], None]
    down_seconds: float
    recover: Callable[[], None]


class Progress:
    """Shares of the deliveries acknowledged and of the items processed, as they go."""

    def __init__(self, env: dict[str, str], sent: Sent, jobs: int, items: int) -> None:
        self.env, self.sent, self.jobs, self.items = env, sent, jobs, items
        self.processed = 0.0
        self.started = time.monotonic()

    def share(self, on: str) -> float:
        return self.sent.done_jobs / self.jobs if on == "delivered" else self.processed

    async def follow(self, until: Callable[[], bool]) -> None:
        """Read the processed share twice a second until `until()`."""
        while not until():
            done = await asyncio.to_thread(_count, self.env, _PROCESSED_SQL)
            self.processed = done / self.items
            await asyncio.sleep(0.5)


_PROCESSED_SQL = "SELECT count(*) FROM channels_ingest_inbounditem WHERE status <> 'received'"
_WAITING_SQL = "SELECT count(*) FROM channels_ingest_inbounditem WHERE status = 'received'"


@dataclass
class Outage:
    name: str
    down: float  # monotonic
    back: float = 0.0


async def _inject(fault: Fault, progress: Progress, outages: list[Outage]) -> None:
    while progress.share(fault.on) < fault.at_share:
        await asyncio.sleep(0.05)
    await asyncio.to_thread(fault.action)
    outage = Outage(fault.name, time.monotonic())
    outages.append(outage)
    await asyncio.sleep(fault.down_seconds)
    await asyncio.to_thread(fault.recover)
    outage.back = time.monotonic()


def _timeline(outages: list[Outage], started: float) -> list[str]:
    return [
        f"{o.name} {o.down - started:.1f}-{o.back - started:.1f}s"
        for o in sorted(outages, key=lambda o: o.down)
    ]


def _worker_down_after(outages: list[Outage], moment: float) -> float:
    """Seconds the worker was down (until it was ready again) after `moment`."""
    return sum(
        max(0.0, o.back - max(o.down, moment)) for o in outages if o.name.startswith("worker")
    )


# --- The benchmark -----------------------------------------------------------------------


def run(ctx: Context) -> Iterator[Metric]:
    runs = int(os.environ.get("BENCH_FAULT_RUNS", "1"))
    seed = int(os.environ.get("BENCH_FAULT_SEED", "18"))
    for number in range(runs):
        folder = scratch_folder("bench-faults-")
        try:
            yield from _one_run(ctx, folder, seed + number, number + 1)
        finally:
            if os.environ.get("BENCH_KEEP_LOGS") == "1":
                ctx.log(f"faults: logs kept in {folder}/logs")
            else:
                shutil.rmtree(folder, ignore_errors=True)


def _environment(folder: str, redis: OwnRedis, port: int) -> dict[str, str]:
    database_url = sibling_url(
        os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL), OWN_DATABASE
    )
    create_database(database_url)
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis.url,
        "DATABASE_POOL": "1",
        "DEBUG": "0",
        "DATA_DIR": folder,
        "MEDIA_ROOT": os.path.join(folder, "media"),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "ANYMAIL_WEBHOOK_SECRET": SECRET,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_FROM_NUMBER": OUR_NUMBER,
        "HELPDESK_SUPPORT_ADDRESS": SUPPORT,
        "HELPDESK_CUSTOMER_NOTICES": "1",  # the default: the path that once lost a message
        "HELPDESK_INBOUND_STALE_SECONDS": str(STALE_SECONDS),
        "HELPDESK_INBOUND_SWEEP_SECONDS": str(SWEEP_SECONDS),
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "SMS_BACKEND": "locmem",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings",
    }


def _prepare(env: dict[str, str]) -> None:
    import psycopg

    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as connection:
        connection.execute(
            "TRUNCATE channels_ingest_inbounditem, tickets_customer, tickets_notification "
            "RESTART IDENTITY CASCADE"
        )


def _one_run(ctx: Context, folder: str, seed: int, number: int) -> Iterator[Metric]:
    logs = Path(folder) / "logs"
    logs.mkdir()
    redis = OwnRedis()
    redis.start()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = _environment(folder, redis, port)
    _prepare(env)
    python = sys.executable
    web = Process(
        "web",
        [python, "-m", "uvicorn", "helpdesk.asgi:application", "--host", "127.0.0.1",
         "--port", str(port), "--no-access-log", "--log-level", "warning"],
        env, logs,
    )  # fmt: skip
    worker = Process(
        "worker",
        [python, "-m", "celery", "--app", "helpdesk", "worker", "--concurrency", "2",
         "--queues", QUEUES, "--loglevel", "INFO", "--without-gossip", "--without-mingle",
         "--without-heartbeat"],
        env, logs,
    )  # fmt: skip
    beat = Process(
        "beat",
        [python, "-m", "celery", "--app", "helpdesk", "beat", "--loglevel", "INFO",
         "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler"],
        env, logs,
    )  # fmt: skip
    processes = [web, worker, beat]
    outages: list[Outage] = []
    supervisor = Supervisor(processes, outages)
    try:
        for process in processes:
            process.start()
        wait_ready(base_url, web.popen)
        supervisor.start()
        yield from _measure(ctx, env, base_url, seed, number, web, worker, redis, outages)
    finally:
        supervisor.stopped.set()
        supervisor.join()
        for process in processes:
            process.stop()
        redis.stop()


def _faults(rng: random.Random, web: Process, worker: Process, redis: OwnRedis) -> list[Fault]:
    """The worker killed three times while items are processed; Redis and the web server
    once each while deliveries come in (Redis takes the queued tasks with it)."""
    kills = [(0.05, 0.3), (0.35, 0.6), (0.65, 0.9)]
    return [
        *(
            Fault("processed", rng.uniform(low, high), f"worker kill {n + 1}", worker.kill,
                  rng.uniform(1, 4), lambda: worker.start_until(WORKER_READY))
            for n, (low, high) in enumerate(kills)
        ),
        Fault("delivered", rng.uniform(0.3, 0.8), "redis kill", redis.stop, rng.uniform(3, 8),
              redis.start),
        Fault("delivered", rng.uniform(0.2, 0.9), "web kill", web.kill, rng.uniform(0.2, 1),
              web.start),
    ]  # fmt: skip


def _measure(
    ctx: Context,
    env: dict[str, str],
    base_url: str,
    seed: int,
    number: int,
    web: Process,
    worker: Process,
    redis: OwnRedis,
    outages: list["Outage"],
) -> Iterator[Metric]:
    rng = random.Random(seed)
    plan = traffic(f"f{seed}x{int(time.time())}", base_url, seed, ctx.scale)
    sent = Sent()
    faults = _faults(rng, web, worker, redis)
    progress = Progress(env, sent, len(plan.jobs), len(plan.deliveries))
    ctx.log(
        f"faults run {number}: {len(plan.deliveries)} items, {len(plan.jobs)} jobs, "
        f"{CLIENTS} clients; " + ", ".join(f"{f.name} at {f.at_share:.0%} {f.on}" for f in faults)
    )
    delivered_at: list[float] = []
    waiting: list[int] = []  # items not processed when the last delivery was acknowledged

    async def deliver_under_faults() -> None:
        async def deliver() -> None:
            await _send_all(base_url, plan.jobs, sent)
            delivered_at.append(time.monotonic())
            waiting.append(await asyncio.to_thread(_count, env, _WAITING_SQL))

        faulting = [asyncio.create_task(_inject(f, progress, outages)) for f in faults]
        following = asyncio.create_task(progress.follow(lambda: all(f.done() for f in faulting)))
        await deliver()
        await asyncio.wait_for(asyncio.gather(*faulting, following), SETTLE_LIMIT_SECONDS)

    started = time.monotonic()
    asyncio.run(deliver_under_faults())
    delivered = delivered_at[0]
    last_ack = max(sent.acknowledged.values())
    waiting_at_end = waiting[0]
    ctx.log(
        f"faults run {number}: delivered in {delivered - started:.0f} s, {sent.requests} "
        f"requests {dict(sent.statuses)}; faults {'; '.join(_timeline(outages, started))}"
    )
    settled = _wait_processed(env, delivered, ctx)
    counts = _verify(env, plan, sent)
    sweeps = _sweep_rate(worker.path)
    settle_seconds = _settle_seconds(env, last_ack)
    # The README's bound: the stale threshold and one sweep interval, the time to process
    # in batches what was waiting, and the time a worker was down meanwhile (what it held
    # is swept when it, or another, starts).
    worker_down = _worker_down_after(outages, delivered)
    bound = STALE_SECONDS + SWEEP_SECONDS + worker_down
    bound += waiting_at_end / sweeps if sweeps else 0.0
    common = {"run": number, "seed": seed, "items": len(plan.deliveries)}
    for name in ("lost", "doubled", "misthreaded", "stuck"):
        yield Metric(f"faults.{name}", counts[name], "items", len(plan.deliveries),
                     {**common, **counts["detail"].get(name, {})})  # fmt: skip
    yield Metric(
        "faults.settle_seconds",
        settle_seconds,
        "s",
        len(plan.deliveries),
        {
            **common,
            "settled": settled,
            "bound_seconds": round(bound, 1),
            "within_bound": settled and settle_seconds <= bound,
            "waiting_at_last_delivery": waiting_at_end,
            "sweep_items_per_second": round(sweeps, 1),
            "delivery_seconds": round(delivered - started, 1),
            "requests": sent.requests,
            "answers": dict(sent.statuses),
            "faults": _timeline(outages, started),
            "worker_down_after_last_delivery_seconds": round(worker_down, 1),
            "max_item_latency_seconds": counts["max_latency"],
            "notices": counts["notices"],
        },
    )


def _count(env: dict[str, str], sql: str) -> int:
    import psycopg

    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as connection:
        return int(connection.execute(sql).fetchone()[0])  # type: ignore[index]


def _wait_processed(env: dict[str, str], since: float, ctx: Context) -> bool:
    """Until no item waits (or the limit): True when all were processed in time."""
    while time.monotonic() - since < SETTLE_LIMIT_SECONDS:
        if not _count(env, _WAITING_SQL):
            return True
        time.sleep(2)
    ctx.log("faults: items still waiting after the limit")
    return False


def _settle_seconds(env: dict[str, str], last_ack: float) -> float:
    """From the last acknowledged delivery to the last item processed, in seconds (the
    database server runs on this machine: one clock)."""
    import psycopg

    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as connection:
        row = connection.execute(
            "SELECT extract(epoch FROM max(processed_at)) FROM channels_ingest_inbounditem"
        ).fetchone()
    return max(0.0, float(row[0] or 0) - last_ack)  # type: ignore[index]


def _sweep_rate(log: Path) -> float:
    """Items a second the inbound sweeps processed, from the worker's log."""
    seconds = items = 0.0
    for took, count in _SWEEP_LOG.findall(log.read_text(errors="replace")):
        if int(count):
            seconds += float(took)
            items += int(count)
    return items / seconds if seconds else 0.0


def _verify(env: dict[str, str], plan: Traffic, sent: Sent) -> dict[str, Any]:
    import psycopg

    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as connection:
        items = {
            (channel, key): (status, message)
            for channel, key, status, message in connection.execute(
                "SELECT channel, idempotency_key, status, message_id "
                "FROM channels_ingest_inbounditem"
            )
        }
        tickets = {
            (channel, key): ticket
            for channel, key, ticket in connection.execute(
                # Each message's ticket, following merges to the ticket it ended on.
                "WITH RECURSIVE final(id, target) AS ("
                "  SELECT id, id FROM tickets_ticket WHERE merged_into_id IS NULL"
                "  UNION ALL SELECT t.id, f.target FROM tickets_ticket t"
                "  JOIN final f ON t.merged_into_id = f.id) "
                "SELECT m.channel, m.external_id, f.target FROM tickets_message m "
                "JOIN final f ON f.id = m.ticket_id WHERE m.kind = 'inbound'"
            )
        }
        stored_twice = connection.execute(
            "SELECT count(*) - count(DISTINCT (channel, external_id)) FROM tickets_message "
            "WHERE kind = 'inbound'"
        ).fetchone()[0]  # type: ignore[index]
        told_twice = connection.execute(
            "SELECT count(*) FROM (SELECT ticket_id FROM tickets_message WHERE is_automatic "
            "AND kind = 'outbound' AND subject LIKE 'We received%%' GROUP BY ticket_id "
            "HAVING count(*) > 1) AS twice"
        ).fetchone()[0]  # type: ignore[index]
        notices: dict[str, int] = dict(
            connection.execute(
                "SELECT delivery_status, count(*) FROM tickets_message "
                "WHERE is_automatic AND kind = 'outbound' GROUP BY 1"
            ).fetchall()
        )
        latency = connection.execute(
            "SELECT extract(epoch FROM max(processed_at - received_at)) "
            "FROM channels_ingest_inbounditem"
        ).fetchone()[0]  # type: ignore[index]
    acknowledged = set(sent.acknowledged)
    lost = sorted(key for key in acknowledged if key not in tickets)
    stuck = Counter(status for status, _ in items.values() if status in ("received", "failed"))
    misthreaded_answers = [
        answer
        for answer, parent in plan.answers.items()
        if ("email", answer) in tickets
        and ("email", parent) in tickets
        and tickets[("email", answer)] != tickets[("email", parent)]
    ]
    by_number: dict[str, set[int]] = {}
    for sid, phone in plan.numbers.items():
        if ("sms", sid) in tickets:
            by_number.setdefault(phone, set()).add(tickets[("sms", sid)])
    split_texts = sum(len(found) - 1 for found in by_number.values())
    return {
        "lost": len(lost),
        "doubled": int(stored_twice) + int(told_twice),
        "misthreaded": len(misthreaded_answers) + split_texts,
        "stuck": sum(stuck.values()),
        "max_latency": round(float(latency or 0), 1),
        "notices": notices,
        "detail": {
            "lost": {"acknowledged": len(acknowledged), "examples": lost[:5]},
            "doubled": {"messages_stored_twice": stored_twice, "tickets_told_twice": told_twice},
            "misthreaded": {
                "answers_off_their_conversation": len(misthreaded_answers),
                "of_answers": len(plan.answers),
                "texts_on_a_second_ticket": split_texts,
                "examples": misthreaded_answers[:5],
            },
            "stuck": dict(stuck),
        },
    }
