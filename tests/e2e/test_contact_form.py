"""The customer's side of tier 0 in a real browser: the contact form suggests articles while
they type, and the help center answers questions without a ticket."""

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from knowledge.models import Article, ArticleFeedback, Category, Deflection
from knowledge.services import article_save, category_save
from tickets.models import Channel, Ticket

SUGGESTIONS = "These articles may answer your question"


@pytest.fixture
def category() -> Category:
    return category_save(category=None, name="Access", slug="access")


def publish(category: Category, title: str, body: str, *, summary: str, tags: str) -> Article:
    return article_save(
        article=None,
        actor=None,
        title=title,
        slug=re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-"),
        category=category,
        summary=summary,
        body_markdown=body,
        tags=tags,
        status="published",
        visibility="public",
    )


@pytest.fixture
def vpn(category: Category) -> Article:
    return publish(
        category,
        "VPN disconnects every few minutes",
        "Turn off **power saving** for the network adapter, then reconnect the VPN client.",
        summary="When the VPN drops the connection again and again.",
        tags="vpn, network, disconnect",
    )


@pytest.fixture
def password(category: Category) -> Article:
    return publish(
        category,
        "Reset a forgotten password",
        "Open the sign-in page, choose **Forgot password** and follow the link we email you.",
        summary="When you cannot sign in because you forgot your password.",
        tags="password, sign in, login",
    )


def suggestion_requests(page: Page) -> list[str]:
    """The URLs of the live-suggestion requests the page makes from now on."""
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url) if "/support/suggest/" in r.url else None)
    return urls


def test_a_suggestion_solves_the_problem_and_no_ticket_is_opened(
    page: Page, screenshot: Callable[..., Path], vpn: Article
) -> None:
    page.goto("/support/new/")
    page.evaluate("window.notReloaded = true")
    requests = suggestion_requests(page)

    subject = "VPN keeps disconnecting"
    page.get_by_label("Subject").press_sequentially(subject, delay=20)
    page.get_by_label("What happened?").fill("It disconnects every few minutes")

    suggestions = page.get_by_role("region", name=SUGGESTIONS)
    expect(suggestions.get_by_role("link", name=vpn.title)).to_be_visible()
    expect(suggestions).to_contain_text(vpn.summary)
    assert page.evaluate("window.notReloaded") is True  # swapped in, not a new page
    # Debounced: a request per pause in typing, not one per key (23 keys, then a paste).
    assert 1 <= len(requests) <= 5, requests
    screenshot("suggestion")

    suggestions.get_by_role("button", name="This solved my problem").click()

    expect(page.get_by_role("heading", name="Glad that helped")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Nothing was sent to our team")
    screenshot("deflected")
    deflection = Deflection.objects.get()
    assert (deflection.article, deflection.query) == (vpn, subject)
    assert not Ticket.objects.exists()


def test_without_a_matching_article_the_request_opens_a_ticket(
    page: Page, screenshot: Callable[..., Path], vpn: Article
) -> None:
    page.goto("/support/new/")
    page.get_by_label("Your name").fill("Dana Scully")
    page.get_by_label("Your email").fill("dana@example.org")
    page.get_by_label("Subject").fill("Invoice address is wrong")
    with page.expect_response(lambda r: "/support/suggest/" in r.url):
        page.get_by_label("What happened?").fill("Please change the billing address on invoices.")
    page.get_by_label("How urgent is it?").select_option(label="Not urgent")
    expect(page.get_by_text(SUGGESTIONS)).to_have_count(0)
    screenshot("form")

    page.get_by_role("button", name="Send").click()

    expect(page.get_by_role("heading", name="we received your request")).to_be_visible()
    reference = page.locator(".reference")
    expect(reference).to_have_text(re.compile(r"^HD-\d+$"))
    screenshot("received")
    ticket = Ticket.objects.get()
    assert reference.inner_text() == ticket.reference
    assert (ticket.channel, ticket.priority, ticket.subject) == (
        Channel.WEB,
        "low",
        "Invoice address is wrong",
    )
    assert ticket.customer.name == "Dana Scully"


def test_help_center_search_article_and_helpful_vote(
    page: Page, screenshot: Callable[..., Path], vpn: Article, password: Article
) -> None:
    page.goto("/kb/")
    expect(page.get_by_role("heading", name="Help center", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Access")).to_be_visible()
    screenshot("home")

    page.get_by_label("Search the help center").fill("forgot password")
    page.get_by_role("button", name="Search").click()

    expect(page).to_have_url(re.compile(r"/kb/search/\?q=forgot\+password$"))
    expect(page.get_by_text("1 result for “forgot password”.")).to_be_visible()
    screenshot("search")
    page.get_by_role("link", name=password.title).click()

    expect(page.get_by_role("heading", name=password.title)).to_be_visible()
    expect(page.locator(".kb-body strong")).to_have_text("Forgot password")
    expect(page.get_by_role("link", name=vpn.title)).to_be_visible()  # related article
    screenshot("article")
    page.get_by_label("Yes").check()
    page.get_by_role("button", name="Send feedback").click()

    expect(page.get_by_role("status")).to_have_text("Thank you for your feedback.")
    screenshot("voted")
    feedback = ArticleFeedback.objects.get()
    assert (feedback.article, feedback.helpful) == (password, True)
    password.refresh_from_db()
    assert (password.helpful_yes, password.helpful_no) == (1, 0)
