from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from knowledge import services
from knowledge.markdown import render_markdown
from knowledge.models import Article, ArticleRevision, Category

pytestmark = pytest.mark.django_db


def test_markdown_is_rendered_and_sanitised() -> None:
    html = render_markdown(
        "# Reset\n\nSee [the guide](https://example.com/guide) **now**.\n\n"
        "<script>alert(1)</script>\n\n[bad](javascript:alert(1))"
    )

    assert "<h1>Reset</h1>" in html
    assert '<a href="https://example.com/guide" rel="noopener noreferrer nofollow">' in html
    assert "<strong>now</strong>" in html
    assert "<script" not in html
    assert 'href="javascript' not in html


def test_save_renders_body_and_writes_revisions(
    make_article: Callable[..., Article], agent: Any
) -> None:
    article = make_article("Password reset", "Click **Forgot password**.", actor=agent)

    assert article.body_html == "<p>Click <strong>Forgot password</strong>.</p>\n"
    assert article.author == agent
    assert article.published_at is not None

    services.article_save(article=article, actor=agent, body_markdown="Ask an admin.")

    assert list(article.revisions.values_list("number", "body_markdown")) == [
        (2, "Ask an admin."),
        (1, "Click **Forgot password**."),
    ]
    assert ArticleRevision.objects.get(number=2).author == agent


def test_restore_brings_back_an_earlier_text_as_a_new_revision(
    make_article: Callable[..., Article], agent: Any
) -> None:
    article = make_article("Old title", "Old body", summary="old")
    services.article_save(article=article, actor=agent, title="New title", body_markdown="New body")

    restored = services.article_restore_revision(
        revision=article.revisions.get(number=1), actor=agent
    )

    restored.refresh_from_db()
    assert (restored.title, restored.body_markdown, restored.summary) == (
        "Old title",
        "Old body",
        "old",
    )
    assert restored.body_html == "<p>Old body</p>\n"
    assert list(restored.revisions.values_list("number", "title")) == [
        (3, "Old title"),
        (2, "New title"),
        (1, "Old title"),
    ]


def test_unknown_fields_are_refused(category: Category) -> None:
    with pytest.raises(TypeError):
        services.article_save(article=None, actor=None, title="x", colour="red")
    assert not Article.objects.exists()


def test_categories_nest_one_level_only(category: Category) -> None:
    child = services.category_save(category=None, name="Login", slug="login", parent=category)

    with pytest.raises(ValidationError):
        services.category_save(category=None, name="Deep", slug="deep", parent=child)
    with pytest.raises(ValidationError):
        top = services.category_save(category=None, name="Top", slug="top")
        services.category_save(
            category=category, name="Access", slug="access", parent=top
        )  # has children
    assert not Category.objects.filter(slug="deep").exists()
    category.refresh_from_db()
    assert category.parent is None
