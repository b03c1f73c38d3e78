"""Parsed golden emails through the real ingestion service and the inbound pipeline."""

from pathlib import Path

import pytest

from channels_ingest import pipeline
from channels_ingest.email.parse import UNREADABLE_NOTE, idempotency_key, parse_email
from channels_ingest.models import InboundItem, InboundStatus
from tickets import services
from tickets.inbound import IngestOutcome
from tickets.models import Attachment, Message, Ticket, TicketParticipant

pytestmark = pytest.mark.django_db

GOLDEN = Path(__file__).parent / "golden"


def golden(name: str) -> bytes:
    return (GOLDEN / name).read_bytes()


def stored_files(message: Message) -> list[tuple[str, str, int, str, bytes]]:
    found = []
    for item in message.attachments.order_by("pk"):
        with item.file.open("rb") as handle:
            content = handle.read()
        found.append((item.filename, item.content_type, item.size, item.content_id, content))
    return found


def test_html_is_sanitised_and_the_original_kept() -> None:
    raw = golden("html_script.eml")
    result = services.ticket_ingest(inbound=parse_email(raw))

    message = Message.objects.get(pk=result.message.pk)
    assert message.body_text == "Hello, my invoice is wrong.\n\nClick here to see it."
    html = message.body_html.lower()
    assert "hello, my invoice is wrong." in html
    for dangerous in ("<script", "document.cookie", "onerror", "onload", "javascript:", "<iframe"):
        assert dangerous not in html
    with message.original.open("rb") as handle:
        assert handle.read() == raw
    assert message.external_id == "<xss-1@example.net>"


def test_attachments_are_stored_under_sanitised_names() -> None:
    result = services.ticket_ingest(inbound=parse_email(golden("path_traversal.eml")))

    files = stored_files(Message.objects.get(pk=result.message.pk))
    assert [(name, content_type, size) for name, content_type, size, _, _ in files] == [
        ("passwd", "text/plain", 31),
        ("win.ini", "text/plain", 7),
        ("evil.exe", "application/x-msdownload", 57),
        ("invoicefdp.exe", "application/x-msdownload", 2),
        ("photo.jpg", "application/pdf", 275),
        ("attachment-6.bin", "application/octet-stream", 4),
        ("a" * 146 + ".txt", "text/plain", 4),
    ]
    assert files[0][4] == b"root:x:0:0:root:/root:/bin/bash"
    assert files[4][4].startswith(b"%PDF-1.4")
    for item in Attachment.objects.all():
        assert ".." not in item.file.name
        assert item.file.name.startswith("attachments/")


def test_inline_image_keeps_its_content_id_and_the_reply_threads() -> None:
    first = services.ticket_ingest(inbound=parse_email(golden("apple_mail_iphone.eml")))
    files = stored_files(Message.objects.get(pk=first.message.pk))
    assert [(name, content_id) for name, _, _, content_id, _ in files] == [
        ("IMG_0042.png", "3F9C2A1E-7B44-4C1D-9E0A-55D1C3B2A901")
    ]
    assert 'src="cid:3F9C2A1E-7B44-4C1D-9E0A-55D1C3B2A901"' in first.message.body_html

    reply = (
        b"From: Lena Fischer <lena.fischer@icloud.com>\r\nTo: support@localhost\r\n"
        b"Subject: Re: Label printer prints twice\r\nMessage-ID: <reply-1@icloud.com>\r\n"
        b"In-Reply-To: <8D2B6E4A-1F3C-4A9B-B7E5-0C6D9F2A1B34@icloud.com>\r\n\r\n"
        b"It works again, thanks!\r\n\r\n"
        b"On 8 Jan 2025, at 12:41, Lena Fischer <lena.fischer@icloud.com> wrote:\r\n> old\r\n"
    )
    second = services.ticket_ingest(inbound=parse_email(reply))
    assert second.outcome == IngestOutcome.THREADED
    assert second.ticket.pk == first.ticket.pk
    assert second.message.body_text == "It works again, thanks!"


def test_cc_become_participants_and_redelivery_is_a_duplicate() -> None:
    raw = golden("gmail_reply.eml")
    first = services.ticket_ingest(inbound=parse_email(raw))
    assert first.outcome == IngestOutcome.NEW
    assert list(TicketParticipant.objects.values_list("email", "name")) == [
        ("tom.becker@example.org", "Tom Becker")
    ]
    again = services.ticket_ingest(inbound=parse_email(raw))
    assert again.outcome == IngestOutcome.DUPLICATE
    assert again.message.pk == first.message.pk
    assert Message.objects.count() == 1


def test_unreadable_message_keeps_original_eml_as_an_attachment() -> None:
    levels = 300  # beyond what the parser is allowed to nest
    parts = ['Content-Type: multipart/mixed; boundary="n0"\r\n\r\n']
    parts += [
        f'--n{n - 1}\r\nContent-Type: multipart/mixed; boundary="n{n}"\r\n\r\n'
        for n in range(1, levels)
    ]
    raw = (
        b"From: Deep <deep@example.com>\r\nSubject: Nested\r\n"
        + "".join(parts).encode()
        + b"--n299\r\nContent-Type: text/plain\r\n\r\nlost text\r\n"
    )
    result = services.ticket_ingest(inbound=parse_email(raw))

    message = Message.objects.get(pk=result.message.pk)
    assert message.body_text == UNREADABLE_NOTE
    assert [
        (name, content_type, content) for name, content_type, _, _, content in stored_files(message)
    ] == [("original.eml", "message/rfc822", raw)]
    assert result.ticket.subject == "Nested"


def test_nul_bytes_and_foreign_charsets_store_on_every_database() -> None:
    for name in ("nul_bytes.eml", "japanese_iso2022jp.eml", "raw_8bit_headers.eml"):
        services.ticket_ingest(inbound=parse_email(golden(name)))
    subjects = set(Ticket.objects.values_list("subject", flat=True))
    assert subjects == {"Zero bytes", "ログインできません", "Fråga om fakturan"}
    assert Message.objects.get(external_id="<nul-1@example.com>").body_text == (
        "Line with a  NUL byte.\n\nEnd."
    )


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("thunderbird_pdf.eml", InboundStatus.PROCESSED),
        ("bounce_report.eml", InboundStatus.PROCESSED),
        ("no_sender.eml", InboundStatus.REJECTED),
    ],
)
def test_pipeline_parses_stored_email(name: str, status: str) -> None:
    raw = golden(name)
    item, created = pipeline.receive(
        channel="email",
        source="test",
        key=idempotency_key(raw),
        payload=raw,
        content_type="message/rfc822",
        enqueue=False,
    )
    assert created
    processed = pipeline.process(item.pk)
    assert processed is not None
    assert (processed.status, processed.error) == (
        status,
        "no sender address" if status == InboundStatus.REJECTED else "",
    )
    if status == InboundStatus.PROCESSED:
        message = Message.objects.get(pk=processed.message_id)
        assert message.external_id == InboundItem.objects.get(pk=item.pk).idempotency_key
    else:
        assert not Message.objects.exists()
