"""Ingest raw RFC 5322 mail: one message (file or stdin), an mbox file or a Maildir folder.

Usable as an MTA pipe (see README): exit status 0 when every message was stored or
deliberately rejected, 75 (EX_TEMPFAIL) when one could not be stored, so the MTA retries.
A message stored whose processing is then cut by an outage (a connection lost, a deadlock)
is accepted: it waits, and the inbound sweep processes it. With the database down
altogether the command exits 75 (nothing lost: a redelivery is stored once).
"""

import mailbox
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from channels_ingest import pipeline
from channels_ingest.models import InboundItem, InboundStatus
from helpdesk.faults import is_transient

EX_TEMPFAIL = 75
EX_DATAERR = 65  # the MTA bounces the message, telling its sender
# A batch holds at most this much mail besides its count (an mbox of large messages
# would otherwise be read a hundred messages at a time).
MAX_BATCH_BYTES = 32 * 1024 * 1024


class Command(BaseCommand):
    help = "Ingest email from a file, an mbox, a Maildir folder or standard input (-)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path", nargs="?", default="-", help="File, mbox, Maildir or -.")

    def handle(self, *args: Any, path: str, **options: Any) -> None:
        failures = refused = 0
        for batch in _batches(_messages(path)):
            accepted = [raw for raw in batch if not _too_large(raw)]
            for raw in batch:
                if _too_large(raw):
                    refused += 1
                    self.stdout.write(
                        f"refused: a message of {len(raw):,} bytes, over the limit of "
                        f"{settings.HELPDESK_MAX_EMAIL_BYTES:,} (HELPDESK_MAX_EMAIL_BYTES)"
                    )
            try:
                for line in _ingest(accepted) if accepted else []:
                    self.stdout.write(line)
            except DatabaseError as error:
                failures += len(accepted)
                self.stderr.write(f"{len(accepted)} not stored (will need a retry): {error}")
        if failures:
            sys.exit(EX_TEMPFAIL)
        if refused:
            sys.exit(EX_DATAERR)


def _too_large(raw: bytes) -> bool:
    return len(raw) > settings.HELPDESK_MAX_EMAIL_BYTES


def _batches(messages: Iterator[bytes]) -> Iterator[list[bytes]]:
    """The pipeline's batches, also ended when they hold MAX_BATCH_BYTES of mail."""
    batch: list[bytes] = []
    size = 0
    for raw in messages:
        batch.append(raw)
        size += len(raw)
        if len(batch) >= pipeline.BATCH_SIZE or size >= MAX_BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _ingest(messages: list[bytes]) -> list[str]:
    """Store a batch (an mbox is read in batches), then process it together; a line each."""
    from channels_ingest.email.parse import idempotency_key

    stored = pipeline.receive_many(
        channel="email",
        source="cli",
        payloads=[(idempotency_key(raw), raw) for raw in messages],
        content_type="message/rfc822",
    )
    try:
        finished = pipeline.process_many([item.pk for item, created in stored if created])
    except Exception as error:
        if not is_transient(error):
            raise
        finished = []  # stored: the sweep processes them once the outage is over
    processed = {item.pk: item for item in finished}
    lines = []
    for item, created in stored:
        if not created:  # stored before, or earlier in this batch (then processed just now)
            lines.append(_describe(processed.get(item.pk, item), "duplicate"))
            continue
        done = processed.get(item.pk) or InboundItem.objects.get(pk=item.pk)
        lines.append(_describe(done, done.outcome))
    return lines


def _describe(item: InboundItem, outcome: str) -> str:
    if item.status == InboundStatus.REJECTED:
        return f"rejected: {item.error}"
    if item.status == InboundStatus.FAILED:
        return f"stored, processing failed (see admin, inbound items): {item.error}"
    if item.status == InboundStatus.RECEIVED:
        return f"stored, to be processed after an outage: {item.error}"
    reference = item.ticket.reference if item.ticket else "(pending)"
    return f"{reference} {outcome}"


def _messages(path: str) -> Iterator[bytes]:
    if path == "-":
        yield from _from_bytes(sys.stdin.buffer.read())
        return
    target = Path(path)
    if not target.exists():
        raise CommandError(f"{path}: no such file or folder")
    if target.is_dir():
        if not (target / "cur").is_dir() or not (target / "new").is_dir():
            raise CommandError(f"{path}: a folder must be a Maildir (with cur/ and new/)")
        folder = mailbox.Maildir(target, factory=None, create=False)
        for key in sorted(folder.keys()):
            yield folder.get_bytes(key)
        return
    yield from _from_bytes(target.read_bytes())


def _from_bytes(data: bytes) -> Iterator[bytes]:
    """An mbox (a leading 'From ' line, as an MTA pipe may send) or a single message."""
    if not data.startswith(b"From "):
        yield data
        return
    with tempfile.NamedTemporaryFile(suffix=".mbox") as handle:
        handle.write(data)
        handle.flush()
        box = mailbox.mbox(handle.name, factory=None, create=False)
        for key in box.iterkeys():
            yield box.get_bytes(key)
