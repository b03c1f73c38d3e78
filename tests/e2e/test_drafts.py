"""An agent's unsent reply is kept in the browser: leaving the ticket, or a session that
ended before sending, loses nothing; sending it clears it."""

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.agents import sign_in
from tests.factories import PASSWORD, AgentFactory
from tickets.models import Ticket

DRAFT = "Hello Grace, please restart the VPN client and tell me what it shows."


def test_an_unsent_reply_outlives_leaving_the_page_and_the_session(
    page: Page, screenshot: Callable[..., Path], ticket: Ticket, celery_eager: object
) -> None:
    AgentFactory(username="alice")
    sign_in(page, "alice")
    page.goto(f"/agent/tickets/{ticket.pk}/")
    page.get_by_label("Message").fill(DRAFT)

    page.goto("/agent/")  # off to another ticket, before sending
    page.goto(f"/agent/tickets/{ticket.pk}/")
    expect(page.get_by_label("Message")).to_have_value(DRAFT)
    expect(page.get_by_text("Your unsent text was kept.")).to_be_visible()
    screenshot("draft-kept")

    # Signed out meanwhile (the session ended): sending leads to sign-in, then back here.
    page.context.clear_cookies(name="sessionid")
    page.get_by_role("button", name="Send reply").click()
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(rf"/agent/tickets/{ticket.pk}/$"))
    expect(page.get_by_label("Message")).to_have_value(DRAFT)

    page.get_by_role("button", name="Send reply").click()
    expect(page.locator(".timeline")).to_contain_text("please restart the VPN client")
    expect(page.get_by_label("Message")).to_have_value("")
    page.reload()
    expect(page.get_by_label("Message")).to_have_value("")


def test_a_kept_draft_can_be_discarded(page: Page, ticket: Ticket) -> None:
    AgentFactory(username="alice")
    sign_in(page, "alice")
    page.goto(f"/agent/tickets/{ticket.pk}/")
    page.get_by_label("Internal note (customers never see it)").fill("Check the VPN logs")
    page.reload()
    note = page.get_by_label("Internal note (customers never see it)")
    expect(note).to_have_value("Check the VPN logs")

    page.get_by_role("button", name="Discard it").click()
    expect(note).to_have_value("")
    page.reload()
    expect(note).to_have_value("")
