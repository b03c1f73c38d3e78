"""Which topics the help center names: only those holding an article the reader may read
(a parent through its subtopics). A topic with only agent-only or unpublished articles is
not named to customers, in the help center or the knowledge-base API, and its page answers
as if it did not exist; agents, who may read agent-only articles, still see it."""

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from knowledge.models import Article, Category
from knowledge.services import category_save

pytestmark = pytest.mark.django_db


@pytest.fixture
def shelves(make_article: Callable[..., Article], category: Category) -> dict[str, Category]:
    """Access: public. Internal tools: agent-only. Coming soon: a draft. Network: nothing of
    its own, a public article in its VPN subtopic, and a Routers subtopic with an archived
    one. Servers: an agent-only article in its Racks subtopic."""
    internal = category_save(category=None, name="Internal tools", slug="internal-tools")
    coming = category_save(category=None, name="Coming soon", slug="coming-soon")
    network = category_save(category=None, name="Network", slug="network")
    vpn = category_save(category=None, name="VPN client", slug="vpn", parent=network)
    routers = category_save(category=None, name="Routers", slug="routers", parent=network)
    servers = category_save(category=None, name="Servers", slug="servers")
    racks = category_save(category=None, name="Racks", slug="racks", parent=servers)
    make_article("Reset your password", category=category)
    make_article("Admin console runbook", category=internal, visibility="agents")
    make_article("Single sign-on is coming", category=coming, status="draft")
    make_article("VPN disconnects", category=vpn)
    make_article("Old router firmware", category=routers, status="archived")
    make_article("Rack power cycling", category=racks, visibility="agents")
    return {"internal": internal, "network": network, "servers": servers}


HIDDEN = ["Internal tools", "Coming soon", "Routers", "Servers", "Racks"]


def _page(client: Client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.content.decode()


def _customers(customer_user: Any) -> list[Client]:
    signed_in = Client()
    signed_in.force_login(customer_user)
    return [Client(), signed_in]


def test_customers_are_shown_only_topics_with_an_article_they_may_read(shelves, customer_user):
    for client in _customers(customer_user):
        home = _page(client, "/kb/")
        assert '<a href="/kb/access/">Access</a>' in home
        assert '<a href="/kb/network/">Network</a>' in home  # through its VPN subtopic
        for name in HIDDEN:
            assert name not in home
        network = _page(client, "/kb/network/")
        assert '<a href="/kb/vpn/">VPN client</a>' in network
        assert "Routers" not in network


@pytest.mark.parametrize("slug", ["internal-tools", "coming-soon", "routers", "servers", "racks"])
def test_a_hidden_topics_page_is_not_found_by_customers(shelves, customer_user, slug):
    for client in _customers(customer_user):
        response = client.get(f"/kb/{slug}/")
        assert response.status_code == 404
        assert "Page not found" in response.content.decode()


def test_agents_see_the_topics_of_agent_only_articles(shelves, agent):
    client = Client()
    client.force_login(agent)
    home = _page(client, "/kb/")
    assert '<a href="/kb/internal-tools/">Internal tools</a>' in home
    assert '<a href="/kb/servers/">Servers</a>' in home  # through its Racks subtopic
    assert "Coming soon" not in home  # nothing an agent can read there either
    assert "Admin console runbook" in _page(client, "/kb/internal-tools/")
    assert '<a href="/kb/racks/">Racks</a>' in _page(client, "/kb/servers/")
    # A topic's page answers agents whatever it holds (a new topic, before publishing).
    assert "No articles yet." in _page(client, "/kb/coming-soon/")


def test_the_api_lists_only_topics_the_reader_may_read(
    shelves, api: APIClient, customer_api: APIClient, agent_api: APIClient
):
    def topics(client: APIClient) -> list[tuple[str, list[str]]]:
        response = client.get("/api/v1/kb/categories")
        assert response.status_code == 200
        return [
            (t["name"], [c["name"] for c in t["children"]]) for t in response.json()["categories"]
        ]

    assert topics(api) == topics(customer_api) == [("Access", []), ("Network", ["VPN client"])]
    assert topics(agent_api) == [
        ("Access", []),
        ("Internal tools", []),
        ("Network", ["VPN client"]),
        ("Servers", ["Racks"]),
    ]


def _more_shelves(make_article: Callable[..., Article], count: int) -> None:
    for n in range(count):
        shown = category_save(category=None, name=f"Topic {n}", slug=f"topic-{n}")
        child = category_save(category=None, name=f"Sub {n}", slug=f"sub-{n}", parent=shown)
        make_article(f"Article {n}", category=child)
        hidden = category_save(category=None, name=f"Hidden {n}", slug=f"hidden-{n}")
        make_article(f"Internal {n}", category=hidden, visibility="agents")
        network = Category.objects.get(slug="network")
        make_article(f"Network {n}", category=network)
        quiet = category_save(category=None, name=f"Quiet {n}", slug=f"quiet-{n}", parent=network)
        make_article(f"Draft {n}", category=quiet, status="draft")


@pytest.mark.parametrize("path", ["/kb/", "/kb/network/", "/api/v1/kb/categories"])
def test_the_query_count_does_not_grow_with_the_topics(
    shelves, make_article, customer_user, django_assert_max_num_queries, path
):
    client = Client()
    client.force_login(customer_user)
    client.get(path)  # the session and the like settle
    with django_assert_max_num_queries(1000) as few:
        assert client.get(path).status_code == 200
    _more_shelves(make_article, 5)

    with django_assert_max_num_queries(len(few)):
        page = client.get(path).content.decode()
    assert "Topic 4" in page if path != "/kb/network/" else "Network 4" in page
    assert "Hidden 4" not in page and "Quiet 4" not in page
