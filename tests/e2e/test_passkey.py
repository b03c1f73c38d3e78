"""An agent adds a passkey (a security key) and signs in with it, in Chromium with a
virtual authenticator (the DevTools protocol's WebAuthn domain: the browser's real
WebAuthn code, the key simulated)."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.factories import PASSWORD, AgentFactory


def test_an_agent_adds_a_passkey_and_signs_in_with_it(
    page: Page, screenshot: Callable[..., Path], settings: Any, live_server_url: str
) -> None:
    settings.MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = True  # the test server speaks http
    # A passkey belongs to a domain name, never to an address: the server as "localhost".
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]
    site = live_server_url.replace("127.0.0.1", "localhost")
    devtools = page.context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    devtools.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    AgentFactory(username="alice")
    sign_in_at(page, site)

    page.goto(f"{site}/accounts/2fa/webauthn/add/")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    # "Add" works through allauth's scripts: pressed before they ran, it did nothing (once
    # in CI). The page's load event comes after them.
    page.wait_for_url("**/accounts/2fa/webauthn/add/")
    page.wait_for_load_state("load")
    page.get_by_label("Name").fill("Laptop")
    page.get_by_role("button", name="Add").click()
    # The first second factor comes with recovery codes, shown at once.
    expect(page.get_by_role("heading", name="Recovery Codes")).to_be_visible()
    page.goto(f"{site}/accounts/2fa/webauthn/")
    expect(page.get_by_text("Laptop").first).to_be_visible()
    screenshot("passkey-added")

    page.context.clear_cookies()  # signed out; the key stays in the (virtual) device
    page.goto(f"{site}/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Use a security key").click()

    expect(page.get_by_role("heading", name="My open tickets")).to_be_visible()


def sign_in_at(page: Page, site: str) -> None:
    page.goto(f"{site}/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My open tickets")).to_be_visible()
