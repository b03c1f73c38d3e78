"""The public help center: browse, read, search and rate articles, without JavaScript."""

from collections.abc import Callable
from typing import Any

import pytest

from knowledge.models import Article, ArticleFeedback

pytestmark = pytest.mark.django_db


@pytest.fixture
def articles(make_article: Callable[..., Article]) -> dict[str, Article]:
    return {
        "public": make_article(
            "Reset your password",
            "1. Open **Sign in**\n2. Click *Forgot password*\n<script>alert(1)</script>",
            summary="Back into your account.",
        ),
        "sibling": make_article("Unlock a locked account", "Wait 15 minutes.", summary="Locked?"),
        "internal": make_article(
            "Unlocking accounts in the admin console", "Admin steps.", visibility="agents"
        ),
        "draft": make_article("Upcoming SSO changes", "Soon.", status="draft"),
    }


def page(client: Any, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def test_home_lists_topics_popular_and_recent(client, articles):
    html = page(client, "/kb/")
    assert "Access" in html
    assert "Reset your password" in html
    assert "Unlocking accounts in the admin console" not in html
    assert "Upcoming SSO changes" not in html


def test_article_page_renders_sanitised_markdown_counts_views_and_links_related(client, articles):
    html = page(client, "/kb/access/reset-your-password/")
    assert "<strong>Sign in</strong>" in html
    assert "<script>alert(1)</script>" not in html
    assert "Unlock a locked account" in html  # related, same category
    assert "Was this helpful?" in html
    articles["public"].refresh_from_db()
    assert articles["public"].view_count == 1


@pytest.mark.parametrize(
    "slug", ["unlocking-accounts-in-the-admin-console", "upcoming-sso-changes"]
)
def test_agent_only_and_draft_articles_are_not_found_by_customers(
    client, customer_user, articles, slug
):
    assert client.get(f"/kb/access/{slug}/").status_code == 404
    client.force_login(customer_user)
    assert client.get(f"/kb/access/{slug}/").status_code == 404


def test_agents_can_read_internal_articles(client, agent, articles):
    client.force_login(agent)
    html = page(client, "/kb/access/unlocking-accounts-in-the-admin-console/")
    assert "Internal article: agents only." in html


def test_helpful_votes_are_counted_with_the_reason(client, articles):
    url = "/kb/access/reset-your-password/feedback/"
    assert client.post(url, {"helpful": "yes"}).status_code == 302
    response = client.post(url, {"helpful": "no", "comment": "No email arrived"}, follow=True)
    assert "Thank you for your feedback." in response.content.decode()
    articles["public"].refresh_from_db()
    assert (articles["public"].helpful_yes, articles["public"].helpful_no) == (1, 1)
    assert ArticleFeedback.objects.get(helpful=False).comment == "No email arrived"


def test_search_page_finds_public_articles_only(client, articles):
    html = page(client, "/kb/search/?q=unlock")
    assert "Unlock a locked account" in html
    assert "admin console" not in html
    assert "Nothing found" in page(client, "/kb/search/?q=zebra")


def test_category_page(client, articles):
    html = page(client, "/kb/access/")
    assert "Reset your password" in html and "Unlock a locked account" in html
    assert client.get("/kb/no-such-topic/").status_code == 404


def test_voting_does_not_count_a_second_view(client, articles):
    client.get("/kb/access/reset-your-password/")
    response = client.post(
        "/kb/access/reset-your-password/feedback/", {"helpful": "yes"}, follow=True
    )
    assert "Thank you for your feedback." in response.content.decode()
    articles["public"].refresh_from_db()
    assert articles["public"].view_count == 1
