"""Reads of the knowledge base: search and suggestions over published articles.

PostgreSQL: full-text search over the stored, weighted vector (websearch syntax), ranked,
with highlighted snippets, plus trigram similarity on titles for short (typo-prone) queries.
SQLite: a plain substring fallback with a crude score, so the embedded default still works.
"""

import html
import re
from dataclasses import dataclass
from typing import Any

import nh3
from django.contrib.postgres.lookups import TrigramSimilar
from django.contrib.postgres.search import (
    SearchHeadline,
    SearchQuery,
    SearchRank,
    TrigramSimilarity,
)
from django.db import connection
from django.db.models import Count, F, Q, QuerySet, Value
from django.db.models.functions import Greatest

from knowledge.models import Article, ArticleStatus, Category, Visibility
from knowledge.services import search_config

# Short queries (this many words or fewer) also match titles by trigram similarity.
SHORT_QUERY_WORDS = 3
TRIGRAM_THRESHOLD = 0.3
_WORD = re.compile(r"\w+", re.UNICODE)
_STOP_WORDS_TEXT = """
    a about after again all am an and any are as at be because been before being but by can
    cannot could did do does doing don dont for from get got had has have having he her here
    hers him his how i if in into is it its just me more most my no not now of off on once only
    or other our out over please same she should so some still such than thank thanks that the
    their them then there these they this those through to too under until up very was we were
    what when where which while who why will with would you your yours hello hi regards dear
    help problem issue"""
_STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())


@dataclass(frozen=True)
class SearchHit:
    article: Article
    score: float
    snippet: str  # safe HTML: text with <mark> around the matched words
    confidence: float = 0.0  # 0..1, how well the article covers the query's words


def _published(include_agent_only: bool) -> QuerySet[Article]:
    articles = Article.objects.filter(status=ArticleStatus.PUBLISHED).select_related("category")
    if not include_agent_only:
        articles = articles.filter(visibility=Visibility.PUBLIC)
    return articles


# Markdown syntax that reads as noise in a plain-text snippet: emphasis, code and heading
# marks, and the URL part of links.
_MARKDOWN_NOISE = re.compile(r"\*\*|__|`+|^#{1,6}\s+|(?<=\])\([^)]*\)|[\[\]]", re.MULTILINE)


def _clean_snippet(snippet: str) -> str:
    text = _MARKDOWN_NOISE.sub("", snippet)
    return nh3.clean(text, tags={"mark"}, attributes={}, strip_comments=True)


def keywords(text: str, *, limit: int = 12) -> list[str]:
    """The meaningful words of a text, in order, without stop words or repeats."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(text.lower()):
        if len(word) >= 3 and word not in _STOP_WORDS and not word.isdigit():
            seen.setdefault(word, None)
    return list(seen)[:limit]


def _coverage(article: Article, words: list[str]) -> float:
    """Share of the words found in the article: full credit in title/summary/tags, half in body."""
    if not words:
        return 0.0
    head = f"{article.title} {article.summary} {article.tags}".lower()
    body = article.body_markdown.lower()
    total = sum(1.0 if w in head else 0.5 if w in body else 0.0 for w in words)
    return round(total / len(words), 4)


def _postgres_search(
    articles: QuerySet[Article],
    text: str,
    *,
    trigram: bool,
    limit: int,
    candidates_text: str | None = None,
) -> list[SearchHit]:
    """`candidates_text`, when given, picks the articles that `text` then ranks."""
    config = search_config()
    query = SearchQuery(text, search_type="websearch", config=config)
    wanted = query
    if candidates_text is not None:
        wanted = SearchQuery(candidates_text, search_type="websearch", config=config)
    matches = Q(search_vector=wanted)
    score = SearchRank(F("search_vector"), query)
    # Only what the hits show: the stored vector and the rendered body are large.
    rows = articles.defer("search_vector", "body_html").annotate(rank=score)
    if trigram:
        rows = rows.annotate(similarity=TrigramSimilarity("title", text))
        # `title % text` lets the trigram index find the candidates (a bare similarity()
        # comparison reads every row); pg_trgm's own threshold is 0.3 unless set lower.
        matches |= Q(TrigramSimilar(F("title"), Value(text))) & Q(similarity__gte=TRIGRAM_THRESHOLD)
        score_expr = F("rank") + Greatest(F("similarity"), Value(0.0)) * Value(0.5)
    else:
        score_expr = F("rank") * Value(1.0)
    rows = (
        rows.filter(matches)
        .annotate(
            score=score_expr,
            snippet=SearchHeadline(
                "body_markdown",
                query,
                config=config,
                start_sel="<mark>",
                stop_sel="</mark>",
                max_words=30,
                min_words=12,
            ),
        )
        .order_by("-score", "title")[:limit]
    )
    return [
        SearchHit(article=row, score=float(row.score), snippet=_clean_snippet(row.snippet))
        for row in rows
    ]


def _fallback_snippet(article: Article, words: list[str], width: int = 160) -> str:
    body = article.body_markdown or article.summary
    lower = body.lower()
    start = min((lower.find(w) for w in words if w in lower), default=0)
    start = max(0, start - width // 4)
    excerpt = html.escape(body[start : start + width])
    for word in words:
        excerpt = re.sub(
            f"({re.escape(html.escape(word))})", r"<mark>\1</mark>", excerpt, flags=re.IGNORECASE
        )
    return _clean_snippet(excerpt)


def _fallback_search(articles: QuerySet[Article], words: list[str], limit: int) -> list[SearchHit]:
    if not words:
        return []
    matches = Q()
    for word in words:
        matches |= (
            Q(title__icontains=word)
            | Q(summary__icontains=word)
            | Q(tags__icontains=word)
            | Q(body_markdown__icontains=word)
        )
    hits = []
    for article in articles.filter(matches):
        title, head = article.title.lower(), f"{article.summary} {article.tags}".lower()
        body = article.body_markdown.lower()
        score = sum(
            (1.0 if w in title else 0.0) + (0.4 if w in head else 0.0) + (0.1 if w in body else 0.0)
            for w in words
        )
        hits.append(SearchHit(article, round(score, 4), _fallback_snippet(article, words)))
    hits.sort(key=lambda hit: (-hit.score, hit.article.title))
    return hits[:limit]


def article_search(query: str, *, include_agent_only: bool, limit: int = 10) -> list[SearchHit]:
    """Published articles matching a person's query, best first."""
    query = query.strip()
    if not query:
        return []
    articles = _published(include_agent_only)
    if connection.vendor == "postgresql":
        short = len(query.split()) <= SHORT_QUERY_WORDS
        return _postgres_search(articles, query, trigram=short, limit=limit)
    return _fallback_search(articles, [w.lower() for w in _WORD.findall(query)], limit)


# A suggestion ORs the text's words together, and in a large knowledge base the commonest
# ("every", "since", "windows") are in most articles: every article would be ranked (about
# 100 ms for 10,000). The candidates are the articles holding one of the rarer words, taken
# rarest first until about this many articles hold one; all words still rank them and count
# in the confidence.
SUGGEST_CANDIDATES = 2000
# How many articles hold each word, from the statistics ANALYZE keeps of the search vector
# (the commonest lexemes and the share of rows holding each); words not listed are rarer.
_WORD_FREQUENCIES = """
    SELECT w.word, max(coalesce(stats.share, 0)) * max(greatest(c.reltuples, 0))
    FROM unnest(%s::text[]) WITH ORDINALITY AS w(word, position)
    CROSS JOIN LATERAL unnest(to_tsvector(%s::regconfig, w.word)) AS t
    CROSS JOIN pg_class AS c
    LEFT JOIN (
        SELECT e.lexeme, e.share
        FROM pg_stats AS s,
            unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs)
                AS e(lexeme, share)
        WHERE s.schemaname = current_schema() AND s.tablename = 'knowledge_article'
            AND s.attname = 'search_vector'
    ) AS stats ON stats.lexeme = t.lexeme
    WHERE c.oid = 'knowledge_article'::regclass
    GROUP BY w.word, w.position
    ORDER BY 2, w.position
"""


def _telling_words(words: list[str]) -> list[str]:
    """The rarer words of `words`, held by about SUGGEST_CANDIDATES articles at most."""
    with connection.cursor() as cursor:
        cursor.execute(_WORD_FREQUENCIES, [words, search_config()])
        counted: list[tuple[str, float]] = cursor.fetchall()
    kept: list[str] = []
    articles = 0.0
    for word, holding in counted:
        if kept and articles + holding > SUGGEST_CANDIDATES:
            break
        kept.append(word)
        articles += holding
    # Words the text-search configuration ignores have no row; none at all: search them all.
    return kept or words


def article_suggest(
    text: str, *, limit: int = 3, include_agent_only: bool = False
) -> list[SearchHit]:
    """The best few published articles for a ticket's subject and body, with a confidence."""
    words = keywords(text)
    if not words:
        return []
    articles = _published(include_agent_only)
    if connection.vendor == "postgresql":
        hits = _postgres_search(
            articles,
            " or ".join(words),
            trigram=False,
            limit=limit * 3,
            candidates_text=" or ".join(_telling_words(words)),
        )
    else:
        hits = _fallback_search(articles, words, limit * 3)
    scored = [
        SearchHit(h.article, h.score, h.snippet, confidence=_coverage(h.article, words))
        for h in hits
    ]
    scored.sort(key=lambda hit: (-hit.confidence, -hit.score, hit.article.title))
    return scored[:limit]


def readable_articles(*, include_agent_only: bool) -> QuerySet[Article]:
    """Published articles a reader may open: agent-only ones only for staff."""
    return _published(include_agent_only)


def article_for_reader(
    *, slug: str = "", pk: int | None = None, include_agent_only: bool
) -> Article | None:
    """A published article by slug or id, if this reader may open it."""
    articles = readable_articles(include_agent_only=include_agent_only)
    return articles.filter(pk=pk).first() if pk is not None else articles.filter(slug=slug).first()


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


def portal_home(*, include_agent_only: bool) -> dict[str, Any]:
    articles = readable_articles(include_agent_only=include_agent_only)
    categories = (
        Category.objects.filter(parent__isnull=True)
        .prefetch_related("children")
        .annotate(article_count=Count("articles", filter=Q(articles__in=articles)))
        .order_by("position", "name")
    )
    return {
        "categories": list(categories),
        "popular": list(articles.order_by("-view_count", "title")[:6]),
        "recent": list(articles.order_by("-published_at", "-id")[:6]),
    }
