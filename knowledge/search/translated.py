"""Search in the translations of articles (knowledge.models.ArticleTranslation).

The knowledge base's own language keeps its engine (knowledge.search.engine) and its
index untouched: translations are scored apart, with the same analysis (Snowball
stemming in the translation's language), the same saturation of a word's weight and the
same idf and confidence, over the terms each translation keeps with it (computed when it
is saved). A search in a reader's language asks here first and the engine after
(knowledge.selectors.article_answers).

A translation's terms are read per search: fine for the translations of one language of
a help center (hundreds to a few thousand); not a full-text index.
"""

import math
from collections import defaultdict
from collections.abc import Iterable

from knowledge.models import Article, ArticleStatus, ArticleTranslation, Visibility
from knowledge.search.analysis import words
from knowledge.search.engine import UNKNOWN_WORD_SHARE, Hit, confidence
from knowledge.search.index import K1
from knowledge.search.snippets import snippet

# Snowball's names of the desk's languages (settings.LANGUAGES).
SNOWBALL = {"en": "english", "de": "german", "es": "spanish", "fr": "french"}
FIELD_WEIGHTS = {"title": 4.0, "summary": 2.0, "body": 1.0}
# The everyday words of a language say nothing about what a question is about.
_GERMAN = """
    der die das den dem des ein eine einen einem einer eines und oder aber ist sind war
    waren sein bin bist wird werden wurde wurden ich du er sie es wir ihr mich mir mein
    meine meinen meinem meiner uns unser unsere ihnen ihre ihren dich dir nicht kein
    keine keinen mit für von zu zum zur auf aus bei nach über unter vor wie was warum
    wann wo wer kann können konnte muss müssen soll sollte hat habe haben hatte hallo
    bitte danke guten tag noch schon auch nur sehr dass wenn dann als im am an in so ja
    nein hier da dort mal leider gerne etwas man sich
"""

_STOP_WORDS = {
    "de": frozenset(_GERMAN.split()),
}


def terms_of(*, title: str, summary: str, body_text: str, language: str) -> dict[str, float]:
    """A translation's terms and their weights (0..K1+1), like the engine's index."""
    lang = SNOWBALL.get(language, "simple")
    stop = _STOP_WORDS.get(language, frozenset())
    counts: dict[str, float] = defaultdict(float)
    for field, text in (("title", title), ("summary", summary), ("body", body_text)):
        terms = [w.term for w in words(text, lang) if w.term not in stop]
        for term in terms:
            counts[term] += FIELD_WEIGHTS[field]
    return {term: round(tf * (K1 + 1) / (tf + K1), 4) for term, tf in counts.items()}


def _query_terms(text: str, language: str) -> list[str]:
    stop = _STOP_WORDS.get(language, frozenset())
    seen: dict[str, None] = {}
    for word in words(text, SNOWBALL.get(language, "simple")):
        if word.term not in stop:
            seen.setdefault(word.term)
    return list(seen)


def _idf(holding: int, total: int) -> float:
    return math.log(1 + (total - holding + 0.5) / (holding + 0.5))


def find_translated(
    text: str, *, language: str, include_agent_only: bool, limit: int = 10
) -> list[Hit]:
    """The published articles whose translation into `language` answers `text`, best
    first; each hit's article shows the translation (title, summary)."""
    query = _query_terms(text, language)
    if not query:
        return []
    translations = ArticleTranslation.objects.filter(
        language=language, article__status=ArticleStatus.PUBLISHED
    )
    if not include_agent_only:
        translations = translations.filter(article__visibility=Visibility.PUBLIC)
    rows = list(translations.values_list("article_id", "search_terms"))
    total = len(rows)
    if not total:
        return []
    holding = {term: sum(1 for _a, terms in rows if term in terms) for term in query}
    idf = {term: _idf(holding[term], total) for term in query}
    # A word no translation holds may be the very thing none answers: it counts at a share
    # of the rarest word's weight, as in the engine.
    information = sum(
        idf[term] if holding[term] else idf[term] * UNKNOWN_WORD_SHARE for term in query
    )
    scored = []
    for article_id, terms in rows:
        matched = sum(idf[t] for t in query if t in terms)
        if matched:
            score = sum(idf[t] * terms[t] for t in query if t in terms)
            scored.append((article_id, score, matched))
    if not scored:
        return []
    scored.sort(key=lambda row: -row[1])
    scored = scored[:limit]
    by_id = in_language(
        Article.objects.filter(pk__in=[row[0] for row in scored])
        .select_related("category")
        .defer("body_html", "body_markdown"),
        language,
    )
    rare_word = _idf(1, total)
    hits = []
    for article_id, score, matched in scored:
        article = by_id.get(article_id)
        if article is None:
            continue
        sure = round(confidence(matched, information, rare_word), 4)
        coverage = round(min(1.0, matched / information), 4) if information else 0.0
        hits.append(
            Hit(article, score, sure, coverage, translated_snippet(article, text, language))
        )
    hits.sort(key=lambda hit: (-hit.score, hit.article.title))
    return hits


def translated_snippet(article: Article, text: str, language: str) -> str:
    """The snippet of an article shown in `language`, its words marked as stemmed there."""
    marked = set(_query_terms(text, language))
    return snippet(article, marked, lang=SNOWBALL.get(language, "simple"))


def in_language(articles: Iterable[Article], language: str) -> dict[int, Article]:
    """The articles by id, each showing its translation into `language` when it has one
    (title, summary, body: read, never saved so)."""
    by_id: dict[int, Article] = {article.pk: article for article in articles}
    show_translations(list(by_id.values()), language)
    return by_id


def show_translations(articles: list[Article], language: str) -> list[Article]:
    """Put each article's translation into `language` in its place, for reading (one
    query). Marks the article with `shown_language`; the articles are never saved so."""
    if not articles:
        return articles
    found = ArticleTranslation.objects.filter(
        language=language, article_id__in=[a.pk for a in articles]
    ).only("article_id", "title", "summary", "body_html", "body_text")
    by_article = {t.article_id: t for t in found}
    for article in articles:
        translation = by_article.get(article.pk)
        if translation is None:
            continue
        article.title = translation.title
        article.summary = translation.summary or article.summary
        article.body_html = translation.body_html
        article.body_text = translation.body_text
        article.shown_language = language  # type: ignore[attr-defined]
    return articles
