"""The search index: the terms of each published article, how strongly it holds each, and
in how many articles each term is (its document frequency).

Plain tables, written here for every article save, so that PostgreSQL and the embedded
SQLite search the same index with the same ranking (knowledge.search.engine).
"""

import itertools
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import Count, F, OuterRef, Subquery
from django.db.models.functions import Coalesce, Least

from knowledge.models import (
    Article,
    ArticleStatus,
    ArticleTerm,
    LearnedTerm,
    SearchTerm,
    Visibility,
)
from knowledge.search import thesaurus
from knowledge.search.analysis import Thesaurus, language, words

# How much a word counts by where it stands: a title word says most about the article.
FIELD_WEIGHTS = {"title": 4.0, "tags": 3.0, "summary": 2.0, "category": 1.0, "body": 1.0}
# Adjacent words in these fields are also indexed as pairs, for phrase matches.
PAIR_FIELDS = frozenset({"title", "tags", "summary"})
# BM25's saturation (a word's tenth use adds little) and length normalisation: a word in a
# body of BODY_WORDS words counts fully, in a longer body less.
K1 = 1.2
B = 0.75
BODY_WORDS = 250
MAX_TERM_LENGTH = 60
# The term whose count is the number of indexed articles (N of the idf).
ALL_ARTICLES = ""
# Each "this solved my problem" adds this much to the query's words on the article, up to
# LEARNED_MAX (about a title word's weight: use draws an article up, it does not bury others).
LEARNED_STEP = 0.5
LEARNED_MAX = 2.0


def _fields(article: Article) -> list[tuple[str, str]]:
    category = article.category.name if article.category_id else ""
    return [
        ("title", article.title),
        ("tags", f"{article.tags} , {article.search_words}".replace(",", " , ")),
        ("summary", article.summary),
        ("category", category),
        ("body", article.body_text),
    ]


def article_terms(article: Article, groups: Thesaurus, lang: str) -> dict[str, float]:
    """The article's terms and their weights (0..K1+1)."""
    counts: dict[str, float] = defaultdict(float)
    for field, text in _fields(article):
        terms = [w.term for w in words(text, lang) if len(w.term) <= MAX_TERM_LENGTH]
        norm = (1 - B) + B * len(terms) / BODY_WORDS if field == "body" else 1.0
        weight = FIELD_WEIGHTS[field] / max(norm, 0.5)
        for index, term in enumerate(terms):
            counts[term] += weight
            for group, _length in groups.groups_at(terms, index):
                counts[group] += weight
        if field in PAIR_FIELDS:
            for first, second in itertools.pairwise(terms):
                counts[f"{first} {second}"] += weight
    return {term: round(tf * (K1 + 1) / (tf + K1), 4) for term, tf in counts.items()}


def _term_ids(texts: Iterable[str]) -> dict[str, int]:
    texts = set(texts)
    known = dict(SearchTerm.objects.filter(text__in=texts).values_list("text", "id"))
    missing = texts - known.keys()
    if missing:
        SearchTerm.objects.bulk_create(
            [SearchTerm(text=text) for text in missing], ignore_conflicts=True, batch_size=1000
        )
        known.update(SearchTerm.objects.filter(text__in=missing).values_list("text", "id"))
    return known


def terms_held(article_ids: list[int]) -> set[int]:
    """The terms these articles are indexed under (to count again once they are gone)."""
    return set(
        ArticleTerm.objects.filter(article_id__in=article_ids).values_list("term_id", flat=True)
    )


def recount(term_ids: set[int]) -> None:
    """Count again the articles holding these terms (and all articles), under row locks so
    that two saves at once cannot both count without the other's rows."""
    total_id = _term_ids([ALL_ARTICLES])[ALL_ARTICLES]
    ids = sorted(term_ids | {total_id})
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        list(SearchTerm.objects.filter(pk__in=chunk).order_by("pk").select_for_update())
        holding = (
            ArticleTerm.objects.filter(term_id=OuterRef("pk"))
            .order_by()
            .values("term_id")
            .annotate(n=Count("article_id"))
            .values("n")
        )
        SearchTerm.objects.filter(pk__in=chunk).exclude(pk=total_id).update(
            articles=Coalesce(Subquery(holding), 0)
        )
    published = Article.objects.filter(status=ArticleStatus.PUBLISHED).count()
    SearchTerm.objects.filter(pk=total_id).update(articles=published)


@transaction.atomic
def index_articles(articles: list[Article]) -> None:
    """Write the index rows of these articles anew: a published article's terms, none for
    another (a draft, an archived article)."""
    if not articles:
        return
    groups, lang = thesaurus.current(), language()
    wanted = {
        article.pk: article_terms(article, groups, lang)
        for article in articles
        if article.status == ArticleStatus.PUBLISHED
    }
    ids = [article.pk for article in articles]
    before = set(ArticleTerm.objects.filter(article_id__in=ids).values_list("term_id", flat=True))
    ArticleTerm.objects.filter(article_id__in=ids).delete()
    term_ids = _term_ids({term for terms in wanted.values() for term in terms})
    public = {article.pk: article.visibility == Visibility.PUBLIC for article in articles}
    ArticleTerm.objects.bulk_create(
        [
            ArticleTerm(
                term_id=term_ids[term],
                article_id=article_id,
                weight=weight,
                public=public[article_id],
            )
            for article_id, terms in wanted.items()
            for term, weight in terms.items()
        ],
        batch_size=2000,
    )
    recount(before | {term_ids[term] for terms in wanted.values() for term in terms})


def reindex_all(*, batch: int = 500) -> int:
    """Index every article again (after the synonyms changed); returns how many."""
    done = 0
    ids = list(Article.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), batch):
        chunk = list(
            Article.objects.filter(pk__in=ids[start : start + batch])
            .select_related("category")
            .defer("body_html", "body_markdown")
        )
        index_articles(chunk)
        done += len(chunk)
    return done


@transaction.atomic
def learn(*, query: str, article: Article, now: datetime, share: float = 1.0) -> None:
    """A reader's query led to `article` and it solved their problem: the query's words
    draw later searches to it a little more."""
    terms = {word.term for word in words(query) if len(word.term) <= MAX_TERM_LENGTH}
    if not terms:
        return
    step = LEARNED_STEP * share
    term_ids = _term_ids(terms)
    existing = set(
        LearnedTerm.objects.filter(article=article, term_id__in=term_ids.values()).values_list(
            "term_id", flat=True
        )
    )
    LearnedTerm.objects.filter(article=article, term_id__in=existing).update(
        strength=Least(F("strength") + step, LEARNED_MAX), updated_at=now
    )
    LearnedTerm.objects.bulk_create(
        [
            LearnedTerm(term_id=term_id, article=article, strength=step, updated_at=now)
            for term_id in set(term_ids.values()) - existing
        ],
        ignore_conflicts=True,
    )
