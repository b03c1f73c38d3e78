"""In a real browser: an admin opens a customer's page, exports everything held about them
(the ZIP arrives), then erases them (anonymised) after the preview, and the page shows the
anonymised customer."""

import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.e2e.agents import sign_in
from tests.e2e.axe import violations
from tests.factories import AdminFactory
from tickets import services
from tickets.inbound import InboundAttachment, InboundMessage
from tickets.models import Channel, ContactKind, Customer, Ticket


def test_an_admin_exports_then_anonymises_a_customer(
    page: Page, screenshot: Callable[..., Path], celery_eager: Any, tmp_path: Path
) -> None:
    AdminFactory(username="ada", first_name="Ada")
    ticket = services.ticket_open(
        inbound=InboundMessage(
            channel=Channel.EMAIL, sender_kind=ContactKind.EMAIL, sender="ann.person@example.com",
            sender_name="Ann Person", subject="Invoice for Ann Person", text="I am Ann Person.",
            attachments=(InboundAttachment("invoice.pdf", "application/pdf", b"%PDF-1.4 Ann"),),
        ),
        tier_level=1,
    ).ticket  # fmt: skip
    ann = ticket.customer

    sign_in(page, "ada")
    page.goto(f"/agent/customers/{ann.pk}/")
    expect(page.get_by_role("heading", name="Ann Person")).to_be_visible()
    privacy = page.get_by_role("region", name="Privacy")
    privacy.get_by_role("button", name="Export everything about them").click()
    expect(page.get_by_text("Export requested")).to_be_visible()
    with page.expect_download() as arriving:
        page.get_by_role("link", name="Download ZIP").click()
    saved = tmp_path / "export.zip"
    arriving.value.save_as(saved)
    archive = zipfile.ZipFile(saved)
    document = json.loads(archive.read("customer.json"))
    assert document["customer"]["name"] == "Ann Person"
    attachment = document["tickets"][0]["messages"][0]["attachments"][0]["file"]
    assert archive.read(attachment) == b"%PDF-1.4 Ann"
    screenshot("exported")

    page.get_by_role("link", name="Erase this customer…").click()
    expect(page.locator("#erase-preview")).to_contain_text("1 ticket with 1 message")
    assert violations(page) == []
    screenshot("erase-preview")
    page.get_by_label("Anonymise: remove personal data, keep tickets for statistics").check()
    page.get_by_role("button", name="Erase").click()

    expect(page.locator("#erased")).to_contain_text("personal data removed")
    expect(page.get_by_role("heading", name="(no name)")).to_be_visible()
    expect(page.locator("#customer-tickets")).to_contain_text("(anonymised)")
    expect(page.get_by_text("ann.person@example.com")).to_have_count(0)
    screenshot("anonymised")
    assert Customer.objects.get(pk=ann.pk).erased_at is not None
    assert Ticket.objects.get(pk=ticket.pk).subject == "(anonymised)"
