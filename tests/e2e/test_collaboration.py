"""Working a ticket together in a real browser: an agent @mentions a colleague in a note
(picked from the note box's list), the colleague is notified and opens the ticket; the agent
starts a side conversation with a vendor, a log attached, whose reply (through the inbound
email webhook, with a file) appears in that side conversation on the ticket page, and never
in the customer's thread."""

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core import mail
from django.test import Client
from playwright.sync_api import Page, expect

from tests.e2e.agents import sign_in
from tests.factories import AgentFactory
from tickets import services
from tickets.inbound import InboundMessage
from tickets.models import Channel, ContactKind, Ticket

SECRET = "hooks:e2e-side"


def _ticket() -> Ticket:
    inbound = InboundMessage(
        channel=Channel.EMAIL,
        sender_kind=ContactKind.EMAIL,
        sender="grace@example.com",
        sender_name="Grace Hopper",
        subject="Invoices stopped syncing",
        text="Since Monday our invoices do not sync to the accounting tool.",
        external_id="<e2e-collab-1@example.com>",
    )
    return services.ticket_open(inbound=inbound, tier_level=1).ticket


def _vendor_reply(in_reply_to: str, subject: str) -> None:
    """The vendor's answer, posted to anymail's Postmark inbound webhook."""
    payload = {
        "FromFull": {"Email": "help@vendor.example", "Name": "Vendor", "MailboxHash": ""},
        "ToFull": [{"Email": "support@localhost", "Name": "", "MailboxHash": ""}],
        "CcFull": [],
        "Subject": f"Re: {subject}",
        "Date": "Sat, 05 Dec 2026 10:30:00 +0000",
        "TextBody": "Known bug on our side, fixed in tonight's release.",
        "HtmlBody": "",
        "Headers": [
            {"Name": "Message-ID", "Value": "<vendor-1@vendor.example>"},
            {"Name": "In-Reply-To", "Value": in_reply_to},
        ],
        "Attachments": [
            {
                "Name": "release-notes.txt",
                "Content": base64.b64encode(b"Fixed: invoice sync.\n").decode(),
                "ContentType": "text/plain",
                "ContentLength": 21,
            }
        ],
    }
    auth = base64.b64encode(SECRET.encode()).decode()
    response = Client().post(
        "/anymail/postmark/inbound/",
        data=json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {auth}",
    )
    assert response.status_code == 200


def test_a_colleague_and_a_vendor_on_one_ticket(
    new_page: Callable[[], Page],
    screenshot: Callable[..., Path],
    settings: Any,
    celery_eager: Any,
) -> None:
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    AgentFactory(username="alice", first_name="Alice", last_name="Ames", tiers=[1])
    AgentFactory(username="bob", first_name="Bob", last_name="Burns", tiers=[2])
    ticket = _ticket()
    alice, bob = new_page(), new_page()
    sign_in(alice, "alice")
    sign_in(bob, "bob")

    # Alice mentions Bob, choosing him from the note box's list.
    alice.goto(f"/agent/tickets/{ticket.pk}/")
    note = alice.get_by_label("Internal note (customers never see it)")
    note.click()
    note.press_sequentially("Could you look at the sync logs, @Bo")
    choice = alice.get_by_role("option", name="Bob Burns (@bob)")
    expect(choice).to_be_visible()
    screenshot("mention-list", of=alice)
    note.press("Enter")
    expect(note).to_have_value("Could you look at the sync logs, @bob ")
    note.press_sequentially("please?")
    alice.get_by_role("button", name="Add note").click()
    expect(alice.locator(".timeline mark.mention")).to_have_text("@bob")

    # Bob (tier 2) is notified, opens the ticket from the notification, read-only there.
    bob.goto("/agent/notifications/")
    told = bob.get_by_role("button", name=f"Alice Ames mentioned you on {ticket.reference}")
    expect(told).to_be_visible()
    told.click()
    expect(bob.get_by_role("heading", name="Invoices stopped syncing")).to_be_visible()
    expect(bob.locator("#side-readonly")).to_be_visible()
    expect(bob.locator("#followers")).to_contain_text("Bob Burns")
    screenshot("colleague-opened-ticket", of=bob)

    # Alice writes to the vendor in a side conversation.
    alice.get_by_text("Start a side conversation").click()
    alice.get_by_label("To (email address)").fill("help@vendor.example")
    alice.get_by_label("Subject").fill("Invoice sync API errors")
    alice.get_by_label("What to write to them").fill("Your API answers 500 since Monday.")
    alice.locator("#side-files").set_input_files(
        {"name": "sync.log", "mimeType": "text/plain", "buffer": b"POST /invoices 500\n"}
    )
    alice.get_by_role("button", name="Send to third party").click()
    thread = alice.locator(".side-thread", has_text="Invoice sync API errors")
    expect(thread).to_contain_text("Your API answers 500 since Monday.")
    expect(thread.get_by_role("link", name="sync.log")).to_be_visible()
    [sent] = mail.outbox
    assert sent.to == ["help@vendor.example"]
    assert [(a.filename, a.content) for a in sent.attachments] == [
        ("sync.log", "POST /invoices 500\n")
    ]

    # The vendor answers through the inbound email door; it lands in the side conversation.
    _vendor_reply(sent.extra_headers["Message-ID"], sent.subject)
    alice.reload()
    expect(thread).to_contain_text("Known bug on our side, fixed in tonight's release.")
    with alice.expect_download() as download:
        thread.get_by_role("link", name="release-notes.txt").click()
    assert Path(download.value.path()).read_bytes() == b"Fixed: invoice sync.\n"
    expect(alice.locator(".timeline")).not_to_contain_text("Known bug on our side")
    expect(alice.locator(".timeline")).to_contain_text("reply received")
    screenshot("side-conversation", of=alice)
    assert ticket.messages.count() == 2  # the customer's message and Alice's note
