"""The headers a scanner looks for, on every kind of page: a Content-Security-Policy that
allows no inline script, no framing but the chat's embedded version, and the rest."""

import pytest

pytestmark = pytest.mark.django_db

PUBLIC_PAGES = [
    "/kb/",
    "/support/new/",
    "/support/login/",
    "/support/chat/",
    "/accounts/login/",
    "/api/docs/",
]


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in policy.split(";") if part.strip())
    }


@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_every_page_has_a_strict_script_policy(client, url):
    response = client.get(url)

    assert response.status_code == 200
    policy = directives(response)
    assert policy["script-src"][0] == "'self'"
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]


def test_the_signed_in_workspace_too(client, agent):
    client.force_login(agent)
    response = client.get("/agent/", follow=True)

    assert response.status_code == 200
    assert "'unsafe-inline'" not in directives(response)["script-src"]


def test_only_the_embedded_chat_may_be_framed_by_other_sites(client):
    embedded = client.get("/support/chat/", {"embed": "1"})

    assert directives(embedded)["frame-ancestors"] == ["*"]
    assert "X-Frame-Options" not in embedded
    assert "'unsafe-inline'" not in directives(embedded)["script-src"]


def test_the_api_docs_load_their_script_from_this_site(client):
    page = client.get("/api/docs/").text
    script = client.get("/api/docs/", {"script": ""})

    assert "<script>" not in page.replace(" ", "")
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.text
