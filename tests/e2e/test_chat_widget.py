"""The embeddable chat widget on someone else's website, in a real browser: one script tag
adds the button, the button opens the help desk's chat page in an iframe."""

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, Route, expect

from tests.e2e.agents import sign_in
from tests.factories import AgentFactory

# In production the customer's site and the help desk are both on the internet; here the help
# desk is on 127.0.0.1, and Chromium lets a public page reach a loopback address only from a
# secure context (https) and with the local-network-access permission.
CUSTOMER_SITE = "https://customer.example/"
FRAME = 'iframe[title="Chat with support"]'


def serve_customer_site(page: Page, live_server_url: str) -> None:
    """A third-party page with the widget's one line on it (the script loads async)."""
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme widgets</title>
<script>window.siteGlobals = Object.keys(window);</script>
<script src="{live_server_url}/static/chat/widget.js" async></script>
</head><body><h1>Acme widgets</h1><p>The finest widgets since 1998.</p></body></html>"""

    def serve(route: Route) -> None:
        if route.request.url == CUSTOMER_SITE:
            route.fulfill(status=200, content_type="text/html", body=html)
        else:
            route.fulfill(status=204)  # the site has nothing else (favicon)

    page.context.grant_permissions(["local-network-access"])
    page.route(f"{CUSTOMER_SITE}**", serve)


def test_the_widget_on_another_site_opens_the_chat_page(
    page: Page, screenshot: Callable[..., Path], live_server_url: str
) -> None:
    serve_customer_site(page, live_server_url)
    page.goto(CUSTOMER_SITE)

    launcher = page.get_by_role("button", name="Chat with support")
    expect(launcher).to_be_visible()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    # One namespace and nothing else; no chat is loaded before the visitor asks for one.
    added = page.evaluate(
        "Object.keys(window).filter(k => !window.siteGlobals.includes(k) && k !== 'siteGlobals')"
    )
    assert added == ["HelpdeskChat"]
    expect(page.locator(FRAME)).to_have_count(0)
    screenshot("closed")

    launcher.focus()
    page.keyboard.press("Enter")

    expect(launcher).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("button", name="Close chat")).to_be_focused()
    expect(page.locator(FRAME)).to_have_attribute("src", f"{live_server_url}/support/chat/?embed=1")
    chat = page.frame_locator(FRAME)
    # The page inside connected to /ws/chat/ and shows the server's status: no agent is
    # online in this test, so it offers to leave a message.
    expect(chat.locator("body")).to_have_attribute("data-chat-state", "open")
    expect(chat.locator("body")).to_have_attribute("data-chat-online", "no")
    expect(chat.get_by_role("heading", name="Leave us a message")).to_be_visible()
    expect(chat.get_by_role("status").filter(has_text="Nobody is online")).to_be_visible()
    expect(chat.get_by_label("Your name")).to_be_visible()
    expect(chat.get_by_label("Your email")).to_be_visible()
    expect(chat.get_by_role("button", name="Send message")).to_be_visible()
    expect(chat.locator(".site-header")).to_have_count(0)
    screenshot("open")

    # Escape inside the chat closes the panel and gives the focus back to the button.
    chat.get_by_label("Your name").fill("Dana Scully")
    page.keyboard.press("Escape")

    expect(launcher).to_have_attribute("aria-expanded", "false")
    expect(launcher).to_be_focused()
    expect(page.locator(FRAME)).to_be_hidden()

    # Opened again, it is the same conversation (the same frame), not a new page.
    launcher.click()
    expect(chat.get_by_label("Your name")).to_have_value("Dana Scully")
    expect(page.locator(FRAME)).to_have_count(1)

    # On a phone the panel takes the whole screen and has its own close button.
    page.set_viewport_size({"width": 390, "height": 800})
    box = page.locator(FRAME).bounding_box()
    assert box is not None and box["width"] == 390
    screenshot("phone")
    page.get_by_role("button", name="Close chat").click()
    expect(launcher).to_be_visible()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    assert re.fullmatch(r"Chat with support", launcher.inner_text().strip())


def test_a_visitor_chats_with_an_agent_through_the_widget(
    new_page: Callable[[], Page], screenshot: Callable[..., Path], live_server_url: str
) -> None:
    AgentFactory(username="alice", first_name="Alice")
    agent = new_page()
    sign_in(agent, "alice")
    agent.goto("/agent/chats/")
    expect(agent.locator("body")).to_have_attribute("data-live-state", "open")

    visitor = new_page()
    serve_customer_site(visitor, live_server_url)
    visitor.goto(CUSTOMER_SITE)
    visitor.get_by_role("button", name="Chat with support").click()
    chat = visitor.frame_locator(FRAME)
    expect(chat.locator("body")).to_have_attribute("data-chat-online", "yes")
    chat.get_by_label("Your name").fill("Dana Scully")
    chat.get_by_label("Your email").fill("dana@example.com")
    chat.get_by_label("How can we help?").fill("Where is my invoice?")
    chat.get_by_role("button", name="Start chat").click()

    agent.locator("#chat-lists li", has_text="Dana Scully").get_by_role(
        "button", name="Accept"
    ).click()
    agent.locator("#chat-text").fill("It is in Billing → Invoices.")
    agent.locator("#chat-text").press("Enter")
    expect(chat.locator("#chat-log")).to_contain_text("It is in Billing → Invoices.")
    chat.locator("#chat-text").fill("Found it, thanks!")
    chat.locator("#chat-text").press("Enter")
    expect(agent.locator("#chat-log")).to_contain_text("Found it, thanks!")
    screenshot("widget-conversation", visitor)
