from collections.abc import Callable
from typing import Any

import pytest
from django.utils.text import slugify

from knowledge import services
from knowledge.models import Article, Category


@pytest.fixture
def category(db: None) -> Category:
    return services.category_save(category=None, name="Access", slug="access")


@pytest.fixture
def make_article(category: Category) -> Callable[..., Article]:
    """Create an article through the service; published and public unless told otherwise."""

    def make(title: str, body: str = "", actor: Any = None, **fields: Any) -> Article:
        values: dict[str, Any] = {
            "slug": fields.pop("slug", None) or slugify(title),
            "category": category,
            "summary": "",
            "status": "published",
            "visibility": "public",
        }
        values.update(fields)
        return services.article_save(
            article=None, actor=actor, title=title, body_markdown=body, **values
        )

    return make
