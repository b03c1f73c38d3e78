"""A favicon on every page: /favicon.ico and each base template's <link rel="icon">."""

import re
from typing import Any

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db

PAGES = ["/kb/", "/support/new/", "/status/", "/support/chat/?embed=1", "/accounts/login/"]


def _icon_href(html: str) -> str:
    return re.search(r'<link rel="icon" href="([^"]+)"', html).group(1)


def _served(client: Any, href: str) -> bool:
    if href.startswith("/static/"):  # the test client serves no static files: they exist
        return finders.find(href.removeprefix("/static/")) is not None
    return client.get(href).status_code == 200


def test_favicon_ico_is_the_default_until_one_is_uploaded(client: Any) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert _served(client, response["Location"])


def test_favicon_ico_serves_the_uploaded_favicon(
    client: Any, acme: Any, favicon_png: bytes
) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.content == favicon_png


@pytest.mark.parametrize("branded", [False, True])
@pytest.mark.parametrize("url", PAGES)
def test_no_page_names_a_favicon_that_is_missing(
    client: Any, request: Any, url: str, branded: bool
) -> None:
    if branded:
        request.getfixturevalue("acme")
    html = client.get(url).content.decode()
    assert _served(client, _icon_href(html))


def test_workspace_and_admin_pages_name_the_favicon(
    client: Any, acme: Any, admin_user: Any
) -> None:
    client.force_login(admin_user)
    for url in ("/agent/queue/mine/", "/agent/settings/", "/admin/"):
        html = client.get(url).content.decode()
        assert _served(client, _icon_href(html)), url


def test_an_old_logo_address_leads_to_the_current_logo(client: Any, acme: Any) -> None:
    from tickets.branding import current

    response = client.get("/brand/logo/0123456789ab/")
    assert response.status_code == 302
    assert response["Location"] == f"/brand/logo/{current().logo_version}/"
    served = client.get(response["Location"])
    assert served["Content-Type"] == "image/png"
    assert "immutable" in served["Cache-Control"]
