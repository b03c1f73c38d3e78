"""The public help center: browse, read, search and rate articles, without JavaScript."""

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from knowledge import services
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
    another_reader = Client()
    response = another_reader.post(
        url, {"helpful": "no", "comment": "No email arrived"}, follow=True
    )
    assert "Thank you for your feedback." in response.content.decode()
    articles["public"].refresh_from_db()
    assert (articles["public"].helpful_yes, articles["public"].helpful_no) == (1, 1)
    assert ArticleFeedback.objects.get(helpful=False).comment == "No email arrived"


def _votes(article: Article) -> tuple[int, int]:
    article.refresh_from_db()
    return article.helpful_yes, article.helpful_no


def test_a_reader_votes_once_per_article_and_may_change_their_mind(client, articles):
    url = "/kb/access/reset-your-password/feedback/"
    for _ in range(5):
        response = client.post(url, {"helpful": "yes"}, follow=True)
        assert "Thank you for your feedback." in response.content.decode()
    assert _votes(articles["public"]) == (1, 0)

    client.post(url, {"helpful": "no", "comment": "No email arrived"})

    assert _votes(articles["public"]) == (0, 1)
    assert ArticleFeedback.objects.get().comment == "No email arrived"
    client.post("/kb/access/unlock-a-locked-account/feedback/", {"helpful": "yes"})
    assert _votes(articles["sibling"]) == (1, 0)  # another article: another vote


def test_a_signed_in_customer_votes_once_whichever_browser_they_use(customer_user, articles):
    url = "/kb/access/reset-your-password/feedback/"
    for _ in range(2):
        browser = Client()
        browser.force_login(customer_user)
        browser.post(url, {"helpful": "yes"})
    assert _votes(articles["public"]) == (1, 0)


def test_votes_from_one_address_are_limited(articles, settings):
    settings.HELPDESK_KB_VOTES_PER_HOUR = 3
    url = "/kb/access/reset-your-password/feedback/"
    for _ in range(3):
        Client().post(url, {"helpful": "yes"})  # a script dropping its cookies each time

    response = Client().post(url, {"helpful": "yes"}, follow=True)

    assert "Too many answers from your network" in response.content.decode()
    assert _votes(articles["public"]) == (3, 0)
    other_address = Client(REMOTE_ADDR="192.0.2.7")
    other_address.post(url, {"helpful": "no"})
    assert _votes(articles["public"]) == (3, 1)


def test_a_vote_under_another_topics_address_is_not_found(client, articles, category):
    services.category_save(category=None, name="Billing", slug="billing")

    response = client.post("/kb/billing/reset-your-password/feedback/", {"helpful": "yes"})

    assert response.status_code == 404
    assert _votes(articles["public"]) == (0, 0)


def test_a_refused_vote_keeps_what_the_reader_wrote(client, articles):
    response = client.post(
        "/kb/access/reset-your-password/feedback/", {"comment": "The email never came"}
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "Choose yes or no." in html
    assert ">The email never came</textarea>" in html
    assert "Reset your password" in html
    assert not ArticleFeedback.objects.exists()
    articles["public"].refresh_from_db()
    assert articles["public"].view_count == 0


def test_search_page_finds_public_articles_only(client, articles):
    html = page(client, "/kb/search/?q=unlock")
    assert "Unlock a locked account" in html
    assert "admin console" not in html
    assert "Nothing found" in page(client, "/kb/search/?q=zebra")


def test_category_page(client, articles):
    html = page(client, "/kb/access/")
    assert "Reset your password" in html and "Unlock a locked account" in html
    assert client.get("/kb/no-such-topic/").status_code == 404


def test_a_reader_counts_once_a_day_however_often_they_reload(client, articles, customer_user):
    for _ in range(3):
        client.get("/kb/access/reset-your-password/")
    Client(HTTP_USER_AGENT="Another browser").get("/kb/access/reset-your-password/")
    signed_in = Client()
    signed_in.force_login(customer_user)
    signed_in.get("/kb/access/reset-your-password/")
    signed_in.get("/kb/access/reset-your-password/?search=x")  # back from the search
    articles["public"].refresh_from_db()
    assert articles["public"].view_count == 3  # three readers

    home = page(client, "/kb/")  # and "Popular articles" is what readers read
    assert "Reset your password" in home


def test_voting_does_not_count_a_second_view(client, articles):
    client.get("/kb/access/reset-your-password/")
    response = client.post(
        "/kb/access/reset-your-password/feedback/", {"helpful": "yes"}, follow=True
    )
    assert "Thank you for your feedback." in response.content.decode()
    articles["public"].refresh_from_db()
    assert articles["public"].view_count == 1


def test_the_votes_address_opened_in_the_browser_leads_to_the_article(client, articles):
    # The language switch on a refused vote's page sends the reader back to the address
    # the page was posted to.
    response = client.get("/kb/access/reset-your-password/feedback/")

    assert response.status_code == 302
    assert response["Location"] == "/kb/access/reset-your-password/"


@pytest.mark.parametrize(
    "body",
    [
        '<a href="JaVaScRiPt:alert(1)">x</a>',
        '<a href="java&#09;script:alert(1)">x</a>',
        "[x](<javascript:alert(1)>)",
        "[x](data:text/html,<script>alert(1)</script>)",
        '<img src="data:image/svg+xml;base64,PHN2Zz4=">',
        "![x](data:image/png;base64,AAAA)",
        '<img src=x onerror="alert(1)"><svg onload="alert(1)"><iframe src="/x"></iframe>',
        '<div style="position:fixed" onclick="alert(1)">x</div><form action="/x"><input></form>',
        "[" * 3000 + "]" * 3000 + ">" * 3000 + "*" * 3000,
    ],
)
def test_hostile_markdown_reaches_readers_without_scripts_or_data_urls(client, make_article, body):
    make_article("Hostile", body)

    html = page(client, "/kb/access/hostile/")

    start = html.index('<div class="kb-body">')
    rendered = html[start : html.index("</article>", start)]
    tags = " ".join(re.findall(r"<[^>]*>", rendered)).lower()
    for unsafe in ("javascript:", "data:", "onerror", "onload", "onclick", "style=", "<iframe",
                   "<svg", "<form", "<input", "<script"):  # fmt: skip
        assert unsafe not in tags


def test_an_article_moved_to_another_topic_is_found_at_its_old_address(client, articles):
    # Links already sent (tier 0's answers, shared links) name the topic it was in.
    billing = services.category_save(category=None, name="Billing", slug="billing")
    services.article_save(article=articles["public"], actor=None, category=billing)

    response = client.get("/kb/access/reset-your-password/?search=abc")

    assert response.status_code == 302
    assert response["Location"] == "/kb/billing/reset-your-password/?search=abc"
    assert client.get("/kb/billing/unlocking-accounts-in-the-admin-console/").status_code == 404


def test_an_article_whose_address_changed_is_found_at_its_old_one(client, articles):
    services.article_save(article=articles["public"], actor=None, slug="password-reset")
    services.article_save(article=articles["public"], actor=None, slug="password-reset-help")

    for old in ("reset-your-password", "password-reset"):
        response = client.get(f"/kb/access/{old}/?search=abc")
        assert response.status_code == 302
        assert response["Location"] == "/kb/access/password-reset-help/?search=abc"
    assert page(client, "/kb/access/password-reset-help/")


def test_a_new_article_may_take_an_address_another_had_before(client, articles, make_article):
    services.article_save(article=articles["public"], actor=None, slug="password-reset")

    make_article("Reset your password (new)", "Newer.", slug="reset-your-password")

    assert "Newer." in page(client, "/kb/access/reset-your-password/")
    assert "Open <strong>Sign in</strong>" in page(client, "/kb/access/password-reset/")


def test_an_old_address_of_an_article_customers_may_not_read_is_not_found(client, agent, articles):
    services.article_save(article=articles["internal"], actor=None, slug="admin-console-unlock")
    old = "/kb/access/unlocking-accounts-in-the-admin-console/"

    assert client.get(old).status_code == 404
    client.force_login(agent)
    assert client.get(old)["Location"] == "/kb/access/admin-console-unlock/"
