"""Reads of the knowledge base: answers for what people write, articles for readers."""

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, Prefetch, QuerySet, prefetch_related_objects

from knowledge.models import Article, ArticleStatus, Category, CategoryTranslation, Visibility
from knowledge.search import thesaurus
from knowledge.search.analysis import language, telling, without_sign_off, words
from knowledge.search.engine import MAX_QUERY_WORDS, Hit, find
from knowledge.search.translated import find_translated, show_translations, translated_snippet

SearchHit = Hit
# A long text (an email: backstory, the question, a signature) says more than any one
# article answers, so the share an answer holds is smaller: past this many meaningful
# words the listing's coverage floor falls with the length, to at most this share of it.
# Tuned on the long emails of tests/kb_eval's tuning half (docs/benchmarks.md).
LONG_TEXT_WORDS = 15
LONG_TEXT_FLOOR = 0.6


def _published(include_agent_only: bool) -> QuerySet[Article]:
    articles = Article.objects.filter(status=ArticleStatus.PUBLISHED).select_related("category")
    if not include_agent_only:
        articles = articles.filter(visibility=Visibility.PUBLIC)
    return articles


def article_answers(
    text: str,
    *,
    include_agent_only: bool = False,
    limit: int = 10,
    confident: bool = False,
    language: str = "",
) -> list[Hit]:
    """The articles that answer `text`, best first: every door asks this one engine.

    `confident` keeps only answers good enough to put before a customer unasked (tier 0's
    replies, the chat, the contact form's suggestions); otherwise every article holding
    enough of the query is listed (the help-center search, the API, agents' suggestions), in
    the same order.

    `language`, a reader's language other than the knowledge base's (settings.LANGUAGE_CODE):
    the articles translated into it that answer come first, then the engine's answers in
    the knowledge base's language, each shown in the reader's language when translated.
    """
    text = without_sign_off(text)
    hits = find(text, include_agent_only=include_agent_only, limit=limit)
    translated: list[Hit] = []
    if language and language != _base_language():
        translated = find_translated(
            text, language=language, include_agent_only=include_agent_only, limit=limit
        )
        show_translations([hit.article for hit in hits], language)
        hits = [_snippet_as_shown(hit, text, language) for hit in hits]
    if confident:
        wanted = settings.HELPDESK_TIER0_CONFIDENCE
        return _first_of_each([h for h in [*translated, *hits] if h.confidence >= wanted], limit)
    floor = coverage_floor(text)
    return _first_of_each([h for h in [*translated, *hits] if h.coverage >= floor], limit)


def _base_language() -> str:
    return str(settings.LANGUAGE_CODE).split("-")[0]


def shown_language(article: Article) -> str:
    """The language an article is shown in: a translation's, else the knowledge base's."""
    return getattr(article, "shown_language", _base_language())


def _snippet_as_shown(hit: Hit, text: str, language: str) -> Hit:
    """A hit in the knowledge base's language shown translated: its snippet from the
    translation the reader sees, not from the text they do not."""
    if shown_language(hit.article) != language:
        return hit
    return replace(hit, snippet=translated_snippet(hit.article, text, language))


def _first_of_each(hits: list[Hit], limit: int) -> list[Hit]:
    seen: set[int] = set()
    unique = []
    for hit in hits:
        if hit.article.pk not in seen:
            seen.add(hit.article.pk)
            unique.append(hit)
    return unique[:limit]


def articles_in_language(articles: list[Article], language: str) -> list[Article]:
    """The articles as a reader of `language` reads them: translated where they are (one
    query; none in the knowledge base's own language)."""
    if language and language != _base_language():
        show_translations(articles, language)
    return articles


def categories_in_language(categories: Iterable[Category | None], language: str) -> None:
    """The categories as a reader of `language` reads them: each translated category's
    name and description in its place (its description falls back to the category's own),
    read, never saved so. One query for all of them, none in the knowledge base's own
    language; None (a missing parent) is passed over."""
    shown = [category for category in categories if category is not None]
    if not shown or not language or language == _base_language():
        return
    in_language = CategoryTranslation.objects.filter(language=language).only(
        "category_id", "name", "description"
    )
    prefetch_related_objects(shown, Prefetch("translations", in_language, to_attr="_shown"))
    for category in shown:
        for translation in category._shown:  # type: ignore[attr-defined]
            category.name = translation.name
            category.description = translation.description or category.description


def _holds_readable(include_agent_only: bool, *, through: str = "category") -> Exists:
    """Whether the outer category holds an article the reader may read (`through`
    "category__parent": one of its subtopics does)."""
    readable = readable_articles(include_agent_only=include_agent_only)
    return Exists(readable.filter(**{through: OuterRef("pk")}))


def _shown_categories(include_agent_only: bool) -> QuerySet[Category]:
    """The categories a reader is shown: each holds an article they may read, itself or
    through a subtopic (categories nest one level), with its shown subtopics prefetched."""
    return Category.objects.filter(
        _holds_readable(include_agent_only)
        | _holds_readable(include_agent_only, through="category__parent")
    ).prefetch_related(_shown_children(include_agent_only))


def _shown_children(include_agent_only: bool) -> Prefetch:
    return Prefetch("children", Category.objects.filter(_holds_readable(include_agent_only)))


def help_center_categories(*, include_agent_only: bool, language: str) -> list[Category]:
    """The help center's topics with their subtopics, only those holding an article the
    reader may read, named in `language` where translated (three queries, however many
    there are)."""
    topics = list(
        _shown_categories(include_agent_only)
        .filter(parent__isnull=True)
        .order_by("position", "name")
    )
    categories_in_language([*topics, *(c for t in topics for c in t.children.all())], language)
    return topics


def category_for_reader(*, slug: str, include_agent_only: bool) -> Category | None:
    """A category's page for this reader, with its parent and its shown subtopics: for a
    customer only one holding an article they may read (the others are as if they did not
    exist); agents open any (a topic being filled, before its articles are published)."""
    if include_agent_only:
        categories = Category.objects.prefetch_related(_shown_children(include_agent_only))
    else:
        categories = _shown_categories(include_agent_only)
    return categories.select_related("parent").filter(slug=slug).first()


def coverage_floor(text: str) -> float:
    """The share of what `text` says an article must hold to be listed for it."""
    meaningful = min(len(words(text)), MAX_QUERY_WORDS)
    share = max(LONG_TEXT_FLOOR, min(1.0, LONG_TEXT_WORDS / max(meaningful, 1)))
    return float(settings.KNOWLEDGE_MIN_COVERAGE) * share


def readable_articles(*, include_agent_only: bool) -> QuerySet[Article]:
    """Published articles a reader may open: agent-only ones only for staff."""
    return _published(include_agent_only)


def article_for_reader(
    *, slug: str = "", pk: int | None = None, include_agent_only: bool
) -> Article | None:
    """A published article by slug (its own, else one it had before: see its `slug` for
    where it is now) or id, if this reader may open it."""
    articles = readable_articles(include_agent_only=include_agent_only)
    if pk is not None:
        return articles.filter(pk=pk).first()
    return articles.filter(slug=slug).first() or articles.filter(former_slugs__slug=slug).first()


def related_articles(
    article: Article, *, include_agent_only: bool, limit: int = 5
) -> list[Article]:
    """Other articles of the same category, most read first."""
    return list(
        readable_articles(include_agent_only=include_agent_only)
        .filter(category_id=article.category_id)
        .exclude(pk=article.pk)
        .order_by("-view_count", "title")[:limit]
    )


def portal_home(*, include_agent_only: bool, language: str) -> dict[str, Any]:
    articles = readable_articles(include_agent_only=include_agent_only)
    return {
        "categories": help_center_categories(
            include_agent_only=include_agent_only, language=language
        ),
        "popular": list(articles.order_by("-view_count", "title")[:6]),
        "recent": list(articles.order_by("-published_at", "-id")[:6]),
    }


def telling_terms(text: str, *, most: int = 4) -> list[str]:
    """The words that say most about what a text is about, as the search engine reads them
    (stemmed, a synonym group's words as one: "wifi" is "wireless network"), most telling
    first: what tickets alike share (tickets.problems.spikes)."""
    text = without_sign_off(text)
    found = words(text)[:MAX_QUERY_WORDS]
    terms = [w.term for w in found]
    groups = thesaurus.current()
    named = {
        index + offset: group
        for index in range(len(terms))
        for group, length in groups.groups_at(terms, index)
        for offset in range(length)
    }
    lang = language()
    weights: dict[str, float] = {}
    for index, word in enumerate(found):
        term = named.get(index, word.term)
        weight = telling(text[word.start : word.end].lower(), lang)
        weights[term] = max(weights.get(term, 0.0), weight)
    # Of words as telling, the first written (dicts keep that order; the sort is stable).
    return sorted(weights, key=lambda term: -weights[term])[:most]
