"""The measured process of tests/benchmarks/bench_peer.py: django-helpdesk 2.6.1, run with the
peer's own venv (.bench-peer/venv), its project in this folder (peer_settings, peer_urls).

    .bench-peer/venv/bin/python tests/benchmarks/peer/child.py \\
        --mail DIR --warmup DIR --long-thread FILE --support ADDRESS

1. Migrates its database (PEER_DATABASE_URL, new and empty: the parent made it), creates a
   staff user and one Queue whose address is our support address, polling a local folder.
2. Mail: each .eml of --warmup (not measured), then each of --mail in name order (the order
   `generate_mail` wrote them, conversations before their replies), goes through
   `helpdesk.email.extract_email_metadata(message, queue, logger)`: what the peer's mail
   import (`manage.py get_email` -> `process_email` -> `process_queue` -> `pop3_sync`,
   `imap_sync`, `imap_oauth_sync` or the local folder's loop) calls for each message, with
   the message decoded to text as its IMAP sync does (`force_str(raw, errors="replace")`).
   Taking the file from the folder and deleting it afterwards (the local folder's transport)
   is not timed, as our figure does not time the webhook's HTTP either.
   Transactions as in its poll: none of that code opens one, so Django's autocommit commits
   each statement on its own (`autocommit`); a second pass of the same messages wraps each
   one in `transaction.atomic()` (`atomic`), which is what our one-by-one path does.
3. The agent's ticket page (`helpdesk:view`) through Django's test Client, signed in as
   the staff user, for a two-follow-up ticket from the import and for a ticket of 200
   follow-ups and 100 ticket changes (the shape of our ticket page's long thread).

Prints one JSON line per metric on stdout (tests/benchmarks/harness.py's Metric).
"""

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# harness.py (standard library only). Appended, never the repository's root: our own
# project's package is also called `helpdesk` and would hide the peer's.
sys.path.append(str(HERE.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peer_settings")

from harness import Metric, p50, percentile  # noqa: E402

VERSION = "2.6.1"
REPEAT = 30
WARMUP_REQUESTS = 3
LONG_FOLLOWUPS = 200
LONG_CHANGES = 100


def log(text: str) -> None:
    print(f"[bench] peer: {text}", file=sys.stderr, flush=True)


class StatementCounter:
    def __init__(self) -> None:
        self.statements = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.statements += 1
        return execute(sql, params, many, context)


class ErrorTally(logging.Handler):
    """Counts the errors the import logs (which it only logs: a rejected attachment, say)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0
        self.kinds: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        self.kinds.add(record.getMessage()[:120])


def queue_logger(queue: Any, tally: ErrorTally) -> logging.Logger:
    """The logger `helpdesk.email.process_email` hands `process_queue` for a queue whose
    logging type is unset (the default): not propagated, and no handlers but the tally
    (without one, Python's last-resort handler prints its errors on stderr)."""
    logger = logging.getLogger("django.helpdesk.queue." + queue.slug)
    logger.handlers = [tally]
    logger.propagate = False
    return logger


def read_mail(folder: str) -> list[tuple[str, str, str | None]]:
    """(text, Message-ID, In-Reply-To) of each .eml in name order."""
    from django.utils import encoding

    parser = BytesHeaderParser()
    mail = []
    for path in sorted(Path(folder).glob("*.eml")):
        raw = path.read_bytes()
        headers = parser.parsebytes(raw)
        in_reply_to = headers.get("In-Reply-To")
        mail.append(
            (
                encoding.force_str(raw, errors="replace"),
                str(headers["Message-ID"]).strip(),
                str(in_reply_to).strip() if in_reply_to else None,
            )
        )
    return mail


def import_mail(
    mail: list[tuple[str, str, str | None]], queue: Any, *, atomic: bool, label: str
) -> dict[str, Any]:
    """Each message through the peer's per-message import, one after the other."""
    from django.core import mail as outbox
    from django.db import connection, transaction
    from helpdesk.email import extract_email_metadata

    tally = ErrorTally()
    logger = queue_logger(queue, tally)
    counter = StatementCounter()
    samples: list[float] = []
    ticket_of: dict[str, int] = {}  # Message-ID -> the ticket the peer put it on
    seen: set[int] = set()
    new = threaded = misthreaded = unthreaded = notices = 0
    tenth = max(1, len(mail) // 10)
    cpu, started = time.process_time(), time.perf_counter()
    for number, (text, message_id, in_reply_to) in enumerate(mail, start=1):
        begun = time.perf_counter()
        with connection.execute_wrapper(counter):
            if atomic:
                with transaction.atomic():
                    ticket = extract_email_metadata(message=text, queue=queue, logger=logger)
            else:
                ticket = extract_email_metadata(message=text, queue=queue, logger=logger)
        samples.append((time.perf_counter() - begun) * 1000)
        # Bookkeeping, not the peer's work (a few microseconds, no SQL).
        notices += len(outbox.outbox)
        outbox.outbox.clear()
        expected = ticket_of.get(in_reply_to) if in_reply_to else None
        if ticket.id in seen:
            threaded += 1
            if expected != ticket.id:
                misthreaded += 1
        else:
            new += 1
            if in_reply_to:
                unthreaded += 1  # a reply that opened a ticket of its own
        seen.add(ticket.id)
        ticket_of[message_id] = ticket.id
        if number % tenth == 0:
            recent = samples[-tenth:]
            rate = 1000 * tenth / sum(recent)
            log(f"{label}: {number:,} done, the last {tenth:,} at {rate:,.0f}/s")
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    return {
        "count": len(mail),
        "seconds": seconds,
        "cpu": cpu,
        "samples": samples,
        "statements": counter.statements,
        "new": new,
        "threaded": threaded,
        "misthreaded": misthreaded,
        "unthreaded": unthreaded,
        "notices": notices,
        "errors_logged": tally.count,
        "errors": sorted(tally.kinds),
        "tickets": sorted(seen),
    }


def email_metric(name: str, result: dict[str, Any], expected_replies: int, **extra: Any) -> Metric:
    count, samples = result["count"], result["samples"]
    return Metric(
        name,
        count / result["seconds"],
        "messages/s",
        count,
        {
            "p50_ms": round(percentile(samples, 0.5), 3),
            "p99_ms": round(percentile(samples, 0.99), 3),
            "cpu_ms_per_message": round(1000 * result["cpu"] / count, 2),
            # Through connection.execute_wrapper: no BEGIN/COMMIT (Django does not send them
            # through a cursor), savepoints if any.
            "statements_per_message": round(result["statements"] / count, 1),
            "new_tickets": result["new"],
            "expected_new": count - expected_replies,
            "threaded": result["threaded"],
            "expected_threaded": expected_replies,
            "misthreaded": result["misthreaded"],
            "replies_opening_tickets": result["unthreaded"],
            "notices_sent": result["notices"],
            "errors_logged": result["errors_logged"],
            "errors": result["errors"],
            "load_average": round(os.getloadavg()[0], 1),
            **extra,
        },
    )


def long_thread(queue: Any, agent: Any, spec: dict[str, Any]) -> Any:
    """A ticket of 200 follow-ups and 100 ticket changes, written directly (bulk inserts):
    customer e-mail, two staff replies, an internal note, in turn, as our long thread."""
    from django.utils import timezone
    from helpdesk.models import FollowUp, Ticket, TicketChange

    now = timezone.now()
    opened = now - timedelta(days=20)
    ticket = Ticket.objects.create(
        title=spec["subject"],
        queue=queue,
        submitter_email=spec["customer"],
        created=opened,
        description=spec["bodies"][0],
        assigned_to=agent,
    )
    followups = []
    for n, body in enumerate(spec["bodies"][:LONG_FOLLOWUPS]):
        kind = ("inbound", "outbound", "outbound", "note")[n % 4] if n else "inbound"
        followups.append(
            FollowUp(
                ticket=ticket,
                title=(
                    f"E-Mail Received from {spec['customer']}" if kind == "inbound" else "Comment"
                ),
                date=opened + timedelta(hours=2 * n),
                comment=body,
                public=kind != "note",
                user=None if kind == "inbound" else agent,
                message_id=f"<long.{n}@mail.example>" if kind == "inbound" else None,
            )
        )
    FollowUp.objects.bulk_create(followups)
    stored = list(FollowUp.objects.filter(ticket=ticket).order_by("id"))
    states = ("Open", "Reopened", "Resolved")
    TicketChange.objects.bulk_create(
        TicketChange(
            followup=followup,
            field="Status",
            old_value=states[n % 3],
            new_value=states[(n + 1) % 3],
        )
        for n, followup in enumerate(stored[1::2][:LONG_CHANGES])
    )
    return ticket


def timed(action: Callable[[], Any]) -> tuple[list[float], float]:
    """Wall-clock samples (ms) after a warm-up, and the median CPU ms of this process."""
    for _ in range(WARMUP_REQUESTS):
        action()
    walls, cpus = [], []
    for _ in range(REPEAT):
        wall, cpu = time.perf_counter(), time.process_time()
        action()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return walls, p50(cpus)


def page_metrics(queue: Any, agent: Any, spec: dict[str, Any], imported: list[int]) -> list[Metric]:
    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse
    from helpdesk.models import FollowUp, FollowUpAttachment, Ticket, TicketChange

    client = Client()
    client.force_login(agent)
    long = long_thread(queue, agent, spec)
    # A ticket of the import with two follow-ups: the e-mail that opened it and one reply.
    short = (
        Ticket.objects.filter(id__in=imported)
        .annotate(followups=Count("followup"))
        .filter(followups=2)
        .order_by("id")
        .first()
    ) or Ticket.objects.filter(id__in=imported).order_by("id").first()
    assert short is not None
    tickets = Ticket.objects.count()
    staff = agent.__class__.objects.filter(is_staff=True, is_active=True).count()
    metrics = []
    for name, ticket in (("short", short), ("long", long)):
        url = reverse("helpdesk:view", args=[ticket.id])

        def get(url: str = url) -> Any:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            return response

        walls, cpu = timed(get)
        with CaptureQueriesContext(connection) as captured:
            size = len(get().content)
        metrics.append(
            Metric(
                f"peer.ticket_page_{name}_ms",
                p50(walls),
                "ms",
                len(walls),
                {
                    "p90": round(percentile(walls, 0.9), 3),
                    "cpu_ms_p50": round(cpu, 3),
                    "queries": len(captured),
                    "followups": FollowUp.objects.filter(ticket=ticket).count(),
                    "ticket_changes": TicketChange.objects.filter(followup__ticket=ticket).count(),
                    "attachments": FollowUpAttachment.objects.filter(
                        followup__ticket=ticket
                    ).count(),
                    "html_bytes": size,
                    "tickets": tickets,
                    "url": "helpdesk:view",
                    "user": "staff (is_staff, not superuser)",
                    "staff_users": staff,
                    "load_1min": round(os.getloadavg()[0], 2),
                    "peer": f"django-helpdesk {VERSION}",
                },
            )
        )
    return metrics


def main() -> int:
    arguments = argparse.ArgumentParser()
    arguments.add_argument("--mail", required=True)
    arguments.add_argument("--warmup", required=True)
    arguments.add_argument("--long-thread", required=True)
    arguments.add_argument("--support", required=True)
    arguments.add_argument("--staff", type=int, default=0, help="staff users beside the agent")
    options = arguments.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core import mail as outbox
    from django.core.management import call_command
    from helpdesk.models import FollowUp, FollowUpAttachment, Queue, Ticket, TicketCC

    # The peer's (ruff's isort files it apart: our own project's package is `helpdesk` too).
    from helpdesk import settings as helpdesk_settings

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    log(f"migrated in {time.perf_counter() - started:.1f} s")
    outbox.outbox = []
    agent = get_user_model().objects.create_user(
        "bench-agent", "agent@bench.example", is_staff=True
    )
    # As many staff as our data set has agents: the ticket page lists them (assignable users).
    get_user_model().objects.bulk_create(
        get_user_model()(
            username=f"agent-{n:03d}",
            email=f"agent-{n:03d}@helpdesk.example",
            is_staff=True,
            password="!",  # unusable
        )
        for n in range(options.staff)
    )
    queue = Queue.objects.create(
        title="Support",
        slug="support",
        email_address=options.support,
        allow_email_submission=True,
        email_box_type="local",
        email_box_local_dir=options.mail,
    )

    warmup = read_mail(options.warmup)
    mail = read_mail(options.mail)
    replies = sum(1 for _, _, in_reply_to in mail if in_reply_to)
    import_mail(warmup, queue, atomic=False, label="warm-up")
    before = {
        "followups": FollowUp.objects.count(),
        "attachments": FollowUpAttachment.objects.count(),
        "ccs": TicketCC.objects.count(),
    }
    first = import_mail(mail, queue, atomic=False, label="autocommit")
    log(f"autocommit: {first['count']:,} at {first['count'] / first['seconds']:,.0f}/s")
    created = {
        "followups_made": FollowUp.objects.count() - before["followups"],
        "attachments_stored": FollowUpAttachment.objects.count() - before["attachments"],
        "ticket_ccs_made": TicketCC.objects.count() - before["ccs"],
    }
    second = import_mail(mail, queue, atomic=True, label="atomic")
    log(f"atomic: {second['count']:,} at {second['count'] / second['seconds']:,.0f}/s")

    config = {
        "peer": f"django-helpdesk {VERSION}",
        "function": "helpdesk.email.extract_email_metadata",
        # What ran, as it runs by default on a queue with no outgoing mail of its own (the
        # peer has none per queue: it sends through Django's EMAIL_BACKEND).
        "notices": {
            "new_ticket_to_submitter": True,
            "update_to_submitter": True,
            "to_ccs_on_email_events": queue.enable_notifications_on_email_events,
            "queue_new_ticket_cc": queue.new_ticket_cc or None,
            "queue_updated_ticket_cc": queue.updated_ticket_cc or None,
            "email_backend": settings.EMAIL_BACKEND.rsplit(".", 2)[-2],
        },
        "attachments_enabled": helpdesk_settings.HELPDESK_ENABLE_ATTACHMENTS,
        "backlinks_enabled": helpdesk_settings.HELPDESK_ENABLE_BACKLINKS,
        "teams_mode": helpdesk_settings.HELPDESK_TEAMS_MODE_ENABLED,
        "warmup_messages": len(warmup),
        "timed": "extract_email_metadata per message (the mailbox's fetch and delete not)",
    }
    results = [
        email_metric(
            "peer.email_one_by_one_rate",
            first,
            replies,
            transactions="autocommit: each statement commits (its mail poll opens none)",
            **created,
            **config,
        ),
        email_metric(
            "peer.email_one_by_one_atomic_rate",
            second,
            replies,
            transactions="one per message (transaction.atomic around each); same messages again",
            **config,
        ),
    ]
    for result in (first, second):
        if result["misthreaded"] or result["new"] != len(mail) - replies:
            log(f"WRONG threading: {result['new']} new, {result['misthreaded']} misthreaded")
    spec = json.loads(Path(options.long_thread).read_text())
    results += page_metrics(queue, agent, spec, first["tickets"])
    for metric in results:
        print(metric.line(), flush=True)
    log(f"{Ticket.objects.count():,} tickets in its database at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
