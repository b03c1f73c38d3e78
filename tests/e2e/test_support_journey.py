"""A whole support case in real browsers: the customer writes, tier 1 answers and escalates
live, tier 2 picks it up and resolves it, the customer reads the answer and rates it."""

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from knowledge.services import article_save, category_save
from tests.e2e.agents import sign_in
from tests.factories import AgentFactory
from tickets.models import EventKind, Ticket


@pytest.fixture
def team(db: None) -> dict[str, Any]:
    return {
        "alice": AgentFactory(username="alice", first_name="Alice", last_name="Frontline"),
        "dan": AgentFactory(username="dan", first_name="Dan", last_name="Technical", tiers=[2]),
    }


@pytest.fixture
def article(db: None) -> None:
    category = category_save(category=None, name="Network", slug="network")
    article_save(
        article=None, actor=None, title="VPN disconnects every few minutes",
        slug="vpn-disconnects", category=category,
        summary="When the VPN drops the connection again and again.",
        body_markdown="Turn off power saving for the network adapter.",
        tags="vpn, network, disconnect", status="published", visibility="public",
    )  # fmt: skip


def test_a_case_from_contact_form_through_two_tiers_to_a_rating(
    new_page: Callable[[], Page],
    screenshot: Callable[..., Path],
    team: dict[str, Any],
    article: None,
    celery_eager: Any,
) -> None:
    # Alice, tier 1, watches her tier's queue.
    alice = new_page()
    sign_in(alice, "alice")
    alice.goto("/agent/queue/tier-1/")
    expect(alice.locator("body")).to_have_attribute("data-live-state", "open")
    expect(alice.get_by_text("No tickets here")).to_be_visible()

    # The customer writes; the form suggests an article, which does not solve it.
    customer = new_page()
    customer.goto("/support/new/")
    customer.get_by_label("Your name").fill("Grace Hopper")
    customer.get_by_label("Your email").fill("grace@example.com")
    customer.get_by_label("Subject").press_sequentially("VPN keeps disconnecting", delay=15)
    customer.get_by_label("What happened?").fill(
        "Since the update the VPN drops every few minutes, even with power saving off."
    )
    suggestions = customer.get_by_role("region", name="These articles may answer your question")
    expect(
        suggestions.get_by_role("link", name="VPN disconnects every few minutes")
    ).to_be_visible()
    screenshot("contact-form-suggestions", customer)
    customer.get_by_label("How urgent is it?").select_option("high")
    customer.get_by_role("button", name="Send", exact=True).click()
    expect(customer.get_by_text("we received your request")).to_be_visible()
    reference = customer.locator(".reference").inner_text()

    # It appears in Alice's queue without a reload.
    row = alice.locator("#queue-table tr", has_text=reference)
    expect(row).to_be_visible()
    screenshot("tier-1-queue-live", alice)

    # Alice answers and escalates with a hand-off note.
    row.get_by_role("link").click()
    expect(alice.get_by_role("heading", name="VPN keeps disconnecting")).to_be_visible()
    alice.get_by_label("Message").fill("Thanks Grace, our network team will look at this.")
    alice.get_by_role("button", name="Send reply").click()
    expect(alice.get_by_text("Reply sent.")).to_be_visible()
    alice.locator("summary", has_text="Escalate or de-escalate").click()
    alice.get_by_label("To tier").select_option("2")
    alice.get_by_label("Reason").fill("Client networking defect suspected")
    alice.get_by_label("Hand-off note (what the next tier needs to know)").fill(
        "Drops every few minutes since the update; power saving already off."
    )
    alice.get_by_role("button", name="Move", exact=True).click()
    expect(alice.get_by_text("Escalated to tier 2.")).to_be_visible()
    screenshot("ticket-escalated", alice)

    # Dan, tier 2, picks it up: the hand-off note is there.
    dan = new_page()
    sign_in(dan, "dan")
    dan.goto("/agent/queue/tier-2/")
    dan.locator("#queue-table tr", has_text=reference).get_by_role("link").click()
    expect(dan.get_by_text("power saving already off")).to_be_visible()
    dan.get_by_role("button", name="Assign to me").click()
    expect(dan.get_by_label("Assignee")).to_have_value(str(team["dan"].pk))
    dan.get_by_label("Message").fill("Fixed in client 4.2.2: please update and tell us.")
    dan.get_by_label("Then set status").select_option("resolved")
    dan.get_by_role("button", name="Send reply").click()
    expect(dan.get_by_text("Reply sent.")).to_be_visible()
    screenshot("ticket-resolved-by-tier-2", dan)

    # The customer signs in with an emailed link and reads the answers.
    customer.goto("/support/login/")
    customer.get_by_label("Your email address").fill("grace@example.com")
    customer.get_by_role("button", name="Email me a sign-in link").click()
    link = next(
        match.group(0)
        for message in reversed(mail.outbox)
        if (match := re.search(r"https?://\S+/support/login/\S+/", message.body))
    )
    customer.goto(re.sub(r"^https?://[^/]+", "", link))
    customer.get_by_role("button", name="Sign in").click()
    customer.get_by_role("link", name=re.compile("VPN keeps disconnecting")).click()
    expect(customer.get_by_text("Fixed in client 4.2.2")).to_be_visible()
    expect(customer.get_by_text("our network team will look at this")).to_be_visible()
    expect(customer.get_by_text("power saving already off")).not_to_be_visible()  # internal

    # ... and rates it; the agents see the rating.
    customer.get_by_label("5: Very good").check()
    customer.get_by_label("Anything you want to tell us? (optional)").fill("Quick and clear.")
    customer.get_by_role("button", name="Send feedback").click()
    screenshot("portal-rated", customer)
    ticket = Ticket.objects.get(customer__name="Grace Hopper")
    expect(dan.locator(".timeline")).to_contain_text("Customer rated 5/5", timeout=10_000)
    dan.reload()
    expect(dan.locator(".csat")).to_have_text("Rated 5/5")
    assert ticket.events.filter(kind=EventKind.RATED).count() == 1
