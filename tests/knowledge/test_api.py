from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from knowledge import services
from knowledge.models import Article, Category

pytestmark = pytest.mark.django_db
URL = "/api/v1/kb/search"


@pytest.fixture
def kb(make_article: Callable[..., Article]) -> None:
    make_article("Password reset", "Click forgot password.", summary="Back in.")
    make_article("Password reset for agents", "Admin console.", visibility="agents")


def slugs(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [r["slug"] for r in response.json()["results"]]


def test_anonymous_and_customers_see_public_articles_only(
    kb: None, api: APIClient, customer_api: APIClient
) -> None:
    assert slugs(api.get(URL, {"q": "password"})) == ["password-reset"]
    assert slugs(customer_api.get(URL, {"q": "password"})) == ["password-reset"]


def test_agents_also_see_agent_only_articles(kb: None, agent_api: APIClient) -> None:
    assert set(slugs(agent_api.get(URL, {"q": "password"}))) == {
        "password-reset",
        "password-reset-for-agents",
    }


def test_result_shape(kb: None, api: APIClient) -> None:
    [result] = api.get(URL, {"q": "password"}).json()["results"]

    assert set(result) == {
        "id", "title", "slug", "summary", "snippet", "score", "confidence", "url", "language"
    }  # fmt: skip
    assert result["url"].startswith("/kb/access/password-reset/?search=")
    assert result["summary"] == "Back in."
    assert result["language"] == "en"


@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "x" * 201}])
def test_missing_or_too_long_query_is_400(api: APIClient, params: dict) -> None:
    response = api.get(URL, params)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert "q" in response.json()["error"]["fields"]


def test_invalid_token_is_401(api: APIClient) -> None:
    api.credentials(HTTP_AUTHORIZATION="Token nope")

    assert api.get(URL, {"q": "password"}).status_code == 401


def test_query_count_does_not_grow_with_results(
    make_article: Callable[..., Article], api: APIClient
) -> None:
    make_article("Password one", "x")
    with CaptureQueriesContext(connection) as few:
        api.get(URL, {"q": "password"})
    for n in range(5):
        make_article(f"Password {n} more", "x")
    with CaptureQueriesContext(connection) as many:
        response = api.get(URL, {"q": "password"})

    assert len(response.json()["results"]) == 6
    # The words' statistics, the ranking, the articles, and the search's log row.
    assert len(many) == len(few) == 4


def test_categories_list_the_help_centers_topics_in_order(
    category: Category,
    make_article: Callable[..., Article],
    api: APIClient,
    customer_api: APIClient,
) -> None:
    billing = services.category_save(
        category=None, name="Billing", slug="billing", position=0, description="Invoices."
    )
    refunds = services.category_save(category=None, name="Refunds", slug="refunds", parent=billing)
    cards = services.category_save(
        category=None, name="Cards", slug="cards", parent=billing, position=1
    )
    apps = services.category_save(
        category=None, name="Apps", slug="apps", position=1, description="Mobile apps."
    )
    # Each holds a public article (Billing through its subtopics): a topic without one is
    # not listed (tests/knowledge/test_category_visibility.py).
    for shelf in (category, refunds, cards, apps):
        make_article(f"About {shelf.name}", category=shelf)

    response = api.get("/api/v1/kb/categories")

    assert response.status_code == 200
    topics = response.json()["categories"]
    assert [(t["name"], [c["name"] for c in t["children"]]) for t in topics] == [
        ("Access", []),  # by position, then by name
        ("Billing", ["Refunds", "Cards"]),
        ("Apps", []),
    ]
    assert topics[1]["url"] == "/kb/billing/" and topics[1]["description"] == "Invoices."
    assert customer_api.get("/api/v1/kb/categories").json() == response.json()
