"""Webhook ingestion over HTTP: signed provider requests against the real ASGI server.

uvicorn serves `helpdesk.asgi:application` in its own process, with production-like settings
(DEBUG off, the psycopg connection pool, Redis); a Celery worker (one process, the `ingest`
queue, at a lower CPU priority) processes what the requests stored. Sixteen clients post at
once, for five minutes at scale 1: Mailgun raw MIME and Postmark JSON through anymail's
inbound webhooks, and Twilio SMS, each signed as the provider signs it; about 1% are
redeliveries of a request already answered. Then every stored payload and every processed
message is counted against what was sent, and the web process's RSS (sampled each second) is
reported.

Like the ingestion benchmark it uses its own database (`helpdesk_bench_ingest`, emptied
first), Redis database and media folder.
"""

import asyncio
import base64
import hashlib
import hmac
import json
import os
import random
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from tests.benchmarks.bench_ingest import OWN_DATABASE, child_environment, generate_mail
from tests.benchmarks.harness import Context, Metric, cpu_seconds, in_scratch_folder, percentile

CLIENTS = 16
FULL_SECONDS = 300
TARGET_PER_SECOND = 200
TARGET_RSS_MB = 300
SECRET = "bench-hooks:s3cr3t"
SIGNING_KEY = "key-bench-mailgun-signing"
TWILIO_TOKEN = "bench-twilio-auth-token-0123456789"
ACCOUNT_SID = "AC" + "7" * 32
OUR_NUMBER = "+14155559999"
SUPPORT = "support@localhost"
REDELIVERY_SHARE = 0.01
ROOT = Path(__file__).resolve().parents[2]
_MESSAGE_ID = re.compile(rb"^Message-ID: (<[^>\r\n]+>)", re.MULTILINE)


# --- Requests, as the providers send them ----------------------------------------------------


@dataclass
class Sent:
    """What the clients sent: unique keys by channel, outcomes, latencies."""

    keys: dict[str, set[str]] = field(default_factory=lambda: {"email": set(), "sms": set()})
    by_kind: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    requests: int = 0


def _mailgun_signed(body: bytes) -> bytes:
    """A Mailgun form post with a fresh signature: the time now and a random token."""
    fields = dict(parse_qsl(body.decode(), keep_blank_values=True))
    fields["timestamp"], fields["token"] = str(int(time.time())), secrets.token_hex(25)
    fields["signature"] = hmac.new(
        SIGNING_KEY.encode(), (fields["timestamp"] + fields["token"]).encode(), hashlib.sha256
    ).hexdigest()
    return urlencode(fields).encode()


class Traffic:
    """An endless, deterministic mix: 40% Mailgun raw MIME, 20% Postmark JSON, 40% SMS."""

    def __init__(self, base_url: str, run: str) -> None:
        self.base_url = base_url
        self.run = run
        self.rng = random.Random(17)
        self.number = 0
        self.mail = generate_mail(2000, run=run, support=SUPPORT, seed=23).messages
        self.phones = [f"+1415555{n:04d}" for n in range(100, 1100)]
        self.sent: list[tuple[str, str, dict[str, str], bytes, str, str]] = []
        self.auth = "Basic " + base64.b64encode(SECRET.encode()).decode()
        from twilio.request_validator import RequestValidator

        self.validator = RequestValidator(TWILIO_TOKEN)

    def next(self) -> tuple[str, str, dict[str, str], bytes, str, str]:
        """(kind, url, headers, body, channel, key) of the next request."""
        if self.sent and self.rng.random() < REDELIVERY_SHARE:
            kind, url, headers, body, channel, key = self.rng.choice(self.sent[-500:])
            if kind == "mailgun":  # Mailgun signs each delivery; a signature is taken once
                body = _mailgun_signed(body)
            return f"{kind} again", url, headers, body, channel, key
        self.number += 1
        draw = self.rng.random()
        if draw < 0.4:
            request = self._mailgun()
        elif draw < 0.6:
            request = self._postmark()
        else:
            request = self._sms()
        self.sent.append(request)
        if len(self.sent) > 1000:
            del self.sent[:500]
        return request

    def _mailgun(self) -> tuple[str, str, dict[str, str], bytes, str, str]:
        lap, index = divmod(self.number, len(self.mail))
        raw = self.mail[index]
        if lap:  # each message once: later laps get their own Message-IDs (and threads)
            raw = raw.replace(f"<{self.run}.".encode(), f"<{self.run}L{lap}.".encode())
        key = _MESSAGE_ID.search(raw).group(1).decode()  # type: ignore[union-attr]
        body = urlencode(
            {
                "recipient": SUPPORT,
                "sender": "customer@example.com",
                "subject": "(see body-mime)",
                "body-mime": raw.decode("utf-8"),
            }
        ).encode()
        body = _mailgun_signed(body)
        headers = {
            "Authorization": self.auth,
            "Content-Type": "application/x-www-form-urlencoded",
        }
        url = f"{self.base_url}/anymail/mailgun/inbound_mime/"
        return "mailgun", url, headers, body, "email", key

    def _postmark(self) -> tuple[str, str, dict[str, str], bytes, str, str]:
        person = f"pm{self.number % 700}"
        key = f"<{self.run}.pm.{self.number}@mail.example>"
        text = f"Hello,\n\nThe export to CSV times out since Monday (case {self.number}).\n"
        payload = {
            "FromName": f"Customer {person}",
            "MessageStream": "inbound",
            "From": f"{person}@example.org",
            "FromFull": {"Email": f"{person}@example.org", "Name": person, "MailboxHash": ""},
            "To": SUPPORT,
            "ToFull": [{"Email": SUPPORT, "Name": "", "MailboxHash": ""}],
            "Cc": "",
            "CcFull": [],
            "Subject": f"Export times out ({self.number})",
            "MessageID": f"{self.run}-{self.number}",
            "Date": time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()),
            "TextBody": text,
            "HtmlBody": f"<p>{text}</p>",
            "StrippedTextReply": "",
            "Headers": [{"Name": "Message-ID", "Value": key}],
            "Attachments": [],
        }
        headers = {"Authorization": self.auth, "Content-Type": "application/json"}
        url = f"{self.base_url}/anymail/postmark/inbound/"
        return "postmark", url, headers, json.dumps(payload).encode(), "email", key

    def _sms(self) -> tuple[str, str, dict[str, str], bytes, str, str]:
        from urllib.parse import urlencode

        sid = f"SM{self.run}{self.number:012d}"
        params = {
            "ToCountry": "US",
            "SmsMessageSid": sid,
            "NumMedia": "0",
            "SmsSid": sid,
            "SmsStatus": "received",
            "Body": f"My router keeps rebooting, ticket for order {self.number}?",
            "FromCountry": "US",
            "To": OUR_NUMBER,
            "NumSegments": "1",
            "MessageSid": sid,
            "AccountSid": ACCOUNT_SID,
            "From": self.rng.choice(self.phones),
            "ApiVersion": "2010-04-01",
        }
        path = "/inbound/sms/twilio/"
        signature = self.validator.compute_signature(self.base_url + path, params)
        headers = {
            "X-Twilio-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
        }
        return "twilio", self.base_url + path, headers, urlencode(params).encode(), "sms", sid


async def _client(session: Any, traffic: Traffic, sent: Sent, until: float) -> None:
    while time.perf_counter() < until:
        kind, url, headers, body, channel, key = traffic.next()
        started = time.perf_counter()
        try:
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                status = response.status
        except Exception as error:  # counted, never fatal: the run goes on
            sent.errors[type(error).__name__] += 1
            continue
        sent.latencies_ms.append((time.perf_counter() - started) * 1000)
        sent.requests += 1
        sent.by_kind[kind] += 1
        sent.statuses[status] += 1
        if 200 <= status < 300:
            sent.keys[channel].add(key)
        else:
            sent.errors[f"HTTP {status}"] += 1


async def load(traffic: Traffic, seconds: float, clients: int = CLIENTS) -> Sent:
    import aiohttp

    sent = Sent()
    timeout = aiohttp.ClientTimeout(total=30)
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        until = time.perf_counter() + seconds
        await asyncio.gather(*(_client(session, traffic, sent, until) for _ in range(clients)))
    return sent


EMPTY_REQUESTS = 2000


async def empty_requests(base_url: str, count: int, clients: int = CLIENTS) -> int:
    """`count` GETs of a page that does not exist, from `clients` at once: what every request
    costs the web process before any view's work (the ASGI server, the thread it is handed
    to, the middleware, a 404). Returns how many were answered 404."""
    import aiohttp

    answered = 0
    remaining = iter(range(count))

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal answered
        for _ in remaining:
            async with session.get(f"{base_url}/bench-no-such-page") as response:
                await response.read()
                answered += response.status == 404

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(client(session) for _ in range(clients)))
    return answered


# --- Processes -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_environment(media: str, port: int) -> dict[str, str]:
    env = child_environment(media)
    env.update(
        {
            "DATABASE_URL": env["BENCH_DATABASE_URL"],
            "REDIS_URL": env["BENCH_REDIS_URL"],
            "DATABASE_POOL": "1",
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "ANYMAIL_WEBHOOK_SECRET": SECRET,
            "ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY,
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_FROM_NUMBER": OUR_NUMBER,
            "HELPDESK_SUPPORT_ADDRESS": SUPPORT,
            "DJANGO_SETTINGS_MODULE": "helpdesk.settings",
        }
    )
    for name in ("SECRET_KEY", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE"):
        env.setdefault(name, os.environ.get(name, ""))
    env["SECRET_KEY"] = env["SECRET_KEY"] or "bench-only-secret-key-not-for-production-0123456789"
    env["SECURE_SSL_REDIRECT"] = "0"
    return env


def _database(env: dict[str, str]) -> Any:
    import psycopg

    return psycopg.connect(env["DATABASE_URL"], autocommit=True)


def _prepare(env: dict[str, str], ctx: Context) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    with _database(env) as connection:
        connection.execute(
            "TRUNCATE channels_ingest_inbounditem, tickets_customer, tickets_notification "
            "RESTART IDENTITY CASCADE"
        )
    _purge(env)
    ctx.log(f"webhooks: database {OWN_DATABASE} emptied")


def _purge(env: dict[str, str]) -> None:
    code = "import django; django.setup(); from helpdesk.celery import app; app.control.purge()"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)


def wait_ready(base_url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    import urllib.request

    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not answer /healthz in time")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class RssSampler:
    def __init__(self, pid: int, every: float = 1.0) -> None:
        self.pid, self.every = pid, every
        self.samples: list[tuple[float, float]] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        started = time.perf_counter()
        while not self.stopped.is_set():
            self.samples.append((time.perf_counter() - started, rss_mb(self.pid)))
            self.stopped.wait(self.every)

    def __enter__(self) -> "RssSampler":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join()

    def slope_mb_per_minute(self, *, after: float = 0.0) -> float:
        points = [(t, m) for t, m in self.samples if t >= after]
        if len(points) < 2:
            return 0.0
        mean_t = sum(t for t, _ in points) / len(points)
        mean_m = sum(m for _, m in points) / len(points)
        spread = sum((t - mean_t) ** 2 for t, _ in points)
        if not spread:
            return 0.0
        return 60 * sum((t - mean_t) * (m - mean_m) for t, m in points) / spread


def _nice() -> None:
    os.nice(10)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _counts(env: dict[str, str]) -> dict[str, int]:
    """Items by channel and status, and the messages they made: one statement, one snapshot
    (the worker may still be processing)."""
    with _database(env) as connection:
        row = connection.execute(
            """SELECT
                (SELECT json_object_agg(key, n) FROM (
                    SELECT channel || ':' || status AS key, count(*) AS n
                    FROM channels_ingest_inbounditem GROUP BY 1) AS items),
                (SELECT count(*) FROM tickets_message WHERE kind = 'inbound'),
                (SELECT count(DISTINCT message_id) FROM channels_ingest_inbounditem
                 WHERE status = 'processed' AND message_id IS NOT NULL),
                (SELECT count(*) FROM tickets_ticket)"""
        ).fetchone()
    found: dict[str, int] = dict(row[0] or {})
    found["messages"], found["message_items"], found["tickets"] = row[1], row[2], row[3]
    return found


def _stored_keys(env: dict[str, str]) -> dict[str, set[str]]:
    with _database(env) as connection:
        rows = connection.execute(
            "SELECT channel, idempotency_key FROM channels_ingest_inbounditem"
        ).fetchall()
    keys: dict[str, set[str]] = {"email": set(), "sms": set()}
    for channel, key in rows:
        keys.setdefault(channel, set()).add(key)
    return keys


def _waiting(env: dict[str, str]) -> int:
    with _database(env) as connection:
        return int(
            connection.execute(
                "SELECT count(*) FROM channels_ingest_inbounditem WHERE status = 'received'"
            ).fetchone()[0]
        )


# --- The benchmark -------------------------------------------------------------------------


def run(ctx: Context) -> Iterator[Metric]:
    return in_scratch_folder("bench-webhooks-", lambda media: _serve_and_measure(ctx, media))


def server_command(port: int | str) -> list[str]:
    """The web process: uvicorn serving the ASGI app, quiet."""
    return [
        sys.executable, "-m", "uvicorn", "helpdesk.asgi:application", "--host", "127.0.0.1",
        "--port", str(port), "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip


def ingest_worker_command(concurrency: int = 1) -> list[str]:
    """A Celery worker on the `ingest` queue with `concurrency` processes, quiet."""
    return [
        sys.executable, "-m", "celery", "--app", "helpdesk", "worker",
        "--concurrency", str(concurrency), "--queues", "ingest", "--loglevel", "WARNING",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip


@contextmanager
def serving(
    env: dict[str, str], port: int, logs: Path
) -> Iterator[tuple[subprocess.Popen[bytes], subprocess.Popen[bytes]]]:
    """The web process and one ingest worker, logging into `logs`, until the block ends;
    then both stopped and the queues purged (the routing tasks nobody here consumes)."""
    with (logs / "server.log").open("wb") as server_log, (logs / "worker.log").open("wb") as w_log:
        server = subprocess.Popen(
            server_command(port), cwd=ROOT, env=env, stdout=server_log, stderr=server_log
        )
        # The worker has the CPU the web process leaves (nice 10): on two cores shared with
        # PostgreSQL and the clients, this stands in for the worker's own machine.
        worker = subprocess.Popen(
            ingest_worker_command(), cwd=ROOT, env=env, stdout=w_log, stderr=w_log,
            preexec_fn=_nice,
        )  # fmt: skip
        try:
            yield server, worker
        finally:
            _stop(server)
            _stop(worker)
            _purge(env)


def _serve_and_measure(ctx: Context, media: str) -> Iterator[Metric]:
    seconds = max(30.0, FULL_SECONDS * ctx.scale)
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = server_environment(media, port)
    _prepare(env, ctx)
    logs = Path(media) / "logs"
    logs.mkdir()
    try:
        with serving(env, port, logs) as (server, _worker):
            yield from _measure(ctx, env, base_url, server, seconds)
    finally:
        for name in ("server.log", "worker.log"):
            text = (logs / name).read_bytes().decode(errors="replace")
            if "Traceback" in text or "ERROR" in text:
                ctx.log(f"webhooks: {name} has errors; it ends with:\n{text[-3000:]}")


def _measure(
    ctx: Context,
    env: dict[str, str],
    base_url: str,
    server: subprocess.Popen[bytes],
    seconds: float,
) -> Iterator[Metric]:
    wait_ready(base_url, server)
    traffic = Traffic(base_url, run=f"w{int(time.time())}")
    warm = asyncio.run(load(traffic, 5.0))
    ctx.log(f"webhooks: warm-up {warm.requests} requests, errors {dict(warm.errors)}")
    # The floor: an empty request's CPU in the web process, measured on the same server.
    cpu, started = cpu_seconds(server.pid), time.perf_counter()
    answered = asyncio.run(empty_requests(base_url, EMPTY_REQUESTS))
    empty_took, empty_cpu = time.perf_counter() - started, cpu_seconds(server.pid) - cpu
    ctx.log(f"webhooks: {answered} empty requests at {answered / empty_took:.0f}/s")
    ctx.log(f"webhooks: {CLIENTS} clients for {seconds:.0f} s against {base_url}")
    load_before, cpu = os.getloadavg()[0], cpu_seconds(server.pid)
    with RssSampler(server.pid) as rss:
        started = time.perf_counter()
        sent = asyncio.run(load(traffic, seconds))
        took = time.perf_counter() - started
    cpu = cpu_seconds(server.pid) - cpu
    rate = sent.requests / took
    processed_during = _counts(env)
    ctx.log(f"webhooks: {sent.requests} requests, {rate:.0f}/s, errors {dict(sent.errors)}")

    # What the worker did not finish in a minute is reported as still waiting: its rate is
    # known by then, and waiting longer would only lengthen `make bench`.
    drain_limit = 60.0
    drain_started = time.perf_counter()
    waiting = _waiting(env)
    while waiting and time.perf_counter() - drain_started < drain_limit:
        time.sleep(2)
        waiting = _waiting(env)
    drained = time.perf_counter() - drain_started
    counts = _counts(env)
    stored = _stored_keys(env)
    expected = {channel: warm.keys[channel] | sent.keys[channel] for channel in ("email", "sms")}
    missing = sum(len(expected[c] - stored.get(c, set())) for c in expected)
    unexpected = sum(len(stored.get(c, set()) - expected[c]) for c in expected)
    items = sum(v for k, v in counts.items() if ":" in k)
    processed = sum(v for k, v in counts.items() if k.endswith(":processed"))
    ctx.log(f"webhooks: stored {items}, processed {processed}, waiting {waiting}; {counts}")

    first_minute = min(60.0, seconds / 5)
    start_mb = next((m for t, m in rss.samples if t >= first_minute), rss.samples[0][1])
    yield Metric(
        "webhooks.requests_per_second",
        rate,
        "requests/s",
        sent.requests,
        {
            "target": TARGET_PER_SECOND,
            "clients": CLIENTS,
            "seconds": round(took, 1),
            "errors": sum(sent.errors.values()),
            "error_kinds": dict(sent.errors),
            "by_kind": dict(sent.by_kind),
            "p50_ms": round(percentile(sent.latencies_ms, 0.5), 1),
            "p99_ms": round(percentile(sent.latencies_ms, 0.99), 1),
            # The web process's CPU per request: less sensitive than the rate to whatever
            # else the machine runs (the worker, the clients, PostgreSQL, other benchmarks).
            "server_cpu_ms_per_request": round(1000 * cpu / max(1, sent.requests), 2),
            "server_cpu_share": round(cpu / took, 2),
            "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        },
    )
    yield Metric(
        "webhooks.stored_exactly_once",
        float(missing == 0 and unexpected == 0 and items == sum(len(v) for v in expected.values())),
        "bool",
        items,
        {
            "unique_sent": sum(len(v) for v in expected.values()),
            "stored_items": items,
            "missing": missing,
            "unexpected": unexpected,
        },
    )
    yield Metric(
        "webhooks.processed",
        processed,
        "messages",
        items,
        {
            "processed_during_load": sum(
                v for k, v in processed_during.items() if k.endswith(":processed")
            ),
            "still_waiting": waiting,
            "drain_seconds": round(drained, 1),
            "worker_rate_per_second": round(
                processed / (took + drained) if took + drained else 0.0, 1
            ),
            "messages_stored": counts["messages"],
            "messages_once": counts["messages"] == counts["message_items"],
            "tickets": counts["tickets"],
            "statuses": {k: v for k, v in counts.items() if ":" in k},
        },
    )
    yield Metric(
        "webhooks.empty_request_cpu_ms",
        1000 * empty_cpu / max(1, answered),
        "ms",
        answered,
        {
            "note": "the web process's CPU for a request that does nothing (a 404): its "
            "ceiling is 1000 / this requests/s on a core of its own",
            "requests_per_second": round(answered / empty_took, 1),
            "webhook_cpu_ms": round(1000 * cpu / max(1, sent.requests), 2),
        },
    )
    peak = max(m for _, m in rss.samples)
    yield Metric(
        "webhooks.web_rss_mb",
        rss.samples[-1][1],
        "MB",
        len(rss.samples),
        {
            "target": TARGET_RSS_MB,
            "start_mb": round(start_mb, 1),
            "max_mb": round(peak, 1),
            "slope_mb_per_minute": round(rss.slope_mb_per_minute(after=first_minute), 2),
            "minutes": round(took / 60, 1),
            "host": urlsplit(base_url).netloc,
        },
    )
