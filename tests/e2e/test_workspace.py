"""The agent workspace in a real browser: knowledge-base links into a reply, two agents on
one ticket, keyboard shortcuts."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.e2e.agents import sign_in
from tests.factories import AgentFactory
from tickets.models import Ticket


def test_an_article_link_goes_into_the_reply_and_out_to_the_customer(
    page: Page, screenshot: Callable[..., Path], ticket: Ticket, celery_eager: Any
) -> None:
    AgentFactory(username="alice")
    sign_in(page, "alice")
    page.goto(f"/agent/tickets/{ticket.pk}/")
    reply = page.get_by_label("Message")
    reply.fill("Hello Grace, this should help:")
    page.locator("#kb-hits li", has_text="VPN disconnects every few minutes").get_by_role(
        "button", name="Insert link"
    ).click()
    expect(reply).to_have_value(
        "Hello Grace, this should help: VPN disconnects every few minutes: "
        "http://localhost:8000/kb/network/vpn-disconnects/"
    )
    screenshot("reply-with-article-link")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator(".timeline")).to_contain_text("/kb/network/vpn-disconnects/")


def test_two_agents_see_each_other_on_a_ticket(
    new_page: Callable[[], Page], screenshot: Callable[..., Path], ticket: Ticket
) -> None:
    AgentFactory(username="alice", first_name="Alice", last_name="A")
    AgentFactory(username="bob", first_name="Bob", last_name="B")
    alice, bob = new_page(), new_page()
    sign_in(alice, "alice")
    sign_in(bob, "bob")
    alice.goto(f"/agent/tickets/{ticket.pk}/")
    expect(alice.locator("body")).to_have_attribute("data-live-state", "open")
    bob.goto(f"/agent/tickets/{ticket.pk}/")

    expect(alice.locator("#presence")).to_have_text("Bob B is viewing")
    expect(bob.locator("#presence")).to_have_text("Alice A is viewing")
    bob.get_by_label("Message").press_sequentially("On it", delay=30)
    expect(alice.locator("#presence")).to_have_text("Bob B is typing…")

    # Bob's note shows up in Alice's timeline without a reload; her draft stays.
    alice.get_by_label("Message").fill("My draft")
    bob.get_by_label("Internal note (customers never see it)").fill("Checked the gateway logs.")
    bob.get_by_role("button", name="Add note").click()
    expect(alice.locator(".timeline")).to_contain_text("Checked the gateway logs.")
    expect(alice.get_by_label("Message")).to_have_value("My draft")
    screenshot("presence-and-live-note", alice)

    bob.close()
    expect(alice.locator("#presence")).to_have_text("")


def test_keyboard_shortcuts(page: Page, screenshot: Callable[..., Path], ticket: Ticket) -> None:
    AgentFactory(username="alice")
    sign_in(page, "alice")
    page.goto("/agent/queue/tier-1/")
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    screenshot("shortcuts")
    page.keyboard.press("Escape")
    page.keyboard.press("j")
    page.keyboard.press("o")
    expect(page.get_by_role("heading", name="VPN disconnects all the time")).to_be_visible()
    # The shortcuts listen once the page's scripts ran (the translations load before them).
    page.wait_for_load_state()
    page.keyboard.press("a")
    expect(page.get_by_text("Saved.")).to_be_visible()
    page.keyboard.press("r")
    expect(page.get_by_label("Message")).to_be_focused()
