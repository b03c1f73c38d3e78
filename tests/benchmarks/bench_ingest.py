"""Email ingestion, service level: raw RFC 5322 messages through the real pipeline, timed.

The messages take the path of a mailbox poll or an imported mbox (`manage.py ingest_email`),
in batches of `pipeline.BATCH_SIZE`: `channels_ingest.pipeline.receive_many` (stored once,
committed) then `pipeline.process_many` (parsed one by one, `tickets.services.
ticket_ingest_many`, committed), one batch after the other in one process. A smaller set
also goes one message at a time (`pipeline.receive` then `pipeline.process`, the path of a
webhook's task). Beside them, the ceiling: single-row INSERT + COMMIT into a tiny table,
autocommit, one process.

The run happens in a child process with its own database (`helpdesk_bench_ingest`, emptied
first), Redis database (13) and media folder, so the routing tasks and live pushes it
publishes, and the tickets it writes, never meet the other benchmarks' data or workers.

    python -m tests.benchmarks ingest                # via the runner (BENCH_SCALE applies)
    python -m tests.benchmarks.bench_ingest --child  # the measured process itself

BENCH_INGEST_PYSPY=FILE records the child with py-spy (harness.py_spy; FILE.txt: collapsed
stacks, in which the one-at-a-time path is the stacks through `pipeline.process`).
"""

import base64
import os
import quopri
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from tests.benchmarks.harness import (
    DEFAULT_DATABASE_URL,
    DEFAULT_REDIS_URL,
    Context,
    Metric,
    configure_environment,
    in_scratch_folder,
    percentile,
    py_spy,
    py_spy_end,
)

FULL_SIZE = 10_000
NEW_SHARE = 0.4  # the rest are replies threading by In-Reply-To / References
TARGET_PER_SECOND = 750
OWN_DATABASE = "helpdesk_bench_ingest"
OWN_REDIS_DB = 13

# --- Raw messages ------------------------------------------------------------------------------

_FIRST = "Anna Ben Chloe David Emma Felix Grace Hugo Ines Jonas Karin Leo Maria Nils Olga Paul"
_LAST = "Schmidt Dubois Rossi Lopez Novak Jensen Costa Weber Meyer Silva Berg Moreau Kowalski"
_DOMAINS = ("gmail.com", "outlook.com", "icloud.com", "example-corp.com", "acme.example")
_SUBJECTS = (
    "VPN disconnects every 10 minutes",
    "Cannot log in to the customer portal",
    "Invoice 2025-0142 shows the wrong VAT",
    "Label printer prints every label twice",
    "Scanned PDFs cannot be opened",
    "Password reset email never arrives",
    "Export to CSV times out",
    "Two-factor codes rejected after phone change",
    "Shared mailbox missing in Outlook",
    "Laptop docking station not detected",
    "API returns 502 for large uploads",
    "Licence count wrong after renewal",
)
_SENTENCES = (
    "Since this morning nobody in our office can get past the login page.",
    "The page just reloads after entering the password, without an error.",
    "We updated the client to version 5.2.1 as you suggested, but nothing changed.",
    "The log says keepalive timeout each time it happens.",
    "It worked fine until the update on Monday.",
    "I attached a screenshot of the settings screen.",
    "Could you please have a look at it today? Our team is blocked.",
    "We tried another browser and another computer with the same result.",
    "The error code shown is 0x80070005, if that helps.",
    "Our account number is 48213 and the site is the Hamburg warehouse.",
    "Restarting the device helps for about ten minutes, then it starts again.",
    "Thank you for the quick answer yesterday.",
)
_QUOTED = (
    "please update the VPN client to version 5.2.1 and tell us if it helps.",
    "could you send us the exact error message and a screenshot?",
    "we have reset the account; please try again and let us know.",
)


@dataclass
class _Thread:
    number: int
    sender: tuple[str, str]
    subject: str
    cc: tuple[str, str] | None
    ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class MailSet:
    """Raw messages in arrival order, and what ingesting them must give."""

    messages: list[bytes]
    new_threads: int
    with_attachments: int
    total_bytes: int


def _people(rng: random.Random, count: int) -> list[tuple[str, str]]:
    first, last = _FIRST.split(), _LAST.split()
    people = []
    for number in range(count):
        a, b = rng.choice(first), rng.choice(last)
        domain = _DOMAINS[number % len(_DOMAINS)]
        people.append((f"{a} {b}", f"{a.lower()}.{b.lower()}{number}@{domain}"))
    return people


def _paragraphs(rng: random.Random) -> list[str]:
    return [" ".join(rng.sample(_SENTENCES, rng.randint(2, 4))) for _ in range(rng.randint(1, 3))]


def _qp(text: str) -> str:
    return quopri.encodestring(text.encode("utf-8")).decode("ascii")


def _b64(data: bytes) -> str:
    return base64.encodebytes(data).decode("ascii")


def _html(paragraphs: list[str]) -> str:
    return "".join(f'<div dir="ltr"><p>{p}</p></div>\n' for p in paragraphs)


def _files(rng: random.Random) -> list[tuple[str, str, bytes]]:
    """A few attachments reused by many messages (a PDF and a JPEG of realistic sizes)."""
    pdf = b"%PDF-1.4\n" + rng.randbytes(24_000) + b"\n%%EOF\n"
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + rng.randbytes(60_000) + b"\xff\xd9"
    return [
        ("application/pdf", "scan_2025-01-08.pdf", pdf),
        ("image/jpeg", "IMG_4711.jpeg", jpeg),
    ]


def generate_mail(
    count: int, *, run: str, support: str, seed: int = 42, start: datetime | None = None
) -> MailSet:
    """`count` raw messages from four kinds of clients; new tickets and replies mixed.

    About 40% open a conversation; the others answer one of the recent conversations by
    In-Reply-To and References (the customer, or someone they copied). About 15% carry a
    PDF or a photo. Message-IDs hold `run`, so two runs never collide.
    """
    rng = random.Random(seed)
    people = _people(rng, max(10, count // 3))
    files = _files(rng)
    encoded = [(kind, name, _b64(data)) for kind, name, data in files]
    start = start or datetime.now(UTC) - timedelta(seconds=count + 60)
    threads: list[_Thread] = []
    messages: list[bytes] = []
    attachments = 0
    for number in range(count):
        if not threads or rng.random() < NEW_SHARE:
            cc = rng.choice(people) if rng.random() < 0.1 else None
            thread = _Thread(len(threads), rng.choice(people), rng.choice(_SUBJECTS), cc)
            threads.append(thread)
            reply_to: _Thread | None = None
        else:
            thread = reply_to = rng.choice(threads[-400:])
        sender = thread.cc if reply_to and thread.cc and rng.random() < 0.3 else thread.sender
        message_id = f"<{run}.{number}.{rng.getrandbits(32):08x}@{sender[1].split('@')[1]}>"
        date = format_datetime(start + timedelta(seconds=number))
        headers = [
            f"Return-Path: <{sender[1]}>",
            f"Received: from mx{number % 7}.example.net (mx.example.net [192.0.2.{number % 250}])"
            f"\r\n\tby mx.localhost with ESMTPS id {number:x}\r\n\tfor <{support}>; {date}",
            f"From: {sender[0]} <{sender[1]}>",
            f"To: Example Support <{support}>",
            f"Subject: {'Re: ' if reply_to else ''}{thread.subject}",
            f"Date: {date}",
            f"Message-ID: {message_id}",
            "MIME-Version: 1.0",
        ]
        if thread.cc and not reply_to:
            headers.append(f"Cc: {thread.cc[0]} <{thread.cc[1]}>")
        if reply_to:
            headers.append(f"In-Reply-To: {thread.ids[-1]}")
            headers.append("References: " + "\r\n ".join(thread.ids[-8:]))
        paragraphs = _paragraphs(rng)
        if reply_to:
            paragraphs = paragraphs[:1]
        greeting = f"Hello,\n\n{chr(10).join(paragraphs)}\n\nKind regards,\n{sender[0]}\n"
        quote = ""
        if reply_to:
            quote = f"\nOn {date}, Example Support <{support}> wrote:\n> Hello,\n>\n> "
            quote += rng.choice(_QUOTED) + "\n>\n> Kind regards,\n> Example Support\n"
        style = rng.random()
        if style < 0.15:
            kind, name, data = encoded[0] if rng.random() < 0.65 else encoded[1]
            attachments += 1
            boundary = f"------------{number:024x}"
            headers.append(f'Content-Type: multipart/mixed; boundary="{boundary}"')
            body = (
                f"This is a multi-part message in MIME format.\r\n--{boundary}\r\n"
                "Content-Type: text/plain; charset=UTF-8; format=flowed\r\n"
                "Content-Transfer-Encoding: 8bit\r\n\r\n"
                f"{greeting}{quote}\r\n--{boundary}\r\n"
                f'Content-Type: {kind}; name="{name}"\r\n'
                f'Content-Disposition: attachment; filename="{name}"\r\n'
                f"Content-Transfer-Encoding: base64\r\n\r\n{data}\r\n--{boundary}--\r\n"
            )
        elif style < 0.55:  # Gmail: text and HTML alternatives, quoted-printable
            boundary = f"0000000000{number:016x}"
            headers.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
            html = _html(["Hello,", *paragraphs, f"Kind regards,<br>{sender[0]}"])
            if reply_to:
                html += (
                    f'<div class="gmail_quote"><blockquote>{rng.choice(_QUOTED)}</blockquote></div>'
                )
            body = (
                f'--{boundary}\r\nContent-Type: text/plain; charset="UTF-8"\r\n'
                f"Content-Transfer-Encoding: quoted-printable\r\n\r\n{_qp(greeting + quote)}\r\n"
                f'--{boundary}\r\nContent-Type: text/html; charset="UTF-8"\r\n'
                f"Content-Transfer-Encoding: quoted-printable\r\n\r\n{_qp(html)}\r\n"
                f"--{boundary}--\r\n"
            )
        elif style < 0.8:  # Outlook: HTML only, base64
            headers.append('Content-Type: text/html; charset="utf-8"')
            headers.append("Content-Transfer-Encoding: base64")
            html = (
                '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
                '<style type="text/css">P {margin-top:0;margin-bottom:0;}</style></head>'
                f'<body dir="ltr">{_html(["Hi team,", *paragraphs, sender[0]])}'
            )
            if reply_to:
                html += (
                    '<hr><div id="divRplyFwdMsg"><b>From:</b> Example Support '
                    f"&lt;{support}&gt;<br><b>Sent:</b> {date}<br><b>Subject:</b> "
                    f"{thread.subject}</div><div>{rng.choice(_QUOTED)}</div>"
                )
            body = _b64((html + "</body></html>").encode())
        else:  # Apple Mail: plain text, format=flowed
            headers.append("Content-Type: text/plain; charset=utf-8; format=flowed")
            headers.append("Content-Transfer-Encoding: 8bit")
            body = greeting + "\nSent from my iPhone\n" + quote
        raw = ("\r\n".join(headers) + "\r\n\r\n" + body).replace("\r\n", "\n")
        messages.append(raw.replace("\n", "\r\n").encode("utf-8"))
        thread.ids.append(message_id)
    return MailSet(
        messages=messages,
        new_threads=len(threads),
        with_attachments=attachments,
        total_bytes=sum(len(m) for m in messages),
    )


# --- The parent: run the child in its own database, Redis database and media folder ----------


def sibling_url(url: str, path: str) -> str:
    """The same server, another database (PostgreSQL name or Redis number)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{path}", parts.query, parts.fragment))


def create_database(url: str) -> None:
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(sibling_url(url, "postgres"), autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if exists.fetchone() is None:
            connection.execute(f'CREATE DATABASE "{name}"')


def child_environment(media: str) -> dict[str, str]:
    base_db = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    base_redis = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    database_url = sibling_url(base_db, OWN_DATABASE)
    create_database(database_url)
    return {
        **os.environ,
        "BENCH_DATABASE_URL": database_url,
        "BENCH_REDIS_URL": sibling_url(base_redis, str(OWN_REDIS_DB)),
        "DATA_DIR": media,
        "MEDIA_ROOT": os.path.join(media, "media"),
    }


def run(ctx: Context) -> Iterator[Metric]:
    return in_scratch_folder("bench-ingest-", lambda media: _in_child(ctx, media))


def _in_child(ctx: Context, media: str) -> Iterator[Metric]:
    env = child_environment(media)
    env["BENCH_SCALE"] = str(ctx.scale)
    command = [sys.executable, "-m", "tests.benchmarks.bench_ingest", "--child"]
    ctx.log(f"ingest: {ctx.scaled(FULL_SIZE, 200)} messages in a child process")
    measured = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    profiler = py_spy(measured.pid, os.environ.get("BENCH_INGEST_PYSPY"))
    output, _ = measured.communicate()
    py_spy_end(profiler)
    if measured.returncode:
        raise subprocess.CalledProcessError(measured.returncode, command, output)
    for line in output.splitlines():
        yield Metric.from_line(line)


# --- The child: the measured process -----------------------------------------------------------


def insert_commit_rate(count: int) -> float:
    """Single-row INSERT + COMMIT per row into a tiny logged table: PostgreSQL's ceiling."""
    import psycopg
    from django.db import connection

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    with psycopg.connect(**params, autocommit=True) as probe:
        probe.execute(
            "CREATE TABLE IF NOT EXISTS bench_insert_probe "
            "(id bigserial PRIMARY KEY, payload text NOT NULL, at timestamptz DEFAULT now())"
        )
        probe.execute("TRUNCATE bench_insert_probe")
        statement = "INSERT INTO bench_insert_probe (payload) VALUES (%s)"
        for _ in range(50):
            probe.execute(statement, ["warm-up"])
        started = time.perf_counter()
        for number in range(count):
            probe.execute(statement, [f"row {number}"])
        seconds = time.perf_counter() - started
        probe.execute("DROP TABLE bench_insert_probe")
    return count / seconds


def _empty_database() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE channels_ingest_inbounditem, tickets_customer, tickets_notification "
            "RESTART IDENTITY CASCADE"
        )


def _business_hours_policy() -> None:
    """A default SLA policy on office hours with public holidays, as most help desks run."""
    from datetime import time as clock

    from tickets.models import BusinessCalendar, OpeningHours, SLAPolicy

    calendar, created = BusinessCalendar.objects.get_or_create(
        name="Office hours (bench)",
        defaults={"time_zone": "Europe/Berlin", "holiday_country": "DE"},
    )
    if created:
        OpeningHours.objects.bulk_create(
            OpeningHours(calendar=calendar, weekday=day, start=clock(8), end=clock(18))
            for day in range(5)
        )
    SLAPolicy.objects.get_or_create(
        is_default=True,
        defaults={
            "name": "Standard (bench)",
            "first_response_minutes": 240,
            "next_response_minutes": 480,
            "resolution_minutes": 2880,
            "calendar": calendar,
        },
    )


class QueryCounter:
    def __init__(self) -> None:
        self.queries = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.queries += 1
        return execute(sql, params, many, context)


def ingest_batches(
    messages: list[bytes], *, source: str, ctx: Context | None = None
) -> list[float]:
    """The path of a mailbox poll or an imported mbox, batch after batch; per-batch ms."""
    from channels_ingest import pipeline
    from channels_ingest.email.parse import idempotency_key

    samples: list[float] = []
    sizes: list[int] = []
    for batch in pipeline.batches(messages):
        started = time.perf_counter()
        stored = pipeline.receive_many(
            channel="email",
            source=source,
            payloads=[(idempotency_key(raw), raw) for raw in batch],
            content_type="message/rfc822",
        )
        pipeline.process_many([item.pk for item, created in stored if created])
        samples.append((time.perf_counter() - started) * 1000)
        sizes.append(len(batch))
        if ctx is not None and len(samples) % 10 == 0:
            rate = 1000 * sum(sizes[-10:]) / sum(samples[-10:])
            ctx.log(f"ingest: {sum(sizes):,} done, the last 10 batches at {rate:,.0f}/s")
    return samples


def ingest_all(
    messages: list[bytes],
    *,
    source: str,
    ctx: Context | None = None,
    counter: QueryCounter | None = None,
) -> list[float]:
    """One message at a time (the path of a webhook's task); per-message ms. `counter`
    counts the statements of processing (the task), not of storing (the webhook)."""
    from django.db import connection

    from channels_ingest import pipeline
    from channels_ingest.email.parse import idempotency_key

    samples: list[float] = []
    tenth = max(1, len(messages) // 10)
    for number, raw in enumerate(messages, start=1):
        if ctx is not None and number % tenth == 0:
            recent = samples[-tenth:]
            rate = 1000 * len(recent) / sum(recent)
            ctx.log(f"ingest: {number:,} done, the last {tenth:,} at {rate:,.0f}/s")
        started = time.perf_counter()
        item, created = pipeline.receive(
            channel="email",
            source=source,
            key=idempotency_key(raw),
            payload=raw,
            content_type="message/rfc822",
            enqueue=False,
        )
        if created:
            with connection.execute_wrapper(counter) if counter else nullcontext():
                pipeline.process(item.pk)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def deliver_replies(ctx: Context) -> Metric:
    """Agents' email replies on the tickets the run opened, written pending, then sent by
    the batch delivery task (`channels_ingest.deliver_messages`, DELIVERY_BATCH a task, as
    a worker runs it) through Django's locmem mail backend: messages/s, statements and CPU
    a message. Each reply threads under its ticket's conversation (the customer's
    Message-IDs) and is recorded sent."""
    from django.conf import settings
    from django.core import mail
    from django.db import connection
    from django.test.utils import override_settings

    from channels_ingest.tasks import deliver_messages
    from tickets.addressing import new_message_id
    from tickets.models import DeliveryStatus, Message, Ticket
    from tickets.services.outbound import DELIVERY_BATCH

    count = ctx.scaled(2000, 500)
    tickets = list(Ticket.objects.order_by("-id").values_list("pk", flat=True)[:count])
    replies = Message.objects.bulk_create(
        Message(
            ticket_id=ticket_id,
            kind="outbound",
            channel="email",
            body_text="Thanks for writing. Restart the router, then try again.",
            external_id=new_message_id(ticket_id),
            delivery_status=DeliveryStatus.PENDING,
        )
        for ticket_id in tickets
    )
    ids = [reply.pk for reply in replies]
    counter = QueryCounter()
    # The branded mail names the logo's static path: plain paths, as bench_queue (no
    # manifest without collectstatic).
    plain_static = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend", STORAGES=plain_static
    ):
        mail.outbox = []
        cpu, started = time.process_time(), time.perf_counter()
        with connection.execute_wrapper(counter):
            for start in range(0, len(ids), DELIVERY_BATCH):
                deliver_messages(ids[start : start + DELIVERY_BATCH])
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu
        sent = len(mail.outbox)
    recorded = Message.objects.filter(pk__in=ids, delivery_status=DeliveryStatus.SENT).count()
    ctx.log(
        f"delivery: {len(ids):,} replies in {seconds:.2f} s, {sent:,} sent, {recorded:,} recorded"
    )
    return Metric(
        "ingest.delivery_batch_rate",
        len(ids) / seconds,
        "messages/s",
        len(ids),
        {
            "batch_size": DELIVERY_BATCH,
            "statements_per_message": round(counter.queries / len(ids), 2),
            "cpu_ms_per_message": round(1000 * cpu / len(ids), 2),
            "sent": sent,
            "recorded_sent": recorded,
            "load_average": round(os.getloadavg()[0], 1),
            "note": "agents' email replies sent by channels_ingest.deliver_messages, locmem mail",
        },
    )


def parse_only_rate(messages: list[bytes]) -> float:
    """Messages/s of the email parser alone (no database): what one process could do with
    storage and threading for free."""
    from channels_ingest.email.parse import parse_email

    started = time.perf_counter()
    for raw in messages:
        parse_email(raw)
    return len(messages) / (time.perf_counter() - started)


def _purge_broker() -> None:
    """The routing tasks published during the run have no worker here: drop them."""
    from helpdesk.celery import app

    app.control.purge()


def child() -> int:
    configure_environment()
    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from django.db import connection

    from channels_ingest import pipeline
    from channels_ingest.models import InboundItem, InboundStatus
    from tickets.models import Attachment, Message, Ticket

    scale = float(os.environ.get("BENCH_SCALE", "1"))
    ctx = Context(scale=scale)
    count = ctx.scaled(FULL_SIZE, 200)
    _empty_database()
    _business_hours_policy()
    _purge_broker()

    probes = ctx.scaled(5000, 1000)
    before = insert_commit_rate(probes)
    ctx.log(f"ingest: PostgreSQL single-row INSERT+COMMIT {before:,.0f}/s")

    run = f"r{int(time.time())}"
    generated = time.perf_counter()
    warmup = generate_mail(100, run=f"{run}w", support=settings.HELPDESK_SUPPORT_ADDRESS, seed=7)
    mail = generate_mail(count, run=run, support=settings.HELPDESK_SUPPORT_ADDRESS)
    singles = generate_mail(
        ctx.scaled(1000, 100), run=f"{run}s", support=settings.HELPDESK_SUPPORT_ADDRESS, seed=11
    )
    generated = time.perf_counter() - generated
    ctx.log(
        f"ingest: generated {count + 100:,} messages ({mail.total_bytes / 1e6:.1f} MB) "
        f"in {generated:.2f} s"
    )
    ingest_batches(warmup.messages, source="bench-warmup")
    inbound = Message.objects.filter(kind="inbound")  # not the notices answering them
    tickets_before, messages_before = Ticket.objects.count(), inbound.count()
    attachments_before = Attachment.objects.count()

    counter = QueryCounter()
    load_before = os.getloadavg()[0]
    cpu, started = time.process_time(), time.perf_counter()
    with connection.execute_wrapper(counter):
        samples = ingest_batches(mail.messages, source="bench", ctx=ctx)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    rate = count / seconds
    ctx.log(f"ingest: {count:,} messages in {seconds:.1f} s = {rate:,.0f}/s")
    new_tickets = Ticket.objects.count() - tickets_before
    stored = inbound.count() - messages_before
    attachments = Attachment.objects.count() - attachments_before
    single_counter = QueryCounter()
    single_cpu, single_started = time.process_time(), time.perf_counter()
    single_samples = ingest_all(singles.messages, source="bench-single", counter=single_counter)
    single_rate = len(singles.messages) / (time.perf_counter() - single_started)
    single_cpu = time.process_time() - single_cpu
    ctx.log(f"ingest: {len(singles.messages):,} one at a time = {single_rate:,.0f}/s")

    delivered = deliver_replies(ctx)
    after = insert_commit_rate(probes)
    parse_rate = parse_only_rate(mail.messages[:2000])
    ctx.log(f"ingest: parsing alone {parse_rate:,.0f}/s")
    ceiling = (before + after) / 2
    items = InboundItem.objects.filter(source="bench")
    processed = items.filter(status=InboundStatus.PROCESSED).count()
    outcomes = {outcome: items.filter(outcome=outcome).count() for outcome in ("new", "threaded")}
    _purge_broker()
    single_processed = InboundItem.objects.filter(
        source="bench-single", status=InboundStatus.PROCESSED
    ).count()
    if processed != count or stored != count or single_processed != len(singles.messages):
        ctx.log(f"ingest: WRONG: {processed} processed, {stored} stored of {count}")
        return 1
    results = [
        Metric(
            "ingest.email_service_rate",
            rate,
            "messages/s",
            count,
            {
                "target": TARGET_PER_SECOND,
                "seconds": round(seconds, 2),
                "batch_size": pipeline.BATCH_SIZE,
                "batch_p50_ms": round(percentile(samples, 0.5), 1),
                "batch_p99_ms": round(percentile(samples, 0.99), 1),
                "queries_per_message": round(counter.queries / count, 1),
                # This process's CPU (all its threads): less sensitive than the rate to
                # whatever else the machine runs; the load average says how busy it was.
                "cpu_ms_per_message": round(1000 * cpu / count, 2),
                "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
                "new_tickets": new_tickets,
                "threaded": outcomes["threaded"],
                "expected_new": mail.new_threads,
                "with_attachments": mail.with_attachments,
                "stored_attachments": attachments,
                "megabytes": round(mail.total_bytes / 1e6, 1),
                "generate_seconds": round(generated, 2),
                "customer_notices": bool(settings.HELPDESK_CUSTOMER_NOTICES),
            },
        ),
        Metric(
            "ingest.email_one_by_one_rate",
            single_rate,
            "messages/s",
            len(singles.messages),
            {
                "p50_ms": round(percentile(single_samples, 0.5), 3),
                "p99_ms": round(percentile(single_samples, 0.99), 3),
                "cpu_ms_per_message": round(1000 * single_cpu / len(singles.messages), 2),
                # Processing's (the task's), not storing's (the webhook's), without BEGIN and
                # COMMIT: what the peer's figure counts.
                "statements_per_message": round(single_counter.queries / len(singles.messages), 1),
                "processed": single_processed,
                "note": "one message per transaction, as a webhook's task takes it",
            },
        ),
        Metric(
            "ingest.pg_insert_commit_rate",
            ceiling,
            "rows/s",
            2 * probes,
            {"before": round(before), "after": round(after)},
        ),
        Metric(
            "ingest.parse_only_rate",
            parse_rate,
            "messages/s",
            min(count, 2000),
            {"note": "the email parser alone, no database: a ceiling for one process"},
        ),
        Metric(
            "ingest.share_of_pg_ceiling",
            100 * rate / ceiling,
            "%",
            count,
            {"target": 25},
        ),
    ]
    results.append(delivered)
    for metric in results:
        print(metric.line(), flush=True)
    return 0


if __name__ == "__main__":
    if "--child" not in sys.argv[1:]:
        sys.exit("usage: python -m tests.benchmarks.bench_ingest --child (or use the runner)")
    sys.exit(child())
