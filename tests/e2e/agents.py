"""Helpers for browser tests that need an agent signed in."""

from playwright.sync_api import Page, expect

from tests.factories import PASSWORD


def sign_in(page: Page, username: str) -> None:
    """Sign in through the agents' sign-in page and wait for the workspace."""
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My open tickets")).to_be_visible()
