"""The email parser's rules one by one: keys, names, types, charsets, limits, hostile input."""

import hashlib
import random
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from channels_ingest.email import content as content_module
from channels_ingest.email import parse as parse_module
from channels_ingest.email.content_files import format_size, sanitize_filename
from channels_ingest.email.content_text import html_to_text, trim_reply, unflow
from channels_ingest.email.parse import (
    EMPTY_NOTE,
    PARTLY_READ_NOTE,
    UNREADABLE_NOTE,
    idempotency_key,
    parse_email,
)
from channels_ingest.email.parse_headers import decode_bytes, decode_words
from channels_ingest.errors import Rejected
from tickets.files import FILENAME_MAX_CHARS, sniff_content_type
from tickets.inbound import InboundMessage

GOLDEN = Path(__file__).parent / "golden"
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
NOW = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)


def email(*headers: str, body: str = "Hello.", content_type: str = "") -> bytes:
    """A small message: the given header lines, a sender unless one is given, and a body."""
    lines = list(headers)
    if not any(line.lower().startswith(("from:", "reply-to:", "sender:")) for line in lines):
        lines.insert(0, "From: Customer <customer@example.com>")
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode("utf-8")


def mixed(*parts: str, boundary: str = "BOUNDARY") -> str:
    return "".join(f"--{boundary}\r\n{part}\r\n" for part in parts) + f"--{boundary}--\r\n"


# --- idempotency_key --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        (b"Message-ID: <abc@example.com>\r\n\r\nx", "<abc@example.com>"),
        (b"Message-Id:   <abc@example.com>   \r\n\r\nx", "<abc@example.com>"),
        (b"message-id:\r\n  <folded@example.com>\r\n\r\nx", "<folded@example.com>"),
        (b"Message-ID: abc@example.com\r\n\r\nx", "<abc@example.com>"),
        (b"Message-ID: < spaced@example.com >\r\n\r\nx", "<spaced@example.com>"),
        (b"Message-ID: <first@x> <second@x>\r\n\r\nx", "<first@x>"),
        (b"Message-ID: <first@x>\r\nMessage-ID: <second@x>\r\n\r\nx", "<first@x>"),
        (b"Message-ID: <>\r\nMessage-ID: <second@x>\r\n\r\nx", "<second@x>"),
        (b"Message-ID: <nul\x00@x>\r\n\r\nx", "<nul@x>"),
        (b"From mbox@x Mon Jan  6 10:00:00 2025\nMessage-ID: <m@x>\n\nx", "<m@x>"),
    ],
)
def test_idempotency_key_is_the_normalised_message_id(raw: bytes, key: str) -> None:
    assert idempotency_key(raw) == key


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe",
        b"From: a@example.com\r\n\r\nno id",
        b"Message-ID:\r\n\r\nempty",
        b"Message-ID: <>\r\n\r\nempty brackets",
        b"From: a@example.com\r\n\r\nMessage-ID: <in-the-body@x>\r\n",
        bytes(range(256)) * 10,
    ],
)
def test_idempotency_key_without_a_message_id_is_the_digest(raw: bytes) -> None:
    assert idempotency_key(raw) == "sha256:" + hashlib.sha256(raw).hexdigest()


def test_overlong_message_id_is_digested_to_fit_the_column() -> None:
    message_id = "<" + "x" * 2000 + "@example.com>"
    key = idempotency_key(f"Message-ID: {message_id}\r\n\r\nx".encode())
    assert key == "sha256:" + hashlib.sha256(message_id.encode()).hexdigest()
    assert len(key) <= 500


def test_idempotency_key_never_raises_on_random_bytes() -> None:
    generator = random.Random(7)
    for _ in range(300):
        raw = generator.randbytes(generator.randint(0, 2000))
        assert idempotency_key(raw)


def test_external_id_is_the_idempotency_key() -> None:
    raw = email("Message-ID: <same@example.com>")
    assert parse_email(raw).external_id == idempotency_key(raw) == "<same@example.com>"
    raw = email("Subject: no id")
    assert parse_email(raw).external_id == idempotency_key(raw)


# --- sender, subject, addresses, threading, dates ----------------------------------------------


@pytest.mark.parametrize(
    ("headers", "sender", "name"),
    [
        (["From: Jane Doe <Jane.Doe@Example.com>"], "Jane.Doe@Example.com", "Jane Doe"),
        (['From: "Doe, Jane" <jane@example.com>'], "jane@example.com", "Doe, Jane"),
        (["From: jane@example.com (Jane)"], "jane@example.com", "Jane"),
        (
            ["From: =?ISO-8859-1?Q?Andr=E9?= Pirard <a@example.com>"],
            "a@example.com",
            "André Pirard",
        ),
        (["From: =?UTF-8?B?QW5kcsOp?= <a@example.com>"], "a@example.com", "André"),
        (["From: =?iso-2022-jp?B?GyRCOzNFRBsoQg==?= <y@example.jp>"], "y@example.jp", "山田"),
        (["From: not an address", "Reply-To: R <r@example.com>"], "r@example.com", "R"),
        (["Reply-To: r@example.com", "Sender: s@example.com"], "r@example.com", ""),
        (["From: undisclosed-recipients:;", "Sender: S <s@example.com>"], "s@example.com", "S"),
    ],
)
def test_sender_and_fallbacks(headers: list[str], sender: str, name: str) -> None:
    message = parse_email(email(*headers))
    assert (message.sender, message.sender_name) == (sender, name)


@pytest.mark.parametrize(
    "headers",
    [[], ["From: nobody"], ["From: <>"], ["From: =?utf-8?q?x?="], ["Reply-To: @", "Sender: a@"]],
)
def test_no_usable_sender_is_rejected(headers: list[str]) -> None:
    raw = ("\r\n".join(["To: support@localhost", *headers]) + "\r\n\r\nHello").encode()
    with pytest.raises(Rejected) as refusal:
        parse_email(raw)
    assert refusal.value.reason == "no sender address"


def test_encoded_subjects_are_decoded_and_unfolded() -> None:
    raw = email(
        "Subject: =?UTF-8?B?SGVsbG8g?=\r\n =?UTF-8?Q?W=C3=B6rld?= and\r\n\tmore",
    )
    assert parse_email(raw).subject == "Hello Wörld and more"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("=?utf-8?q?caf=C3=A9?=", "café"),
        ("=?windows-1252?Q?=80_5?=", "€ 5"),
        ("=?koi8-r?B?8NLJ18XU?=", "Привет"),
        ("=?gb2312?B?xOO6ww==?=", "你好"),
        ("=?shift_jis?B?g2WDWINn?=", "テスト"),
        ("=?x-unknown?Q?caf=C3=A9?=", "café"),
        ("=?utf-8?B?bWlzc2luZyBwYWRkaW5n?=", "missing padding"),
        ("=?utf-8?B?!!!?=", ""),
        ("plain =?broken", "plain =?broken"),
        ("=?utf-8*en?Q?lang?=", "lang"),
    ],
)
def test_decode_words(value: str, text: str) -> None:
    assert decode_words(value) == text


def test_recipients_and_cc() -> None:
    raw = email(
        "From: Jane <JANE@example.com>",
        "To: Support <Support@Localhost>, jane@example.com",
        "Cc: Bob <bob@example.com>, undisclosed-recipients:;, Bob <BOB@example.com>",
        "Delivered-To: support+t42-0123456789abcdef@localhost",
        "X-Original-To: helpdesk@example.net",
        "Envelope-To: Support@localhost",
    )
    message = parse_email(raw)
    assert message.recipients == (
        "support@localhost",
        "jane@example.com",
        "bob@example.com",
        "support+t42-0123456789abcdef@localhost",
        "helpdesk@example.net",
    )
    assert message.cc == (("Support@Localhost", "Support"), ("bob@example.com", "Bob"))


@pytest.mark.parametrize(
    ("headers", "thread_ids"),
    [
        (["In-Reply-To: <a@x>", "References: <r1@x> <r2@x> <a@x>"], ("<a@x>", "<r2@x>", "<r1@x>")),
        (["References: <r1@x>\r\n <r2@x>\r\n\t<r3@x>"], ("<r3@x>", "<r2@x>", "<r1@x>")),
        (["In-Reply-To: <a@x> (Jane's message of Monday)"], ("<a@x>",)),
        (["In-Reply-To: bare@x"], ("<bare@x>",)),
        (["In-Reply-To: Your message of Monday, 6 January"], ()),
        (["References: garbage <<>> <ok@x> <also bad"], ("<ok@x>",)),
        (
            ["References: " + " ".join(f"<r{i}@x>" for i in range(300))],
            tuple(f"<r{i}@x>" for i in range(299, 199, -1)),
        ),
    ],
)
def test_thread_ids(headers: list[str], thread_ids: tuple[str, ...]) -> None:
    assert parse_email(email(*headers)).thread_ids == thread_ids


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("Tue, 14 Jan 2025 10:00:00 +0100", datetime(2025, 1, 14, 9, 0, tzinfo=UTC)),
        ("14 Jan 2025 10:00:00 -0000", datetime(2025, 1, 14, 10, 0, tzinfo=UTC)),
        ("Thu, 16 Jan 2025 11:00:00 +0000", datetime(2025, 1, 16, 11, 0, tzinfo=UTC)),
        ("Fri, 17 Jan 2025 12:00:01 +0000", None),  # more than a day ahead
        ("Mon, 1 Jan 1980 00:00:00 +0000", None),
        ("yesterday", None),
        ("Tue, 99 Foo 2025 99:99:99 +9999", None),
        ("", None),
    ],
)
def test_received_at(date: str, expected: datetime | None) -> None:
    raw = email(f"Date: {date}")
    assert parse_email(raw, now=NOW).received_at == expected


# --- automatic mail ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "automatic"),
    [
        ([], False),
        (["Auto-Submitted: auto-replied"], True),
        (["Auto-Submitted: auto-generated; owner-email=x@example.com"], True),
        (["Auto-Submitted: no"], False),
        (["Auto-Submitted: No "], False),
        (["Precedence: bulk"], True),
        (["Precedence: junk"], True),
        (["Precedence: list"], True),
        (["Precedence: auto_reply"], True),
        (["Precedence: first-class"], False),
        (["X-Autoreply: yes"], True),
        (["X-Autorespond: Out of office"], True),
        (["X-Autoresponder: 1"], True),
        (["X-Auto-Response-Suppress: All"], False),
        (["List-Id: <users.lists.example.org>"], True),
        (["List-Unsubscribe: <mailto:leave@example.org>"], True),
        (["From: MAILER-DAEMON@mx.example.com"], True),
        (["From: postmaster@example.com"], True),
        (["From: No Reply <no-reply@example.com>"], True),
        (["From: noreply+bounces@example.com"], True),
        (["From: do-not-reply@example.com"], True),
        (["From: replyman@example.com"], False),
        (["Sender: noreply@example.com"], True),
        (["Return-Path: <>"], True),
        (["Return-Path: <bounce@example.com>"], False),
        (["Content-Type: multipart/report; report-type=delivery-status; boundary=b"], True),
    ],
)
def test_is_automatic(headers: list[str], automatic: bool) -> None:
    assert parse_email(email(*headers)).is_automatic is automatic


# --- bodies -----------------------------------------------------------------------------------


def test_plain_text_is_preferred_over_html() -> None:
    body = mixed(
        "Content-Type: text/plain; charset=utf-8\r\n\r\nThe plain version.",
        "Content-Type: text/html; charset=utf-8\r\n\r\n<p>The <b>HTML</b> version.</p>",
    )
    message = parse_email(
        email(body=body, content_type='multipart/alternative; boundary="BOUNDARY"')
    )
    assert message.text == "The plain version."
    assert message.html == "<p>The <b>HTML</b> version.</p>"


def test_text_from_html_keeps_links_and_drops_scripts_and_styles() -> None:
    html = (
        "<html><head><title>T</title><style>p{color:red}</style></head><body>"
        "<p>See <a href='https://example.com/x'>the page</a>.</p><script>alert(1)</script>"
        "<div>Line one</div><div><br></div><div><br></div><div><br></div><div>Line two</div>"
        "<p><a href=\"javascript:alert(2)\">Click</a> <a href=' data:text/html,x'>me</a></p>"
        "</body></html>"
    )
    text = parse_email(email(body=html, content_type="text/html")).text
    assert text == "See [the page](https://example.com/x).\n\nLine one\n\nLine two\n\nClick me"


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<html><head><meta charset=utf-8><body><p>No closing head.</p>", "No closing head."),
        ("<title>Untitled<p>Body", "Untitled\n\nBody"),
        ("<p>Before</p><script>var x = 1;", "Before"),
        ("<p>Before</p><STYLE>p{}</Style><p>After</p>", "Before\n\nAfter"),
        ("<!-- never closed <p>hidden", ""),
        (
            '<a href="https://ok.example">ok</a> <a href="javascript:x()">bad</a>',
            ("[ok](https://ok.example) bad"),
        ),
    ],
)
def test_html_to_text_edge_cases(html: str, text: str) -> None:
    assert html_to_text(html) == text


@pytest.mark.parametrize(
    "html",
    [
        '<a href="#' * 50_000,
        "<a x='" * 50_000,
        "<!--" * 50_000,
        "<ul><li>" * 20_000,
        "<blockquote>" * 20_000,
        "<table><tr><td>" * 20_000,
        "<div>" * 100_000,
        "<blockquote>" * 10 + "line<br>" * 60_000,
        "<script>" * 100_000,
        "<" * 1_000_000,
        "<p>x" * 300_000,
    ],
    ids=[
        "attribute",
        "single-quote",
        "comment",
        "list",
        "quote",
        "table",
        "div",
        "indented",
        "script",
        "lt",
        "big",
    ],
)
def test_html_to_text_is_fast_on_hostile_markup(html: str) -> None:
    started = time.monotonic()
    html_to_text(html)
    assert time.monotonic() - started < 5


def test_empty_text_part_falls_back_to_html() -> None:
    body = mixed(
        "Content-Type: text/plain\r\n\r\n   ",
        "Content-Type: text/html\r\n\r\n<p>Only here.</p>",
    )
    message = parse_email(
        email(body=body, content_type='multipart/alternative; boundary="BOUNDARY"')
    )
    assert message.text == "Only here."


def test_crlf_and_trailing_whitespace_are_normalised() -> None:
    raw = email(body="line one   \r\nline two\t\r\n\r\n\r\n", content_type="text/plain")
    assert parse_email(raw).text == "line one\nline two"


def test_text_parts_around_an_inline_image_are_joined() -> None:
    body = mixed(
        "Content-Type: text/plain\r\n\r\nBefore the picture.",
        "Content-Type: image/png\r\nContent-Disposition: inline; filename=a.png\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n" + __import__("base64").b64encode(PNG).decode(),
        "Content-Type: text/plain\r\n\r\nAfter the picture.",
    )
    message = parse_email(email(body=body, content_type='multipart/mixed; boundary="BOUNDARY"'))
    assert message.text == "Before the picture.\n\nAfter the picture."
    assert [item.filename for item in message.attachments] == ["a.png"]


def test_html_and_plain_siblings_both_reach_html_and_text() -> None:
    body = mixed(
        "Content-Type: text/plain\r\n\r\nFirst in plain.",
        "Content-Type: text/html\r\n\r\n<p>Second in HTML.</p>",
    )
    message = parse_email(email(body=body, content_type='multipart/mixed; boundary="BOUNDARY"'))
    assert message.text == "First in plain.\n\nSecond in HTML."
    assert message.html == "<div>First in plain.</div>\n<p>Second in HTML.</p>"


def test_forwarded_message_text_html_and_attachments() -> None:
    inner = (
        "From: =?utf-8?q?Ren=C3=A9?= <rene@example.fr>\r\nSubject: Original\r\n"
        'Content-Type: multipart/mixed; boundary="IN"\r\n\r\n'
        + mixed(
            "Content-Type: text/html\r\n\r\n<p>Inner <i>HTML</i>.</p>",
            "Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=i.pdf"
            "\r\n\r\n" + PDF.decode(),
            boundary="IN",
        )
    )
    body = mixed(
        'Content-Type: multipart/alternative; boundary="ALT"\r\n\r\n'
        + mixed(
            "Content-Type: text/plain\r\n\r\nPlease look.",
            "Content-Type: text/html\r\n\r\n<p>Please look.</p>",
            boundary="ALT",
        ),
        "Content-Type: message/rfc822\r\n\r\n" + inner,
    )
    message = parse_email(email(body=body, content_type='multipart/mixed; boundary="BOUNDARY"'))
    assert message.text == (
        "Please look.\n\n---------- Forwarded message ----------\n"
        "From: René <rene@example.fr>\nSubject: Original\n\nInner HTML."
    )
    assert message.html.startswith("<p>Please look.</p>\n<hr>\n<div>---------- Forwarded")
    assert message.html.endswith("<p>Inner <i>HTML</i>.</p>")
    assert [(a.filename, a.content_type) for a in message.attachments] == [
        ("i.pdf", "application/pdf")
    ]


def test_plain_message_with_html_only_forward_keeps_html_empty() -> None:
    body = mixed(
        "Content-Type: text/plain\r\n\r\nFYI.",
        "Content-Type: message/rfc822\r\n\r\nFrom: a@example.com\r\n"
        "Content-Type: text/html\r\n\r\n<p>Forwarded.</p>",
    )
    message = parse_email(email(body=body, content_type='multipart/mixed; boundary="BOUNDARY"'))
    assert message.text == (
        "FYI.\n\n---------- Forwarded message ----------\nFrom: a@example.com\n\nForwarded."
    )
    assert message.html == ""


def test_a_named_text_part_is_the_body_when_it_is_the_whole_message() -> None:
    raw = email(
        "Content-Disposition: inline; filename=body.txt", body="Hi.", content_type="text/plain"
    )
    assert (parse_email(raw).text, parse_email(raw).attachments) == ("Hi.", ())
    body = mixed(
        "Content-Type: text/plain\r\n\r\nSee the log.",
        "Content-Type: text/plain\r\nContent-Disposition: inline; filename=log.txt\r\n\r\nERR",
    )
    message = parse_email(email(body=body, content_type='multipart/mixed; boundary="BOUNDARY"'))
    assert message.text == "See the log."
    assert [(a.filename, a.content) for a in message.attachments] == [("log.txt", b"ERR")]


def test_wrong_boundary_is_recovered_from_the_delimiter_lines() -> None:
    body = mixed("Content-Type: text/plain\r\n\r\nRecovered text.", boundary="ACTUAL")
    raw = email(body=body, content_type='multipart/mixed; boundary="DECLARED"')
    message = parse_email(raw)
    assert message.text == "Recovered text."
    assert message.attachments == ()


def test_multipart_without_any_delimiter_is_read_as_text() -> None:
    raw = email(body="Just words.", content_type="multipart/mixed")
    message = parse_email(raw)
    assert message.text == f"Just words.\n\n{PARTLY_READ_NOTE}"
    assert original_of(message) == raw


@pytest.mark.parametrize("encoding", ["base64", "quoted-printable"])
def test_encoded_forwarded_message_is_decoded(encoding: str) -> None:
    import base64
    import quopri

    inner = "From: Bank <alerts@bank.example>\r\nSubject: Déclined\r\n\r\nYour card was declined."
    data = inner.encode()
    encoded = base64.encodebytes(data) if encoding == "base64" else quopri.encodestring(data)
    body = mixed(
        "Content-Type: text/plain\r\n\r\nSee attached.",
        f"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n"
        + encoded.decode(),
    )
    message = parse_email(email(body=body, content_type='multipart/mixed; boundary="BOUNDARY"'))
    assert message.text == (
        "See attached.\n\n---------- Forwarded message ----------\n"
        "From: Bank <alerts@bank.example>\nSubject: Déclined\n\nYour card was declined."
    )


def test_report_parts_after_the_first_are_files() -> None:
    body = mixed(
        "Content-Type: text/plain\r\n\r\nYour message was read.",
        "Content-Type: message/disposition-notification\r\n\r\n"
        "Final-Recipient: rfc822; a@example.com\r\nDisposition: manual-action/MDN-sent-manually;"
        " displayed\r\n",
        "Content-Type: text/rfc822-headers\r\n\r\nSubject: Hello\r\n",
    )
    raw = email(
        body=body,
        content_type='multipart/report; report-type=disposition-notification; boundary="BOUNDARY"',
    )
    message = parse_email(raw)
    assert message.text == "Your message was read."
    assert message.is_automatic is True
    assert [(a.filename, a.content_type) for a in message.attachments] == [
        ("attachment-1.txt", "message/disposition-notification"),
        ("attachment-2.txt", "text/rfc822-headers"),
    ]


@pytest.mark.parametrize(
    ("data", "charset", "text"),
    [
        ("grüße".encode(), "utf-8", "grüße"),
        ("grüße".encode("latin-1"), "iso-8859-1", "grüße"),
        ("“quoted” €".encode("cp1252"), "windows-1252", "“quoted” €"),
        ("“quoted” €".encode("cp1252"), "iso-8859-1", "“quoted” €"),  # the usual lie
        ("grüße".encode(), "iso-8859-1", "grüße"),  # UTF-8 labelled latin-1
        ("grüße".encode(), "us-ascii", "grüße"),
        ("grüße".encode(), None, "grüße"),
        ("日本語".encode("iso-2022-jp"), "iso-2022-jp", "日本語"),
        ("日本語".encode("shift_jis"), "shift_jis", "日本語"),
        ("①".encode("cp932"), "shift_jis", "①"),  # a Microsoft extension
        ("Привет".encode("koi8-r"), "koi8-r", "Привет"),
        ("你好".encode("gb2312"), "gb2312", "你好"),
        ("镕".encode("gbk"), "gb2312", "镕"),  # GBK character labelled GB2312
        ("café".encode(), "x-unknown", "café"),
        ("café".encode("latin-1"), "x-unknown", "café"),
        (b"caf\xe9", "utf-8", "café"),  # lying UTF-8 label
        (b"plain", "zlib", "plain"),  # not a text codec: never applied
        (b"\\u0041", "unicode-escape", "\\u0041"),
        (b"\x81\x8d\x8f\x90\x9d", "utf-8", "\x81\x8d\x8f\x90\x9d"),  # latin-1 always reads
    ],
)
def test_decode_bytes(data: bytes, charset: str | None, text: str) -> None:
    assert decode_bytes(data, charset) == text


@pytest.mark.parametrize("encoding", ["7bit", "8bit", "binary", "quoted-printable", "base64"])
def test_transfer_encodings(encoding: str) -> None:
    import base64
    import quopri

    data = "Grüße aus Köln: 10 €".encode()
    if encoding == "base64":
        payload = base64.encodebytes(data).decode()
    elif encoding == "quoted-printable":
        payload = quopri.encodestring(data).decode()
    else:
        payload = data.decode()
    raw = email(
        f"Content-Transfer-Encoding: {encoding}",
        body=payload,
        content_type="text/plain; charset=utf-8",
    )
    assert parse_email(raw).text == "Grüße aus Köln: 10 €"


def test_format_flowed() -> None:
    flowed = (
        "A long line that was \r\nwrapped by the client.\r\n"
        "> quoted and \r\n> wrapped\r\n-- \r\nSig"
    )
    assert unflow(flowed, delsp=False) == (
        "A long line that was wrapped by the client.\n> quoted and wrapped\n-- \nSig"
    )
    assert unflow("join\r\ned", delsp=True) == "join\ned"
    assert unflow("de \r\nleted", delsp=True) == "deleted"
    assert unflow(" >stuffed", delsp=False) == ">stuffed"


# --- trimming ---------------------------------------------------------------------------------


def test_trim_keeps_lists_and_indentation() -> None:
    text = (
        "Steps:\n- open the app\n- press Save\n\n    indented code\n\n"
        "On Mon, Jan 6, 2025 at 10:00 AM Support <support@localhost> wrote:\n> old"
    )
    assert trim_reply(text) == ("Steps:\n- open the app\n- press Save\n\n    indented code")


def test_trim_keeps_an_inline_forward_whole() -> None:
    text = (
        "See below.\n\n---------- Forwarded message ---------\n"
        "From: Bank <alerts@bank.example>\nDate: Mon, Jan 6, 2025\nSubject: Declined\n"
        "To: me@example.com\n\nYour payment was declined."
    )
    assert trim_reply(text) == text


def test_trim_leaves_forwards_by_subject_alone() -> None:
    text = "FYI\n\nFrom: A <a@x>\nSent: Monday\nTo: B\nSubject: Hi\n\nThe original."
    assert trim_reply(text, subject="Fwd: Hi") == text
    assert trim_reply(text, subject="Re: Hi") == "FYI"


def test_trim_keeps_bottom_posting_whole() -> None:
    text = "On Mon, Jan 6, 2025 at 10:00 AM Support wrote:\n> question?\n\nMy answer below."
    assert trim_reply(text) == text


def test_trim_that_would_leave_nothing_keeps_the_text() -> None:
    text = "Thanks,\nAnna"
    assert trim_reply(text) == text


def test_trim_handles_hostile_lines_quickly() -> None:
    text = ("On " + "a " * 5000 + "\n") * 600
    assert trim_reply(text) == text.strip("\n")


# --- attachments ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\win.ini", "win.ini"),
        ("C:\\evil.exe", "evil.exe"),
        ("/var/tmp/x.txt", "x.txt"),
        (".htaccess", "htaccess"),
        ("...hidden.txt", "hidden.txt"),
        ("trailing dots...", "trailing dots"),
        ("a\x00b\x1fc.txt", "abc.txt"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),
        ('a<b>c:d"e|f?g*h.txt', "a_b_c_d_e_f_g_h.txt"),
        ("  many   spaces  .doc", "many spaces.doc"),
        ("CON.txt", "_CON.txt"),
        ("lpt1", "_lpt1"),
        ("=?UTF-8?B?w6l0w6kucGRm?=", "été.pdf"),
        ("Cafe\u0301.txt", "Café.txt"),
        ("archive.tar.gz", "archive.tar.gz"),
        ("a." + "b" * 40, "a_" + "b" * 40),
        ("x" * 300 + ".docx", "x" * 145 + ".docx"),
        ("y" * 300, "y" * 149),
    ],
)
def test_sanitize_filename(name: str, safe: str) -> None:
    result = sanitize_filename(name)
    assert result == safe
    assert len(result) <= FILENAME_MAX_CHARS


@pytest.mark.parametrize(
    ("name", "content_type", "fallback"),
    [
        ("", "application/pdf", "attachment-3.pdf"),
        ("....", "image/png", "attachment-3.png"),
        ("../..", "image/jpeg", "attachment-3.jpg"),
        ("$$$", "text/plain", "attachment-3.txt"),
        ("\u202e", "application/x-unknown", "attachment-3.bin"),
    ],
)
def test_sanitize_filename_fallback(name: str, content_type: str, fallback: str) -> None:
    assert sanitize_filename(name, content_type=content_type, index=3) == fallback


@pytest.mark.parametrize(
    ("content", "declared", "sniffed"),
    [
        (PDF, "image/jpeg", "application/pdf"),
        (PNG, "application/octet-stream", "image/png"),
        (b"just text", "text/plain", "text/plain"),
        (b"just text", "Text/CSV", "text/csv"),
        (b"just text", "garbage", "application/octet-stream"),
        (b"just text", "text/plain; charset=x", "application/octet-stream"),
        (b"", "image/png", "image/png"),
        (b"PK\x03\x04" + b"\x00" * 40, "application/pdf", "application/zip"),
    ],
)
def test_sniff_content_type(content: bytes, declared: str, sniffed: str) -> None:
    assert sniff_content_type(content, declared) == sniffed


def attachment(name: str, data: bytes, content_type: str = "application/octet-stream") -> str:
    import base64

    return (
        f'Content-Type: {content_type}; name="{name}"\r\n'
        f'Content-Disposition: attachment; filename="{name}"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(data).decode()
    )


def test_pdf_named_jpg_is_a_pdf() -> None:
    body = mixed("Content-Type: text/plain\r\n\r\nHi", attachment("x.jpg", PDF, "image/jpeg"))
    message = parse_email(email(body=body, content_type='multipart/mixed; boundary="BOUNDARY"'))
    assert [(a.filename, a.content_type) for a in message.attachments] == [
        ("x.jpg", "application/pdf")
    ]


def test_inline_image_keeps_its_content_id() -> None:
    body = mixed(
        'Content-Type: text/html\r\n\r\n<img src="cid:logo@x">',
        "Content-Type: image/png\r\nContent-ID: < logo@x >\r\nContent-Disposition: inline\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n" + __import__("base64").b64encode(PNG).decode(),
    )
    message = parse_email(email(body=body, content_type='multipart/related; boundary="BOUNDARY"'))
    assert [(a.filename, a.content_type, a.content_id) for a in message.attachments] == [
        ("attachment-1.png", "image/png", "logo@x")
    ]


def test_rfc2231_and_encoded_filenames() -> None:
    body = mixed(
        "Content-Type: text/plain\r\n\r\nHi",
        "Content-Type: application/pdf\r\n"
        "Content-Disposition: attachment; filename*=UTF-8''Gr%C3%BC%C3%9Fe%20%2F%20x.pdf\r\n\r\n"
        + PDF.decode(),
        "Content-Type: application/pdf\r\n"
        "Content-Disposition: attachment;\r\n filename*0*=iso-8859-1''R%E9sum;\r\n"
        " filename*1*=%E9.pdf\r\n\r\n" + PDF.decode(),
        'Content-Type: application/pdf; name="=?UTF-8?Q?Pr=C3=BCfung.pdf?="\r\n'
        "Content-Disposition: attachment\r\n\r\n" + PDF.decode(),
    )
    message = parse_email(email(body=body, content_type='multipart/mixed; boundary="BOUNDARY"'))
    assert [a.filename for a in message.attachments] == ["x.pdf", "Résumé.pdf", "Prüfung.pdf"]


def test_attachment_over_the_limit_is_named_in_the_text(settings) -> None:
    settings.HELPDESK_MAX_ATTACHMENT_BYTES = 1024
    body = mixed(
        "Content-Type: text/plain\r\n\r\nTwo files.",
        attachment("big.iso", b"\x01" * 1500),
        attachment("small.txt", b"ok", "text/plain"),
    )
    message = parse_email(email(body=body, content_type='multipart/mixed; boundary="BOUNDARY"'))
    assert [a.filename for a in message.attachments] == ["small.txt"]
    assert message.text == (
        "Two files.\n\n[Attachment big.iso (1.5 KB) was not stored: larger than the 1 KB limit.]"
    )


def test_attachments_beyond_the_total_limit_are_named_in_the_text(settings) -> None:
    settings.HELPDESK_MAX_ATTACHMENT_BYTES = 1024
    body = mixed(
        "Content-Type: text/plain\r\n\r\nThree files.",
        *(attachment(f"part{n}.bin", bytes([n]) * 900) for n in range(1, 4)),
    )
    message = parse_email(email(body=body, content_type='multipart/mixed; boundary="BOUNDARY"'))
    assert [a.filename for a in message.attachments] == ["part1.bin", "part2.bin"]
    assert message.text.endswith(
        "[Attachment part3.bin (900 bytes) was not stored: "
        "the attachments together exceed the 2 KB limit.]"
    )


def test_attachment_count_is_capped_and_notes_are_summarised() -> None:
    parts = [attachment(f"f{n}.txt", b"x", "text/plain") for n in range(130)]
    body = mixed("Content-Type: text/plain\r\n\r\nMany.", *parts)
    message = parse_email(email(body=body, content_type='multipart/mixed; boundary="BOUNDARY"'))
    assert len(message.attachments) == 100
    lines = message.text.split("\n\n")
    assert lines[0] == "Many."
    assert lines[1] == (
        "[Attachment f100.txt (1 bytes) was not stored: a message keeps at most 100 attachments.]"
    )
    assert len(lines) == 1 + 20 + 1
    assert lines[-1] == "[10 more attachments were not stored.]"


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 bytes"),
        (1023, "1023 bytes"),
        (1024, "1 KB"),
        (1536, "1.5 KB"),
        (25 * 1024 * 1024, "25 MB"),
        (123 * 1024 * 1024 + 1, "123 MB"),
        (3 * 1024**3, "3 GB"),
    ],
)
def test_format_size(size: int, text: str) -> None:
    assert format_size(size) == text


def test_archives_are_stored_as_they_are() -> None:
    import gzip

    data = gzip.compress(b"A" * 100_000)
    body = mixed("Content-Type: text/plain\r\n\r\nLogs.", attachment("logs.gz", data))
    message = parse_email(email(body=body, content_type='multipart/mixed; boundary="BOUNDARY"'))
    assert [(a.filename, a.content_type, a.content) for a in message.attachments] == [
        ("logs.gz", "application/gzip", data)
    ]


# --- what cannot be read, and hostile structure ---------------------------------------------------


def original_of(message: InboundMessage) -> bytes | None:
    found = [a for a in message.attachments if a.filename == "original.eml"]
    assert all(a.content_type == "message/rfc822" for a in found)
    return found[0].content if found else None


def test_unparseable_message_gets_a_note_and_the_original(monkeypatch) -> None:
    def explode(raw: bytes) -> None:
        raise RecursionError

    monkeypatch.setattr(content_module, "_parse", explode)
    raw = email("Subject: S", "Message-ID: <x@y>")
    message = parse_email(raw)
    assert message.text == UNREADABLE_NOTE
    assert (message.sender, message.subject, message.external_id) == (
        "customer@example.com",
        "S",
        "<x@y>",
    )
    assert original_of(message) == raw


def test_unreadable_original_over_the_limit_is_not_attached(monkeypatch, settings) -> None:
    settings.HELPDESK_MAX_ATTACHMENT_BYTES = 100
    monkeypatch.setattr(
        content_module, "_parse", lambda raw: (_ for _ in ()).throw(ValueError("boom"))
    )
    raw = email(body="x" * 500)
    message = parse_email(raw)
    assert message.attachments == ()
    assert message.text == (
        f"{UNREADABLE_NOTE}\n\n[Attachment original.eml ({len(raw)} bytes) "
        "was not stored: larger than the 100 bytes limit.]"
    )


def test_a_bug_in_the_parser_still_keeps_the_message(monkeypatch, caplog) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("the customer's words")

    monkeypatch.setattr(parse_module, "_body", broken)
    raw = email("Message-ID: <bug@x>", body="Private text.")
    message = parse_email(raw)
    assert (message.sender, message.external_id, message.text) == (
        "customer@example.com",
        "<bug@x>",
        UNREADABLE_NOTE,
    )
    assert original_of(message) == raw
    assert "email parser failed (KeyError" in caplog.text
    assert "customer's words" not in caplog.text and "Private text" not in caplog.text


def nested(levels: int, *, text: str = "Deep text.") -> bytes:
    parts = ['Content-Type: multipart/mixed; boundary="n0"\r\n\r\n']
    parts += [
        f'--n{level - 1}\r\nContent-Type: multipart/mixed; boundary="n{level}"\r\n\r\n'
        for level in range(1, levels)
    ]
    parts.append(f"--n{levels - 1}\r\nContent-Type: text/plain\r\n\r\n{text}\r\n")
    parts += [f"--n{level}--\r\n" for level in reversed(range(levels))]
    return b"From: a@example.com\r\n" + "".join(parts).encode()


def test_nesting_within_the_parser_guard_is_read_flat() -> None:
    message = parse_email(nested(150))
    assert message.text == "Deep text."
    assert original_of(message) is None


@pytest.mark.parametrize("levels", [300, 5000])
def test_nesting_beyond_the_parser_guard_keeps_the_original(levels: int) -> None:
    raw = nested(levels)
    message = parse_email(raw)
    assert message.text == UNREADABLE_NOTE
    assert original_of(message) == raw


def test_too_many_parts_reads_the_first_and_keeps_the_original() -> None:
    body = mixed(*(f"Content-Type: text/plain\r\n\r\npart {n}" for n in range(3000)))
    raw = email(body=body, content_type='multipart/mixed; boundary="BOUNDARY"')
    message = parse_email(raw)
    assert message.text.startswith("part 0\n\npart 1\n\n")
    assert message.text.endswith(f"part 498\n\n{PARTLY_READ_NOTE}")
    assert original_of(message) == raw


def test_ten_thousand_line_headers() -> None:
    raw = (
        b"From: a@example.com\r\nSubject: "
        + b"word\r\n " * 10_000
        + b"end\r\nTo: "
        + b"".join(b"u%d@example.com,\r\n " % n for n in range(10_000))
        + b"last@example.com\r\n"
        + b"".join(b"X-Header-%d: value\r\n" % n for n in range(10_000))
        + b"\r\nBody."
    )
    message = parse_email(raw)
    assert message.text == "Body."
    assert message.subject.startswith("word word") and message.subject.endswith("end")
    assert len(message.recipients) == 200


def test_very_long_text_is_cut_and_the_original_kept() -> None:
    raw = email(body="x" * 1_200_000, content_type="text/plain")
    message = parse_email(raw)
    assert message.text == "x" * 1_000_000 + "\n\n" + PARTLY_READ_NOTE
    assert original_of(message) == raw


def test_empty_messages() -> None:
    assert parse_email(email("Subject: Call me", body="")).text == EMPTY_NOTE
    message = parse_email(email(body="  \r\n "))
    assert (message.text, message.html, message.attachments) == ("", "", ())


# --- never raises -----------------------------------------------------------------------------


def assert_storable(message: InboundMessage) -> None:
    """What the database will accept: no NUL, no lone surrogates, names and ids that fit."""
    strings = [message.sender, message.sender_name, message.subject, message.text, message.html]
    strings += [name for _, name in message.cc] + list(message.thread_ids)
    for value in strings:
        assert "\x00" not in value
        value.encode("utf-8")  # no lone surrogates
    assert message.external_id and len(message.external_id) <= 500
    assert all(len(message_id) <= 500 for message_id in message.thread_ids)
    for item in message.attachments:
        item.filename.encode("utf-8")
        assert item.filename and len(item.filename) <= FILENAME_MAX_CHARS
        assert "/" not in item.filename and "\\" not in item.filename
        assert not item.filename.startswith(".")
        assert len(item.content_id) <= 255 and len(item.content_type) <= 255


def parse_or_reject(raw: bytes) -> None:
    try:
        message = parse_email(raw)
    except Rejected:
        return
    assert_storable(message)
    assert message.original == raw


def test_random_bytes_never_raise() -> None:
    generator = random.Random(20250115)
    for _ in range(400):
        parse_or_reject(generator.randbytes(generator.randint(0, 4000)))


def test_random_headers_never_raise() -> None:
    generator = random.Random(42)
    alphabet = b'From: <>@"=?:;,\r\n\t ()\\abcdefQBq\x00\xff\xc3\xa9'
    for _ in range(400):
        noise = bytes(generator.choice(alphabet) for _ in range(generator.randint(0, 400)))
        parse_or_reject(b"From: a@example.com\r\n" + noise + b"\r\n\r\nbody")
        parse_or_reject(noise)


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.eml")), ids=lambda path: path.name)
def test_truncated_and_mutated_golden_files_never_raise(path: Path) -> None:
    raw = path.read_bytes()
    for fraction in (0.05, 0.1, 0.2, 0.33, 0.5, 0.66, 0.8, 0.9, 0.97, 0.99):
        parse_or_reject(raw[: int(len(raw) * fraction)])
    generator = random.Random(path.name)
    for _ in range(10):
        mutated = bytearray(raw)
        for _ in range(20):
            mutated[generator.randrange(len(mutated))] = generator.randrange(256)
        parse_or_reject(bytes(mutated))
