"""Error pages people meet in the browser: in the desk's look and the reader's language,
saying what happened and where to go on; the API keeps its JSON errors."""

import pytest
from django.test import Client

from knowledge import selectors

pytestmark = pytest.mark.django_db

GERMAN = {"HTTP_ACCEPT_LANGUAGE": "de"}


def test_a_missing_page_says_so_and_offers_the_help_center(client: Client) -> None:
    response = client.get("/kb/no-such-topic/")

    page = response.content.decode()
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in page
    assert 'href="/kb/"' in page and 'href="/support/new/"' in page
    assert "agent workspace" not in page.lower()


def test_the_api_keeps_its_json_errors(client: Client) -> None:
    response = client.get("/api/v1/no-such-endpoint/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_an_agent_refused_a_page_is_told_who_they_are_and_led_back(agent) -> None:
    browser = Client()
    browser.force_login(agent)

    response = browser.get("/agent/team/")  # leads' and admins' page

    page = response.content.decode()
    assert response.status_code == 403
    assert "<h1>You may not open this page</h1>" in page
    assert "You are signed in as agent1" in page
    assert "Back to the agent workspace" in page


def test_an_expired_form_tells_the_customer_nothing_was_sent() -> None:
    browser = Client(enforce_csrf_checks=True)

    response = browser.post("/support/new/", {"subject": "Printer", "description": "Offline"})

    page = response.content.decode()
    assert response.status_code == 403
    assert "<h1>This form has expired</h1>" in page
    assert "Nothing was sent." in page
    assert 'href="/support/new/"' in page


def test_a_crash_shows_a_calm_page_that_needs_no_database(monkeypatch) -> None:
    def broken(**_kwargs: object) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(selectors, "portal_home", broken)
    browser = Client(raise_request_exception=False)

    response = browser.get("/kb/")

    page = response.content.decode()
    assert response.status_code == 500
    assert "<h1>Something went wrong on our side</h1>" in page
    assert "the database went away" not in page


def test_error_pages_speak_the_readers_language(client: Client) -> None:
    page = client.get("/kb/no-such-topic/", **GERMAN).content.decode()
    assert "<h1>Seite nicht gefunden</h1>" in page and "Page not found" not in page
    expired = Client(enforce_csrf_checks=True).post("/support/new/", {}, **GERMAN)
    assert "<h1>Dieses Formular ist abgelaufen</h1>" in expired.content.decode()
