"""`manage.py ingest_email`: files, standard input, mbox, Maildir; usable as an MTA pipe."""

import mailbox
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[3]


def email(n: int, *, sender: str = "pat@example.com", extra: str = "") -> bytes:
    return (
        f"Message-ID: <m{n}@example.com>\r\nFrom: Pat <{sender}>\r\nTo: support@localhost\r\n"
        f"Subject: Question {n}\r\n{extra}\r\nBody of message {n}.\r\n"
    ).encode()


def run(*args: str, stdin: bytes | None = None) -> str:
    out = StringIO()
    if stdin is not None:
        import io

        fake = io.TextIOWrapper(io.BytesIO(stdin))
        old, sys.stdin = sys.stdin, fake
        try:
            call_command("ingest_email", *args, stdout=out)
        finally:
            sys.stdin = old
    else:
        call_command("ingest_email", *args, stdout=out)
    return out.getvalue()


def test_single_file_then_reply_then_duplicate(tmp_path):
    first = tmp_path / "first.eml"
    first.write_bytes(email(1))
    assert run(str(first)).split() == [Ticket.objects.get().reference, "new"]

    reply = tmp_path / "reply.eml"
    reply.write_bytes(email(2, extra="In-Reply-To: <m1@example.com>\r\n"))
    ticket = Ticket.objects.get()
    assert run(str(reply)).split() == [ticket.reference, "threaded"]

    assert run(str(first)).split() == [ticket.reference, "duplicate"]
    assert Message.objects.count() == 2


def test_standard_input(tmp_path):
    assert run("-", stdin=email(3)).endswith("new\n")
    assert Ticket.objects.get().subject == "Question 3"


def test_mta_pipe_with_envelope_from_line():
    data = b"From pat@example.com Sat Nov 21 09:30:00 2026\n" + email(4).replace(b"\r\n", b"\n")
    assert run("-", stdin=data).endswith("new\n")
    assert Ticket.objects.count() == 1


def test_mbox_file(tmp_path):
    path = tmp_path / "archive.mbox"
    box = mailbox.mbox(path)
    for n in range(3):
        box.add(email(10 + n, sender=f"p{n}@example.com"))
    box.flush()
    lines = run(str(path)).splitlines()
    assert [line.split()[-1] for line in lines] == ["new", "new", "new"]
    assert Ticket.objects.count() == 3


def test_maildir_folder(tmp_path):
    folder = mailbox.Maildir(tmp_path / "Maildir")
    folder.add(email(20))
    folder.add(email(21, extra="References: <m20@example.com>\r\n"))
    lines = run(str(tmp_path / "Maildir")).splitlines()
    assert sorted(line.split()[-1] for line in lines) == ["new", "threaded"]


def test_rejected_message_is_reported_and_exits_zero(tmp_path):
    path = tmp_path / "nosender.eml"
    path.write_bytes(b"Message-ID: <x@y>\r\nSubject: hi\r\n\r\nno sender here\r\n")
    output = run(str(path))
    assert output.startswith("rejected: ")
    assert not Ticket.objects.exists()


def test_missing_path_is_a_clear_error():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no such file"):
        run("/nonexistent/mail.eml")


def test_database_down_exits_75_so_the_mta_retries(tmp_path):
    path = tmp_path / "m.eml"
    path.write_bytes(email(30))
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/helpdesk",
        "DEBUG": "1",
        "REDIS_URL": "",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "ingest_email", str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 75, result.stderr
    assert "not stored" in result.stderr


def test_a_message_of_megabytes_is_stored_and_read_whole_and_its_redelivery_once(tmp_path):
    """Large payloads are written apart, as one binary parameter (less memory): what is
    stored is the message to the byte, and a redelivery still finds it."""
    import tracemalloc
    from email.message import EmailMessage

    from channels_ingest.models import InboundItem

    message = EmailMessage()
    message["From"], message["To"] = "Big <big@example.com>", "support@localhost"
    message["Subject"], message["Message-ID"] = "Huge logs", "<huge@example.com>"
    message.set_content("Logs attached.")
    logs = [os.urandom(4 * 1024 * 1024) for _ in range(2)]
    for number, log in enumerate(logs):
        message.add_attachment(log, maintype="application", subtype="octet-stream",
                               filename=f"log{number}.bin")  # fmt: skip
    raw = message.as_bytes()
    path = tmp_path / "huge.eml"
    path.write_bytes(raw)

    tracemalloc.start()
    try:
        assert run(str(path)).split()[1] == "new"
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert bytes(InboundItem.objects.get().payload) == raw
    stored = Message.objects.get().attachments.order_by("filename")
    assert [a.file.read() for a in stored] == logs
    assert run(str(path)).split()[1] == "duplicate"
    # About 11 MB of mail: 5.7 times its size in Python memory at the peak; 8.9 times
    # before the payload was written apart and the parser fed in pieces.
    assert peak < 7 * len(raw), peak / len(raw)


def test_a_message_over_the_limit_is_refused_with_a_bounce_status_and_the_rest_taken(
    tmp_path, settings
):
    settings.HELPDESK_MAX_EMAIL_BYTES = 400
    box = mailbox.mbox(tmp_path / "mixed.mbox")
    box.add(email(21))
    box.add(email(22, extra="X-Padding: " + "x" * 500 + "\r\n"))
    box.add(email(23))
    box.flush()
    out = StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("ingest_email", str(tmp_path / "mixed.mbox"), stdout=out)
    assert exited.value.code == 65  # EX_DATAERR: the MTA tells the sender
    lines = out.getvalue().splitlines()
    assert sum(line.endswith(" new") for line in lines) == 2
    big = len(mailbox.mbox(tmp_path / "mixed.mbox").get_bytes(1))
    assert [line for line in lines if line.startswith("refused:")] == [
        f"refused: a message of {big:,} bytes, over the limit of 400 (HELPDESK_MAX_EMAIL_BYTES)"
    ]
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == [
        "Question 21",
        "Question 23",
    ]


def test_a_batch_repeating_a_message_id_stores_the_first_copy_whole(tmp_path):
    from channels_ingest.models import InboundItem

    big = email(31, extra="X-Padding: " + "y" * (1024 * 1024) + "\r\n")
    small = email(31)  # the same Message-ID, a list that stripped it down
    box = mailbox.mbox(tmp_path / "twice.mbox")
    box.add(big)
    box.add(small)
    box.flush()
    first = mailbox.mbox(tmp_path / "twice.mbox").get_bytes(0)
    lines = run(str(tmp_path / "twice.mbox")).split("\n")
    assert lines[0].endswith(" new") and lines[1].endswith(" duplicate")
    assert bytes(InboundItem.objects.get().payload) == first
