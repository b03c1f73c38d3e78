"""Single sign-on for staff through OpenID Connect, against a real provider started here
(oidc-provider-mock: Flask and Authlib, discovery, authorization code with PKCE, tokens,
userinfo, signed ID tokens) on a port of its own."""

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.test import Client
from oidc_provider_mock import User, run_server_in_thread

from tests.factories import PASSWORD, AgentFactory, UserFactory
from tickets.models import Customer

pytestmark = pytest.mark.django_db

STAFF = "grace@example.com"


@pytest.fixture
def provider(settings) -> Iterator[str]:
    users = [
        User(sub=email, claims={"email": email, "email_verified": True})
        for email in (STAFF, "stranger@example.com", "ann@example.com")
    ]
    with run_server_in_thread(user_claims=users) as server:
        issuer = f"http://localhost:{server.server_port}"
        settings.SOCIALACCOUNT_PROVIDERS = {
            "openid_connect": {
                "OAUTH_PKCE_ENABLED": True,
                "APPS": [
                    {
                        "provider_id": "sso",
                        "name": "Acme SSO",
                        "client_id": "helpdesk",
                        "secret": "helpdesk-secret",
                        "settings": {"server_url": issuer},
                    }
                ],
            }
        }
        yield issuer


def sso_sign_in(client: Client, who: str) -> object:
    """Press "Sign in with Acme SSO", pick `who` at the provider, come back."""
    to_provider = client.post("/accounts/oidc/sso/login/")
    assert to_provider.status_code == 302, to_provider.content
    authorize = to_provider["Location"]
    answer = requests.post(authorize, data={"sub": who}, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["Location"])
    assert "code" in parse_qs(back.query), back
    return client.get(f"{back.path}?{back.query}", follow=True)


def test_the_sign_in_page_offers_it(provider):
    page = Client().get("/accounts/login/").text

    assert "Sign in with Acme SSO" in page


def test_an_agent_signs_in_through_the_provider(provider):
    agent = AgentFactory(username="grace", email=STAFF, tiers=[1])
    client = Client()

    page = sso_sign_in(client, STAFF)

    assert int(client.session["_auth_user_id"]) == agent.pk
    assert "My open tickets" in page.text


def test_nobody_unknown_gets_an_account(provider):
    client = Client()
    sso_sign_in(client, "stranger@example.com")

    assert "_auth_user_id" not in client.session
    assert not UserFactory._meta.model.objects.filter(email="stranger@example.com").exists()


def test_a_customer_cannot_use_the_staff_door(provider):
    customer_user = UserFactory(username="ann", email="ann@example.com")
    Customer.objects.create(name="Ann", user=customer_user)
    client = Client()

    sso_sign_in(client, "ann@example.com")

    assert "_auth_user_id" not in client.session


def test_when_required_staff_passwords_no_longer_sign_in(provider, settings):
    settings.HELPDESK_SSO_REQUIRED = True
    AgentFactory(username="grace", email=STAFF, tiers=[1])
    by_password = Client()
    by_password.post("/accounts/login/", {"login": "grace", "password": PASSWORD})
    by_sso = Client()
    sso_sign_in(by_sso, STAFF)

    assert "_auth_user_id" not in by_password.session
    assert "_auth_user_id" in by_sso.session
