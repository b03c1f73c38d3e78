"""On the demo data, in a real browser: an agent goes from a burst of tickets alike to a
problem, publishes a known issue, a customer asks to be told of the fix instead of writing,
the agent solves the problem and every customer is answered on their channel."""

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core import mail
from playwright.sync_api import Page, expect

from tests.e2e.agents import sign_in
from tests.e2e.axe import violations
from tests.factories import AgentFactory
from tickets.management.commands._demo_problems import BURST, EMAIL, load_catalog_and_burst
from tickets.models import KnownIssueSubscriber, Problem, TicketStatus


def test_from_a_burst_to_a_solved_problem_with_every_customer_answered(
    new_page: Callable[[], Page],
    screenshot: Callable[..., Path],
    celery_eager: Any,
    settings: Any,
) -> None:
    settings.HELPDESK_SPIKES = True
    AgentFactory(username="tom", first_name="Tom", tiers=[1])
    load_catalog_and_burst()  # the demo's burst: six customers of one gateway, within minutes

    agent = new_page()
    sign_in(agent, "tom")
    agent.get_by_role("link", name="Problems", exact=True).click()
    spike = agent.locator(".spike-list li").first
    expect(spike).to_contain_text("6 tickets")
    expect(spike).to_contain_text("Acme Connect in EU-West")
    screenshot("spike", agent)
    spike.get_by_role("button", name="Create problem").click()
    expect(agent.get_by_text("links the spike's tickets")).to_be_visible()
    expect(agent.locator("#linked-tickets tbody tr")).to_have_count(6)
    assert violations(agent) == []

    publish = agent.locator("form[action$='/known-issue/']")
    publish.get_by_label("Title").fill("VPN gateway EU-West unreachable")
    publish.get_by_label("Summary").fill("Connections through EU-West fail with error 809.")
    publish.get_by_label("Products").select_option(label="Acme Connect")
    publish.get_by_label("Regions").fill("EU-West")
    publish.get_by_role("button", name="Publish known issue").click()
    expect(agent.locator("#known-issue-state")).to_contain_text("Published")
    screenshot("problem-published", agent)

    # A customer of the same gateway finds it on the help center and asks to be told.
    customer = new_page()
    customer.goto("/kb/")
    banner = customer.get_by_role("complementary", name="Known issues")
    expect(banner).to_contain_text("VPN gateway EU-West unreachable")
    banner.get_by_role("link", name=re.compile("Tell me when it.s fixed")).click()
    customer.get_by_role("textbox").first.fill(EMAIL.format("karin.berg"))
    customer.get_by_role("button", name="Tell me").click()
    expect(customer.get_by_role("status").or_(customer.locator(".success"))).to_be_visible()
    screenshot("told-when-fixed", customer)
    assert KnownIssueSubscriber.objects.filter(address="karin.berg@example.com").exists()

    agent.reload()
    expect(agent.locator("#asked-to-be-told")).to_contain_text("1 person asked to be told")
    agent.get_by_label("Answer to every linked customer").fill(
        "Hello {{ customer.first_name }}, the EU-West gateway works again. Sorry!"
    )
    agent.get_by_role("button", name="Solve and answer 6 tickets").click()
    expect(agent.locator("#problem-status")).to_have_text("Solved")
    agent.reload()
    expect(agent.get_by_text("6 tickets answered and resolved.")).to_be_visible()
    screenshot("problem-solved", agent)

    problem = Problem.objects.get()
    assert {t.status for t in problem.incidents.all()} == {TicketStatus.RESOLVED}
    for who, _, _ in BURST:
        theirs = [m for m in mail.outbox if m.to == [EMAIL.format(who)]]
        assert len(theirs) == 1, f"{who} gets exactly one message"
        assert "the EU-West gateway works again" in theirs[0].body
    told = [m for m in mail.outbox if m.to == ["karin.berg@example.com"]]
    assert len(told) == 1 and "fixed" in told[0].body.lower()
    customer.goto("/status/")
    expect(customer.get_by_text("No known issues right now")).to_be_visible()
