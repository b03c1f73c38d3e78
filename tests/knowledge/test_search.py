from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from knowledge import selectors
from knowledge.models import Article
from knowledge.selectors import article_search, article_suggest

pytestmark = pytest.mark.django_db

on_postgres = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="PostgreSQL full-text search"
)


@pytest.fixture
def kb(make_article: Callable[..., Article]) -> dict[str, Article]:
    return {
        "reset": make_article(
            "Password reset",
            "Open the sign-in page and click *Forgot password*. A link arrives by email.",
            summary="Get back into your account.",
            tags="login, account",
        ),
        "vpn": make_article(
            "VPN keeps disconnecting",
            "Restart the client. If the password prompt keeps coming back, update it.",
            summary="Stable connection tips.",
            tags="network",
        ),
        "invoice": make_article(
            "Download an invoice",
            "Billing > Invoices > Download. <script>alert(1)</script>",
            summary="Invoices as PDF.",
            tags="billing",
        ),
        "internal": make_article(
            "Password reset for admins (internal)",
            "Use the admin console to reset a customer's password.",
            visibility="agents",
        ),
        "draft": make_article("Password reset draft", "Not ready.", status="draft"),
    }


def titles(hits: list[Any]) -> list[str]:
    return [hit.article.title for hit in hits]


def test_only_published_public_articles_unless_agent_only_is_asked(kb: dict) -> None:
    public = titles(article_search("password", include_agent_only=False))
    staff = titles(article_search("password", include_agent_only=True))

    assert "Password reset" in public
    assert "Password reset for admins (internal)" not in public
    assert "Password reset for admins (internal)" in staff
    assert "Password reset draft" not in staff


def test_title_match_beats_body_match(kb: dict) -> None:
    hits = article_search("password", include_agent_only=False)

    assert titles(hits)[:2] == ["Password reset", "VPN keeps disconnecting"]
    assert hits[0].score > hits[1].score


def test_snippet_marks_matches_and_is_safe(kb: dict) -> None:
    [hit] = article_search("invoices", include_agent_only=False)

    assert "<mark>" in hit.snippet
    assert "<script" not in hit.snippet


def test_empty_query_finds_nothing(kb: dict) -> None:
    assert article_search("   ", include_agent_only=True) == []


@on_postgres
def test_typo_in_a_short_query_still_finds_the_title(kb: dict) -> None:
    hits = article_search("pasword reset", include_agent_only=False)

    assert titles(hits)[0] == "Password reset"


@on_postgres
def test_websearch_syntax_excludes_words(kb: dict) -> None:
    hits = article_search("password -vpn", include_agent_only=False)

    assert titles(hits) == ["Password reset"]


def test_embedded_fallback_matches_any_word_title_first(kb: dict) -> None:
    """The search SQLite uses (plain ORM, so it runs on every database here)."""
    hits = selectors._fallback_search(
        selectors._published(False), ["password", "invoices"], limit=10
    )

    assert titles(hits) == ["Password reset", "Download an invoice", "VPN keeps disconnecting"]
    assert "<mark>password</mark>" in hits[-1].snippet.lower()


def test_suggest_orders_by_confidence(kb: dict) -> None:
    hits = article_suggest(
        "Hello, I forgot my password and cannot log in to my account. Please help!"
    )

    assert titles(hits)[0] == "Password reset"
    confidences = [hit.confidence for hit in hits]
    assert confidences == sorted(confidences, reverse=True)
    assert all(0 <= c <= 1 for c in confidences)
    assert confidences[0] > 0.5
    assert "Password reset for admins (internal)" not in titles(hits)


def test_suggest_without_meaningful_words_is_empty(kb: dict) -> None:
    assert article_suggest("Hello, please help me!") == []


def test_search_is_one_query(kb: dict) -> None:
    with CaptureQueriesContext(connection) as queries:
        hits = article_search("password", include_agent_only=True)
        [hit.article.category.name for hit in hits]

    assert len(queries) == 1


def test_snippets_show_text_not_markdown_syntax(make_article):
    make_article(
        "Forgot password",
        "Choose **Forgot password** on the [sign-in page](https://example.com/login) and `retry`.",
    )
    [hit] = selectors.article_search("forgot password", include_agent_only=False)
    assert "**" not in hit.snippet and "`" not in hit.snippet and "](" not in hit.snippet
    assert "sign-in page" in hit.snippet
