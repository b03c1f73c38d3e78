"""The brand on every page customers and agents see: name, logo, colours, footer."""

import re
from typing import Any

import pytest

from tickets.branding import current

pytestmark = pytest.mark.django_db

CUSTOMER_PAGES = [
    "/kb/",
    "/kb/search/?q=printer",
    "/support/new/",
    "/support/login/",
    "/support/chat/",
    "/status/",
    "/accounts/login/",
    "/accounts/password_reset/",
]


@pytest.mark.parametrize("url", CUSTOMER_PAGES)
def test_customer_pages_wear_the_brand(client: Any, acme: Any, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    look = current()
    assert f'<img src="/brand/logo/{look.logo_version}/"' in html
    assert "<span>Acme Support</span>" in html
    assert "· Acme Support</title>" in html
    # The colours, once, as the custom properties the stylesheets use.
    assert "--accent: #b43c0b; --accent-ink: #ffffff;" in html
    assert "--brand-accent: #f59e0b;" in html
    assert "Acme Ltd, 1 Demo Street" in html
    assert 'href="mailto:help@acme.example"' in html
    assert (
        f'<link rel="icon" href="/brand/favicon/{look.favicon_version}/" type="image/png">' in html
    )


def test_portal_pages_of_a_signed_in_customer_wear_it(
    client: Any, acme: Any, customer_user: Any
) -> None:
    client.force_login(customer_user)
    html = client.get("/support/tickets/").content.decode()
    assert "<span>Acme Support</span>" in html and "--accent: #b43c0b" in html


def test_workspace_header_wears_it(client: Any, acme: Any, agent: Any) -> None:
    client.force_login(agent)
    html = client.get("/agent/queue/mine/").content.decode()
    header = re.search(r'<a class="brand".*?</a>', html, re.S).group(0)
    assert f"/brand/logo/{current().logo_version}/" in header and "Acme Support" in header
    assert "--accent: #b43c0b" in html
    assert "· Acme Support</title>" in html


def test_without_a_brand_the_pages_keep_their_defaults(client: Any, agent: Any) -> None:
    html = client.get("/kb/").content.decode()
    assert '<img src="/static/brand/logo.png"' in html
    assert "--accent: #1e5bb8; --accent-ink: #ffffff;" in html
    assert '<link rel="icon" href="/static/brand/favicon.png" type="image/png">' in html
    client.force_login(agent)
    html = client.get("/agent/queue/mine/").content.decode()
    assert "· Help desk</title>" in html


def test_a_company_name_is_escaped(client: Any, db: None) -> None:
    from tickets.branding.services import BrandInput, brand_update

    brand_update(data=BrandInput(company_name="<b>Evil</b> & Co"), actor=None)
    html = client.get("/kb/").content.decode()
    assert "<b>Evil</b>" not in html and "&lt;b&gt;Evil&lt;/b&gt; &amp; Co" in html


def test_the_widget_reads_the_brand_from_any_origin(client: Any, acme: Any) -> None:
    response = client.get("/brand/widget.json", HTTP_ORIGIN="https://customer.example")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response.json() == {
        "name": "Acme Support",
        "label": "Chat with Acme Support",
        "primary": "#b43c0b",
        "primary_ink": "#ffffff",
        "primary_hover": "#963209",
    }


def test_the_widget_without_a_brand_keeps_its_label(client: Any, db: None) -> None:
    assert client.get("/brand/widget.json").json()["label"] == "Chat with support"
