"""In a browser: an admin brands the help desk (logo, colours) and customers see it on the
help center and in the chat widget on their own site; an agent sets themselves away and a
signature, and their reply carries it."""

import re
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from playwright.sync_api import Page, expect

from tests.e2e.agents import sign_in
from tests.e2e.test_chat_widget import CUSTOMER_SITE, serve_customer_site
from tests.factories import AdminFactory, AgentFactory
from tickets import services
from tickets.inbound import InboundMessage
from tickets.models import AgentProfile, Channel, ContactKind, Message, MessageKind

LOGO = Path(settings.BASE_DIR) / "static" / "brand" / "acme-logo.png"


def test_an_admin_brands_the_help_center_and_the_chat_widget(
    new_page: Callable[[], Page], live_server_url: str, screenshot: Callable[..., Path]
) -> None:
    AdminFactory(username="root")
    admin = new_page()
    sign_in(admin, "root")
    admin.goto("/admin/tickets/brand/add/")
    admin.get_by_label("Company name").fill("Acme Support")
    admin.get_by_label("Primary color").fill("#b43c0b")
    admin.get_by_label("Accent color").fill("#f59e0b")
    admin.get_by_label("Footer text").fill("Acme Ltd, 1 Demo Street")
    admin.locator("#id_logo_upload").set_input_files(str(LOGO))
    admin.get_by_role("button", name="Save", exact=True).click()
    expect(admin.locator(".messagelist")).to_contain_text("was added successfully")

    customer = new_page()
    customer.goto("/kb/")
    header = customer.locator(".site-header")
    expect(header.get_by_text("Acme Support")).to_be_visible()
    logo = header.locator(".site-brand img")
    expect(logo).to_have_attribute("src", re.compile(r"^/brand/logo/[0-9a-f]{12}/$"))
    assert customer.evaluate("document.querySelector('.site-brand img').naturalWidth") == 80
    accent = customer.evaluate(
        "getComputedStyle(document.querySelector('.kb-search button')).backgroundColor"
    )
    assert accent == "rgb(180, 60, 11)"
    expect(customer.get_by_text("Acme Ltd, 1 Demo Street")).to_be_visible()
    screenshot("help-center", of=customer)

    # The widget on the customer's own site wears the same name and colour.
    site = new_page()
    serve_customer_site(site, live_server_url)
    site.goto(CUSTOMER_SITE)
    launcher = site.get_by_role("button", name="Chat with Acme Support")
    expect(launcher).to_be_visible()
    assert launcher.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(180, 60, 11)"
    launcher.click()
    frame = site.frame_locator('iframe[title="Chat with Acme Support"]')
    button = frame.locator(
        "#chat-start-submit"
    )  # "Start chat", or "Send message" if nobody is online
    expect(button).to_be_visible()
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(180, 60, 11)"
    screenshot("widget", of=site)


def test_an_agent_sets_away_and_a_signature_and_their_reply_carries_it(
    page: Page, screenshot: Callable[..., Path]
) -> None:
    agent = AgentFactory(username="alma", first_name="Alma", tiers=[1])
    ticket = services.ticket_open(
        inbound=InboundMessage(
            channel=Channel.EMAIL, sender_kind=ContactKind.EMAIL, sender="ann@example.com",
            sender_name="Ann Lee", subject="Printer offline", text="It shows offline.",
            external_id="<e2e-sig-1@example.com>",
        ),
        tier_level=1,
    ).ticket  # fmt: skip
    sign_in(page, "alma")
    page.get_by_role("link", name="My settings").click()
    expect(page.get_by_role("heading", name="My settings")).to_be_visible()
    page.get_by_label("Away").check()
    page.get_by_label("Email signature").fill("Alma\nFrontline support")
    page.get_by_label("Time zone").select_option("Europe/Berlin")
    page.get_by_role("button", name="Save my settings").click()
    expect(page.get_by_text("Your settings are saved.")).to_be_visible()
    expect(page.get_by_text("(Europe/Berlin)")).to_be_visible()
    assert AgentProfile.objects.get(user=agent).is_available is False
    page.goto("/agent/chats/")
    expect(page.locator("#my-availability")).to_contain_text("You are away")
    screenshot("away")

    page.goto(f"/agent/tickets/{ticket.pk}/")
    page.locator("#id_text").fill("Please switch it off and on.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_text("Reply sent.")).to_be_visible()
    expect(page.locator(".timeline")).to_contain_text("Frontline support")
    reply = Message.objects.get(ticket=ticket, kind=MessageKind.OUTBOUND)
    assert reply.body_text == "Please switch it off and on.\n\nAlma\nFrontline support"
    screenshot("reply")
