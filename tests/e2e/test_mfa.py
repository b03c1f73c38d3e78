"""An agent sets up an authenticator app and signs in with it, in a real browser."""

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.agents import sign_in
from tests.factories import PASSWORD, AgentFactory
from tests.helpdesk.test_mfa import code_to_type, next_code_window


def test_an_agent_sets_up_an_authenticator_app_and_signs_in_with_it(
    page: Page, screenshot: Callable[..., Path]
) -> None:
    AgentFactory(username="alice")
    sign_in(page, "alice")

    page.goto("/accounts/2fa/totp/activate/")
    page.get_by_label("Password").fill(PASSWORD)  # the password again, before a change
    page.get_by_role("button", name="Confirm").click()
    secret = page.locator("#authenticator_secret").input_value()
    screenshot("mfa-activate")
    page.get_by_label("Authenticator code").fill(code_to_type(secret))
    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_text("Recovery Codes").first).to_be_visible()

    page.context.clear_cookies()  # signed out
    with next_code_window():
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill("alice")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        # The password alone does not open the desk: the app's code is asked.
        code = page.get_by_label("Code")
        expect(code).to_be_visible()
        screenshot("mfa-code-asked")
        code.fill(code_to_type(secret))
        page.get_by_role("button", name="Sign In").click()
        expect(page.get_by_role("heading", name="My open tickets")).to_be_visible()
