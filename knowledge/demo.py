"""Loading the demo knowledge base (knowledge/demo_articles.py) through the services."""

from django.contrib.auth.models import User
from django.db import transaction

from knowledge import demo_articles, demo_translations
from knowledge.models import (
    Article,
    ArticleStatus,
    ArticleTranslation,
    Category,
    CategoryTranslation,
)
from knowledge.services import (
    article_save,
    article_translation_save,
    category_save,
    category_translation_save,
)


@transaction.atomic
def load_demo_knowledge_base(*, actor: User | None = None) -> int:
    """Create the demo categories and articles that do not exist yet; returns how many
    articles were created. Safe to run again."""
    categories: dict[str, Category] = {c.slug: c for c in Category.objects.all()}
    ordered = sorted(demo_articles.CATEGORIES, key=lambda c: c["parent"] is not None)
    for spec in ordered:
        slug = str(spec["slug"])
        if slug not in categories:
            parent = categories[str(spec["parent"])] if spec["parent"] else None
            categories[slug] = category_save(
                category=None,
                name=str(spec["name"]),
                slug=slug,
                parent=parent,
                description=str(spec.get("description") or ""),
            )
    existing = set(Article.objects.values_list("slug", flat=True))
    created = 0
    for item in demo_articles.ARTICLES:
        if item["slug"] in existing:
            continue
        article_save(
            article=None,
            actor=actor,
            title=item["title"],
            slug=item["slug"],
            category=categories[item["category"]],
            summary=item["summary"],
            tags=", ".join(item["tags"]),
            visibility=item["visibility"],
            body_markdown=item["body"],
            status=ArticleStatus.PUBLISHED,
        )
        created += 1
    _load_category_translations(categories)
    _load_translations()
    return created


def _load_category_translations(categories: dict[str, Category]) -> None:
    """The demo categories' translations that do not exist yet."""
    existing = set(
        CategoryTranslation.objects.filter(category__in=categories.values()).values_list(
            "category__slug", "language"
        )
    )
    for slug, languages in demo_translations.CATEGORIES.items():
        for language, text in languages.items():
            if slug not in categories or (slug, language) in existing:
                continue
            category_translation_save(
                category=categories[slug],
                language=language,
                name=text["name"],
                description=text["description"],
            )


def _load_translations() -> None:
    """The demo articles' translations that do not exist yet."""
    articles = {a.slug: a for a in Article.objects.filter(slug__in=demo_translations.TRANSLATIONS)}
    existing = set(
        ArticleTranslation.objects.filter(article__in=articles.values()).values_list(
            "article__slug", "language"
        )
    )
    for slug, languages in demo_translations.TRANSLATIONS.items():
        for language, text in languages.items():
            if slug not in articles or (slug, language) in existing:
                continue
            article_translation_save(
                article=articles[slug],
                language=language,
                title=text["title"],
                summary=text["summary"],
                body_markdown=text["body"],
            )
