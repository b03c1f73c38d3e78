"""An agent signs in through the company's OpenID Connect provider, in a real browser."""

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.factories import AgentFactory
from tests.helpdesk.test_sso import STAFF, provider  # noqa: F401  (the provider fixture)


def test_an_agent_signs_in_with_single_sign_on(
    page: Page,
    screenshot: Callable[..., Path],
    provider: str,  # noqa: F811
) -> None:
    AgentFactory(username="grace", email=STAFF, tiers=[1])

    page.goto("/accounts/login/")
    page.get_by_role("button", name="Sign in with Acme SSO").click()
    # At the provider (another origin): the person it knows as grace.
    page.get_by_role("button", name=STAFF).click()

    expect(page.get_by_role("heading", name="My open tickets")).to_be_visible()
    screenshot("sso-signed-in")
