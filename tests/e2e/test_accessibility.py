"""axe-core (WCAG 2.1 A and AA rules) in Chromium over every customer and agent page, in
the states people meet them in: no serious or critical violation anywhere."""

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from playwright.sync_api import Page, expect

from tests.e2e.agents import sign_in
from tests.e2e.axe import violations
from tests.factories import AgentFactory, CustomerFactory, OrganizationFactory, UserFactory
from tickets import services
from tickets.inbound import InboundMessage
from tickets.models import Channel, ContactKind, Ticket


@pytest.fixture
def desk(vpn_article: Any) -> dict[str, Any]:
    agent = AgentFactory(username="axel", tiers=[1, 2])
    user = UserFactory(username="cora")
    customer = CustomerFactory(user=user, name="Cora Lee")
    services.customer_add_contact_point(
        customer=customer, kind=ContactKind.EMAIL, value="cora@example.com"
    )
    ticket = services.ticket_open(
        inbound=InboundMessage(
            channel=Channel.EMAIL, sender_kind=ContactKind.EMAIL, sender="cora@example.com",
            sender_name="Cora Lee", subject="VPN drops", text="It drops every few minutes.",
            external_id="<a11y-1@example.com>",
        ),
        tier_level=1,
    ).ticket  # fmt: skip
    services.ticket_reply(ticket=ticket, actor=agent, text="Please try the new client.")
    organization = OrganizationFactory(name="Acme")
    services.customer_set_organization(customer=customer, organization=organization)
    return {"agent": agent, "customer_user": user, "ticket": ticket, "organization": organization}


def _signed_in_customer(page: Page, user: Any, base_url: str) -> None:
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base_url}]
    )


def test_customer_pages_have_no_serious_accessibility_violations(
    new_page: Callable[[], Page], live_server_url: str, desk: dict[str, Any]
) -> None:
    page = new_page()
    found: list[str] = []
    from knowledge.models import Article
    from tickets.services.satisfaction import rating_token

    article = Article.objects.get(slug="vpn-disconnects")
    ticket: Ticket = desk["ticket"]
    services.ticket_resolve(ticket=ticket, actor=desk["agent"])
    for url in ("/kb/", "/kb/network/", "/kb/network/vpn-disconnects/", "/kb/search/?q=vpn",
                "/kb/search/?q=zebra", "/support/new/", "/support/login/",
                "/support/login/password/", "/support/chat/", "/status/",
                f"/support/solved-it/done/?article={article.pk}",
                f"/support/rate/{rating_token(ticket.pk)}/"):  # fmt: skip
        page.goto(url)
        found += violations(page)
    # The contact form after a failed submit.
    page.goto("/support/new/")
    page.get_by_role("button", name="Send", exact=True).click()
    found += violations(page)
    # The portal, signed in (the thread of a resolved ticket, with its rating form).
    _signed_in_customer(page, desk["customer_user"], live_server_url)
    page.goto("/support/tickets/")
    found += violations(page)
    page.goto(f"/support/tickets/{ticket.pk}/")
    expect(page.get_by_text("Please try the new client.")).to_be_visible()
    found += violations(page)
    assert not found, "\n".join(found)


def test_agent_pages_have_no_serious_accessibility_violations(
    new_page: Callable[[], Page], desk: dict[str, Any]
) -> None:
    from tickets.models import Notification

    Notification.objects.create(user=desk["agent"], kind="assigned", text="Yours now")
    page = new_page()
    sign_in(page, "axel")
    # The unread count is spoken with the link, not only shown.
    expect(page.get_by_role("link", name="Notifications 1 unread")).to_be_visible()
    found = violations(page)
    ticket: Ticket = desk["ticket"]
    for url in ("/agent/queue/tier-1/", "/agent/queue/any/?q=vpn", f"/agent/tickets/{ticket.pk}/",
                "/agent/chats/", "/agent/notifications/", "/agent/problems/", "/agent/settings/",
                f"/agent/customers/{ticket.customer_id}/", "/agent/organizations/",
                f"/agent/organizations/{desk['organization'].pk}/"):  # fmt: skip
        page.goto(url)
        found += violations(page)
    assert not found, "\n".join(found)


def test_the_admin_report_has_no_serious_accessibility_violations(
    new_page: Callable[[], Page], live_server_url: str, desk: dict[str, Any]
) -> None:
    from tests.factories import AdminFactory

    page = new_page()
    _signed_in_customer(page, AdminFactory(username="root"), live_server_url)
    page.goto("/admin/reports/self-service/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert not violations(page)


def test_a_failed_contact_form_says_what_to_fix_first(new_page: Callable[[], Page]) -> None:
    page = new_page()
    page.goto("/support/new/")
    # The hidden spam trap is never reached by Tab.
    for _ in range(12):
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.name") != "website"
    page.get_by_label("Your name").fill("Ann")
    page.get_by_role("button", name="Send", exact=True).click()
    assert page.title().startswith("Error: ")
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link", name="Your email: This field is required.")).to_be_visible()
    expect(page.get_by_label("Your name")).to_have_value("Ann")  # nothing typed is lost


def test_customer_pages_start_with_a_skip_link(new_page: Callable[[], Page]) -> None:
    page = new_page()
    page.goto("/kb/")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to content")


@pytest.mark.parametrize("width", [1024, 800])
def test_the_next_ticket_link_never_covers_the_title(
    new_page: Callable[[], Page], desk: dict[str, Any], width: int
) -> None:
    long_subject = "Exports fail " + "and the VPN drops again after the update " * 3
    other = services.ticket_open(
        inbound=InboundMessage(
            channel=Channel.EMAIL, sender_kind=ContactKind.EMAIL, sender="cora@example.com",
            sender_name="Cora Lee", subject=long_subject, text="Still broken.",
            external_id="<a11y-2@example.com>",
        ),
        tier_level=1,
    ).ticket  # fmt: skip
    page = new_page()
    page.set_viewport_size({"width": width, "height": 768})
    sign_in(page, "axel")
    page.goto(f"/agent/tickets/{other.pk}/")
    link = page.locator("#next-ticket").bounding_box()
    title = page.locator("#ticket-title").bounding_box()
    assert link is not None and title is not None
    overlap_x = link["x"] < title["x"] + title["width"] and title["x"] < link["x"] + link["width"]
    overlap_y = link["y"] < title["y"] + title["height"] and title["y"] < link["y"] + link["height"]
    assert not (overlap_x and overlap_y), (link, title)
