# ruff: noqa: RUF001  (the expected texts are Russian, Chinese, typographic quotes)
"""Golden emails from real clients (and hostile senders): exact values for each file.

The files mirror what the clients produce (headers, boundaries, encodings); the table below
says what the help desk must make of each; an entry with only "rejected" must be refused.
"""

from pathlib import Path
from typing import Any

import pytest

from channels_ingest.email.parse import idempotency_key, parse_email
from channels_ingest.errors import Rejected

GOLDEN = Path(__file__).parent / "golden"

EXPECTED: dict[str, dict[str, Any]] = {
    "android_samsung.eml": {
        "sender": "priya.nair@yahoo.com",
        "sender_name": "Priya Nair",
        "subject": "RE: Re: App crashes on start [HD-80]",
        "external_id": "<a8e0f1c2-5d3b-4e6f-9a7c-1b2d3e4f5a6b@yahoo.com>",
        "received_at": "2025-01-09T07:12:49+00:00",
        "thread_ids": ("<hd-80.33445566778899aa@localhost>",),
        "recipients": ("support@localhost",),
        "cc": (("support@localhost", "Example Support"),),
        "is_automatic": False,
        "attachments": [],
        "text": "Still not working. The app crashes right after the splash screen.",
        "html_starts": '<html><head><meta http-equiv="Content-Ty',
    },
    "apple_mail_iphone.eml": {
        "sender": "lena.fischer@icloud.com",
        "sender_name": "Lena Fischer",
        "subject": "Label printer prints twice",
        "external_id": "<8D2B6E4A-1F3C-4A9B-B7E5-0C6D9F2A1B34@icloud.com>",
        "received_at": "2025-01-08T12:41:58+01:00",
        "thread_ids": (),
        "recipients": ("support@localhost",),
        "cc": (("support@localhost", ""),),
        "is_automatic": False,
        "attachments": [
            ("IMG_0042.png", "image/png", 68, "3F9C2A1E-7B44-4C1D-9E0A-55D1C3B2A901"),
        ],
        "text": (
            "Hello,\n"
            "\n"
            "the label printer in the warehouse prints every label twice since the "
            "update yesterday. Photo of the settings screen attached."
        ),
        "html_starts": '<html><head><meta http-equiv="content-ty',
    },
    "auto_reply.eml": {
        "sender": "karl.weber@example.at",
        "sender_name": "Karl Weber",
        "subject": "Automatic reply: Your request [HD-91] has been received",
        "external_id": (
            "<VI1PR08MB53257E0F9A3B2C4D1E6F8A7B9C0D1@VI1PR08MB5325.eurprd08.prod.outlook.com>"
        ),
        "received_at": "2025-01-10T09:00:03+00:00",
        "thread_ids": ("<hd-91.a1b2c3d4e5f60718@localhost>",),
        "recipients": ("support@localhost",),
        "cc": (("support@localhost", "Example Support"),),
        "is_automatic": True,
        "attachments": [],
        "text": (
            "I am out of the office until 20 January with no access to e-mail. For "
            "urgent matters please contact office@example.at."
        ),
        "html_starts": "",
    },
    "bounce_report.eml": {
        "sender": "MAILER-DAEMON@mx.example.com",
        "sender_name": "Mail Delivery System",
        "subject": "Undelivered Mail Returned to Sender",
        "external_id": "<20250110091244.4YSm3Q0fS2z9sWv@mx.example.com>",
        "received_at": "2025-01-10T09:12:44+00:00",
        "thread_ids": (),
        "recipients": ("support@localhost",),
        "cc": (("support@localhost", ""),),
        "is_automatic": True,
        "attachments": [
            ("attachment-1.txt", "message/delivery-status", 419, ""),
            ("attachment-2.eml", "message/rfc822", 321, ""),
        ],
        "text": (
            "This is the mail system at host mx.example.com.\n"
            "\n"
            "I'm sorry to have to inform you that your message could not\n"
            "be delivered to one or more recipients. It's attached below.\n"
            "\n"
            "<no.such.user@example.com>: host mx.example.com[203.0.113.25] said: "
            "550 5.1.1\n"
            "    <no.such.user@example.com>: Recipient address rejected: User "
            "unknown in\n"
            "    virtual mailbox table (in reply to RCPT TO command)"
        ),
        "html_starts": "",
    },
    "broken_no_closing_boundary.eml": {
        "sender": "mia.wong@example.com",
        "sender_name": "Mia Wong",
        "subject": "Screenshot of the error",
        "external_id": "<broken-1@example.com>",
        "received_at": "2025-01-13T08:00:00+00:00",
        "thread_ids": (),
        "recipients": ("support@localhost",),
        "cc": (("support@localhost", ""),),
        "is_automatic": False,
        "attachments": [("error.png", "image/png", 45, "")],
        "text": "The error appears when I press Save. Screenshot attached.",
        "html_starts": "",
    },
    "chinese_gb2312.eml": {
        "sender": "liming@example.cn",
        "sender_name": "李明",
        "subject": "发票无法下载",
        "external_id": "<202501091502440913120@example.cn>",
        "received_at": "2025-01-09T15:02:44+08:00",
        "thread_ids": (),
        "recipients": ("support@localhost",),
        "cc": (("support@localhost", "support"),),
        "is_automatic": False,
        "attachments": [],
        "text": ("您好，\n\n我们无法在后台下载上个月的发票，点击下载后没有反应。\n\n李明"),
        "html_starts": "",
    },
    "deeply_nested.eml": {
        "sender": "deep@example.com",
        "sender_name": "Deep Diver",
        "subject": "Nested",
        "external_id": "<deep-1@example.com>",
        "received_at": "2025-01-13T08:30:00+00:00",
        "thread_ids": (),
        "recipients": ("support@localhost",),
        "cc": (("support@localhost", ""),),
        "is_automatic": False,
        "attachments": [("deep.png", "image/png", 68, "")],
        "text": "Text at the bottom.",
        "html_starts": "",
    },
    "empty_body.eml": {
        "sender": "ava.rossi@example.it",
        "sender_name": "Ava Rossi",
        "subject": "Printer on floor 3 is offline",
        "external_id": "<empty-1@example.it>",
        "received_at": "2025-01-13T08:50:00+00:00",
        "thread_ids": (),
        "recipients": ("support@localhost",),
        "cc": (("support@localhost", ""),),
        "is_automatic": False,
        "attachments": [],
        "text": "(The message has no text.)",
        "html_starts": "",
    },
    "forwarded_rfc822.eml": {
        "sender": "olivia.brown@example.co.uk",
        "sender_name": "Olivia Brown",
        "subject": "Fwd: Payment failed for order 88172",
        "external_id": "<0c9e5a7d-4b2f-41e8-a3d6-7f1b2c8e9d40@example.co.uk>",
        "received_at": "2025-01-09T10:20:03+00:00",
        "thread_ids": (),
        "recipients": ("support@localhost",),
        "cc": (("support@localhost", ""),),
        "is_automatic": False,
        "attachments": [("gateway.log", "text/plain", 124, "")],
        "text": (
            "Hi,\n"
            "\n"
            "our payment provider sent the message below. Can you check what "
            "happened on your side?\n"
            "\n"
            "Olivia\n"
            "\n"
            "---------- Forwarded message ----------\n"
            "From: Payments Alerts <alerts@payments.example.net>\n"
            "Date: Thu, 09 Jan 2025 08:01:02 +0000\n"
            "Subject: Payment failed for order 88172\n"
            "To: olivia.brown@example.co.uk\n"
            "\n"
            "The payment for order 88172 (€129.00) failed: gateway timeout.\n"
            "The gateway log is attached."
        ),
        "html_starts": "",
    },
    "german_reply.eml": {
        "sender": "j.mueller@web.de",
        "sender_name": "Jürgen Müller",
        "subject": "Re: Drucker im 2. Stock [HD-88]",
        "external_id": "<7e3a1c90-2d4b-4f6e-8a15-b9c0d2e4f617@web.de>",
        "received_at": "2025-01-09T08:47:09+01:00",
        "thread_ids": (
            "<hd-88.8899aabbccddeeff@localhost>",
            "<7a7a2b2b-1111-4c4c-9d9d-0e0e0e0e0e0e@web.de>",
            "<hd-88.0f1e2d3c4b5a6978@localhost>",
        ),
        "recipients": ("support@localhost", "s.kraemer@web.de"),
        "cc": (
            ("support@localhost", "Example Support"),
            ("s.kraemer@web.de", "Sabine Krämer"),
        ),
        "is_automatic": False,
        "attachments": [],
        "text": (
            "Hallo,\n"
            "\n"
            "leider funktioniert der Drucker im 2. Stock immer noch nicht. Die "
            "Fehlermeldung lautet jetzt „Papierstau in Fach 2“, obwohl kein Papier "
            "feststeckt."
        ),
        "html_starts": "",
    },
    "gmail_reply.eml": {
        "sender": "anna.schmidt@gmail.com",
        "sender_name": "Anna Schmidt",
        "subject": "Re: VPN disconnects every 10 minutes [HD-42]",
        "external_id": "<CAF3xK9vZ+8qH1n2m_Yt5oUq3pL7dW0eR4sT6uV8wX9yZ0aB1cD@mail.gmail.com>",
        "received_at": "2025-01-07T09:14:19+01:00",
        "thread_ids": ("<hd-42.9f86d081884c7d65@localhost>",),
        "recipients": ("support@localhost", "tom.becker@example.org"),
        "cc": (
            ("support@localhost", "Example Support"),
            ("tom.becker@example.org", "Tom Becker"),
        ),
        "is_automatic": False,
        "attachments": [],
        "text": (
            "Hi,\n"
            "\n"
            "I updated the client to 5.2.1 as you suggested, but the connection "
            'still drops after about 10 minutes. The log says "keepalive timeout" '
            "each time."
        ),
        "html_starts": '<div dir="ltr"><div>Hi,</div><div><br></',
    },
    "html_script.eml": {
        "sender": "eve@example.net",
        "sender_name": "Eve Mallory",
        "subject": "Please look at this",
        "external_id": "<xss-1@example.net>",
        "received_at": "2025-01-13T08:15:00+00:00",
        "thread_ids": (),
        "recipients": ("support@localhost",),
        "cc": (("support@localhost", ""),),
        "is_automatic": False,
        "attachments": [],
        "text": ("Hello, my invoice is wrong.\n\nClick here to see it."),
        "html_starts": "<html><head><script>document.location='h",
    },
    "huge_headers.eml": {
        "sender": "liam@example.org",
        "sender_name": "Liam Ortiz",
        "subject": "Long thread",
        "external_id": "<huge-1@example.org>",
        "received_at": "2025-01-13T08:25:00+00:00",
        "thread_ids": tuple(f"<thread-{n}@example.org>" for n in range(149, 49, -1)),
        "recipients": ("support@localhost",),
        "cc": (("support@localhost", ""),),
        "is_automatic": False,
        "attachments": [],
        "text": "Still broken after all these messages.",
        "html_starts": "",
    },
    "invalid_base64.eml": {
        "sender": "noah@example.com",
        "sender_name": "Noah Klein",
        "subject": "Export broken",
        "external_id": "<b64-1@example.com>",
        "received_at": "2025-01-13T08:05:00+00:00",
        "thread_ids": (),
        "recipients": ("support@localhost",),
        "cc": (("support@localhost", ""),),
        "is_automatic": False,
        "attachments": [("data.bin", "application/octet-stream", 15, "")],
        "text": "The export button does nothing. Please help.",
        "html_starts": "",
    },
    "japanese_iso2022jp.eml": {
        "sender": "t.yamada@example.co.jp",
        "sender_name": "山田 太郎",
        "subject": "ログインできません",
        "external_id": "<20250109101512.4F2A.T.YAMADA@example.co.jp>",
        "received_at": "2025-01-09T10:15:12+09:00",
        "thread_ids": (),
        "recipients": ("support@localhost",),
        "cc": (("support@localhost", ""),),
        "is_automatic": False,
        "attachments": [],
        "text": (
            "サポートご担当者様\n"
            "\n"
            "昨日から管理画面にログインできません。\n"
            "パスワードは正しいはずです。\n"
            "\n"
            "よろしくお願いします。\n"
            "山田"
        ),
        "html_starts": "",
    },
    "mailing_list.eml": {
        "sender": "sam@example.net",
        "sender_name": "Sam Taylor",
        "subject": "[users] Has anyone seen the sync error 0x80040154?",
        "external_id": "<87h6b2x9q1.fsf@example.net>",
        "received_at": "2025-01-10T11:30:01+00:00",
        "thread_ids": (),
        "recipients": ("users@lists.example.org", "support@localhost"),
        "cc": (("users@lists.example.org", ""), ("support@localhost", "")),
        "is_automatic": True,
        "attachments": [],
        "text": (
            "Since the last update the desktop client shows sync error 0x80040154\n"
            "on two of our machines. Reinstalling did not help.\n"
            "\n"
            "Sam\n"
            "_______________________________________________\n"
            "users mailing list -- users@lists.example.org\n"
            "To unsubscribe send an email to users-leave@lists.example.org"
        ),
        "html_starts": "",
    },
    "multipart_no_boundary.eml": {
        "sender": "olga@example.com",
        "sender_name": "Olga Ivanova",
        "subject": "No boundary",
        "external_id": "<nobound-1@example.com>",
        "received_at": "2025-01-13T09:05:00+00:00",
        "thread_ids": (),
        "recipients": ("support@localhost",),
        "cc": (("support@localhost", ""),),
        "is_automatic": False,
        "attachments": [],
        "text": "The report generator hangs at 99%.",
        "html_starts": "<p>The report generator hangs at 99%.</p",
    },
    "no_from_reply_to.eml": {
        "sender": "form-user@example.com",
        "sender_name": "Web Form",
        "subject": "Sent from the website",
        "external_id": "<noform-1@example.com>",
        "received_at": "2025-01-13T08:40:00+00:00",
        "thread_ids": (),
        "recipients": ("support@localhost",),
        "cc": (("support@localhost", ""),),
        "is_automatic": False,
        "attachments": [],
        "text": "Please call me back.",
        "html_starts": "",
    },
    "no_sender.eml": {"rejected": "no sender address"},
    "nul_bytes.eml": {
        "sender": "null@example.com",
        "sender_name": "Null User",
        "subject": "Zero bytes",
        "external_id": "<nul-1@example.com>",
        "received_at": "2025-01-13T08:35:00+00:00",
        "thread_ids": (),
        "recipients": ("support@localhost",),
        "cc": (("support@localhost", ""),),
        "is_automatic": False,
        "attachments": [],
        "text": ("Line with a  NUL byte.\n\nEnd."),
        "html_starts": "",
    },
    "outlook_com_html_only.eml": {
        "sender": "joao.pereira@outlook.com",
        "sender_name": "João Pereira",
        "subject": "Re: Portal login [HD-61]",
        "external_id": (
            "<DB9PR02MB7316A3B5C0E1F2D4B8C9A7E6B5D42@DB9PR02MB7316.eurprd02.prod.outlook.com>"
        ),
        "received_at": "2025-01-06T07:58:12+00:00",
        "thread_ids": ("<hd-61.0a1b2c3d4e5f6071@localhost>",),
        "recipients": ("support@localhost",),
        "cc": (("support@localhost", "support@localhost"),),
        "is_automatic": False,
        "attachments": [],
        "text": (
            "Hi team,\n"
            "\n"
            "Since this morning no one in our office can log in to the [customer "
            "portal](https://portal.example.com/login). The page just reloads "
            "after entering the password.\n"
            "\n"
            "João Pereira"
        ),
        "html_starts": '<html>\n<head>\n<meta http-equiv="Content-',
    },
    "outlook_desktop_reply.eml": {
        "sender": "m.kowalski@example.org",
        "sender_name": "Marta Kowalski",
        "subject": "RE: Invoice export shows zero amounts [HD-57]",
        "external_id": (
            "<AM0PR07MB41238F2E1C9D4A7B6E5F3C2D91A40@AM0PR07MB4123.eurprd07.prod.outlook.com>"
        ),
        "received_at": "2025-01-07T08:31:05+00:00",
        "thread_ids": ("<hd-57.1b2c3d4e5f607182@localhost>",),
        "recipients": ("support@localhost",),
        "cc": (("support@localhost", "Example Support"),),
        "is_automatic": False,
        "attachments": [("invoice-export-2025-01-07.csv", "text/csv", 65, "")],
        "text": (
            "Hello,\n"
            "\n"
            "the invoice export still shows €0.00 for all December orders. I’ve "
            "attached the export we got this morning – please have a look."
        ),
        "html_starts": '<html xmlns:v="urn:schemas-microsoft-com',
    },
    "path_traversal.eml": {
        "sender": "mallory@example.net",
        "sender_name": "Mallory",
        "subject": "Files",
        "external_id": "<files-1@example.net>",
        "received_at": "2025-01-13T08:20:00+00:00",
        "thread_ids": (),
        "recipients": ("support@localhost",),
        "cc": (("support@localhost", ""),),
        "is_automatic": False,
        "attachments": [
            ("passwd", "text/plain", 31, ""),
            ("win.ini", "text/plain", 7, ""),
            ("evil.exe", "application/x-msdownload", 57, ""),
            ("invoicefdp.exe", "application/x-msdownload", 2, ""),
            ("photo.jpg", "application/pdf", 275, ""),
            ("attachment-6.bin", "application/octet-stream", 4, ""),
            ("a" * 146 + ".txt", "text/plain", 4, ""),
        ],
        "text": "See the files.",
        "html_starts": "",
    },
    "raw_8bit_headers.eml": {
        "sender": "bjorn@example.se",
        "sender_name": "Björn Åström",
        "subject": "Fråga om fakturan",
        "external_id": "<8bit-1@example.se>",
        "received_at": "2025-01-13T09:00:00+01:00",
        "thread_ids": (),
        "recipients": ("support@localhost",),
        "cc": (("support@localhost", "Support"),),
        "is_automatic": False,
        "attachments": [("räkning.pdf", "application/pdf", 275, "")],
        "text": "Hej, fakturan stämmer inte.",
        "html_starts": "",
    },
    "russian_koi8r.eml": {
        "sender": "ivan.petrov@example.ru",
        "sender_name": "Иван Петров",
        "subject": "Не приходят письма",
        "external_id": "<1736407798.123456.ivan@example.ru>",
        "received_at": "2025-01-09T10:29:58+03:00",
        "thread_ids": (),
        "recipients": ("support@localhost",),
        "cc": (("support@localhost", ""),),
        "is_automatic": False,
        "attachments": [],
        "text": (
            "Здравствуйте!\n"
            "\n"
            "С понедельника нам не приходят уведомления о заказах.\n"
            "\n"
            "С уважением,\n"
            "Иван"
        ),
        "html_starts": "",
    },
    "thunderbird_pdf.eml": {
        "sender": "rene.dubois@example.fr",
        "sender_name": "René Dubois",
        "subject": "Re: Scanned PDFs cannot be opened [HD-73]",
        "external_id": "<4b1f0c2e-93a7-4d51-8f06-2c7e1a9b3d58@example.fr>",
        "received_at": "2025-01-09T09:05:44+01:00",
        "thread_ids": ("<hd-73.5e6f708192a3b4c5@localhost>",),
        "recipients": ("support@localhost",),
        "cc": (("support@localhost", "Example Support"),),
        "is_automatic": False,
        "attachments": [("scan_2025-01-08.pdf", "application/pdf", 275, "")],
        "text": (
            "Hello,\n"
            "\n"
            "our scanner saves documents as PDF files that cannot be opened any "
            "more since yesterday. One of them is attached (Acrobat says the file "
            "is damaged). The scanner is in the café area, model FS-4200."
        ),
        "html_starts": "",
    },
    "unknown_charset.eml": {
        "sender": "zoe@example.com",
        "sender_name": "Zoë Martin",
        "subject": "Café menu app crashes",
        "external_id": "<charset-1@example.com>",
        "received_at": "2025-01-13T08:10:00+00:00",
        "thread_ids": (),
        "recipients": ("support@localhost",),
        "cc": (("support@localhost", ""),),
        "is_automatic": False,
        "attachments": [],
        "text": (
            "The café menu app crashes when I open the crème brûlée page.\n"
            "\n"
            "Second part says utf-8 but is latin-1: naïve résumé."
        ),
        "html_starts": "",
    },
}


def test_every_golden_file_has_expectations() -> None:
    assert sorted(path.name for path in GOLDEN.glob("*.eml")) == sorted(EXPECTED)


def test_golden_files_stay_small() -> None:
    for path in GOLDEN.glob("*.eml"):
        assert path.stat().st_size < 20 * 1024, path.name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_golden(name: str) -> None:
    raw = (GOLDEN / name).read_bytes()
    expected = EXPECTED[name]
    if "rejected" in expected:
        with pytest.raises(Rejected) as refusal:
            parse_email(raw)
        assert refusal.value.reason == expected["rejected"]
        return

    message = parse_email(raw)

    assert message.channel == "email"
    assert message.sender_kind == "email"
    assert message.sender == expected["sender"]
    assert message.sender_name == expected["sender_name"]
    assert message.subject == expected["subject"]
    assert message.external_id == expected["external_id"] == idempotency_key(raw)
    received_at = message.received_at.isoformat() if message.received_at else None
    assert received_at == expected["received_at"]
    assert message.thread_ids == expected["thread_ids"]
    assert message.recipients == expected["recipients"]
    assert message.cc == expected["cc"]
    assert message.is_automatic is expected["is_automatic"]
    assert [
        (item.filename, item.content_type, len(item.content), item.content_id)
        for item in message.attachments
    ] == expected["attachments"]
    assert message.text == expected["text"]
    if expected["html_starts"]:
        assert message.html.startswith(expected["html_starts"])
    else:
        assert message.html == ""
    assert message.original == raw
