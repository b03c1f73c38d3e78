"""The one retrieval engine behind every door that finds articles for what a person wrote:
the help-center search and its API, the contact form's suggestions, tier 0's answers by
email and SMS, the chat's answers while waiting, and the agents' suggestions.

A query is read as concepts, one per meaningful word: the word's own term, its synonym
group's term and, for a word no article holds, the known words one typo away. An article
scores the sum over concepts of its best matching term's weight (knowledge.search.index)
times the term's rarity (idf), plus pairs of adjacent words (phrases). Its confidence is the
share of the query's information it holds: the idf-weighted concepts it matches, words
nobody wrote about counting against it. Doors show what reaches their confidence.

Ranking runs in two phases so that common words ("windows", "error") do not make every
query read most of the index: candidates are the articles holding one of the query's rarer
terms, and only the best of them by those terms (the finalists) are scored with all of them.
The final scores are summed here, not in SQL, so both databases rank identically.
"""

import itertools
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Q
from django.db.models.functions import Length

from knowledge.models import Article, ArticleStatus, SearchTerm, Visibility
from knowledge.search import thesaurus
from knowledge.search.analysis import (
    EVERYDAY_SHARE,
    Thesaurus,
    is_a_word,
    language,
    telling,
    words,
)
from knowledge.search.index import ALL_ARTICLES, K1, MAX_TERM_LENGTH
from knowledge.search.snippets import snippet

# A long text (an email) is read for this many meaningful words: its start says what it is
# about; signatures and quoted history come later.
MAX_QUERY_WORDS = 40
# What a match through a synonym, or through a typo, is worth beside the word itself.
SYNONYM_FACTOR = 0.9
TYPO_FACTOR = 0.7
REAL_WORD_TYPO_FACTOR = 0.35
# A pair of adjacent query words found together in a title, summary or tags adds this
# share of its rarity (and counts nowhere in the confidence).
PAIR_FACTOR = 0.5
# A word no article holds (nor any word one typo from it) weighs this share of the rarest
# word's weight in the confidence: an unknown word may be the customer's own filler, or
# the very thing no article answers.
UNKNOWN_WORD_SHARE = 0.7
# How much matched information makes strong evidence, in rare words (a word only one article
# holds): the confidence is the coverage scaled by (1 - exp(-matched / EVIDENCE))², so a
# query that is all one common word is not a confident match. Fitted with
# HELPDESK_TIER0_CONFIDENCE on the tuning half of tests/kb_eval and its calibration set
# (docs/benchmarks.md).
EVIDENCE = 1.5
# Candidates come from the query's rarer terms, rarest first, until about this many
# article rows are read; at least one concept's terms are always read.
CANDIDATE_ROWS = 3000
# A concept counts fully in the confidence once its best match reaches this share of the
# strongest possible (a word used once in a title or twice in a body), and partly below;
# a match through a synonym or a typo counts with its factor.
FULL_MATCH_SHARE = 0.7
# Candidates, by their score on the rarer terms, that are scored on every term: reading an
# article's terms costs about a hundred index entries.
FINALISTS = 200
_EXCLUDED = re.compile(r"(?:^|\s)-(\w+)")


@dataclass
class Concept:
    """A word of the query and the terms that count as it, each with its factor."""

    word: str  # its term
    terms: dict[str, float] = field(default_factory=dict)
    counts: bool = True  # False for pairs of words
    spelled: str = ""  # as the person wrote it (typos are looked up by both)
    telling: float = 1.0  # its weight in the confidence: everyday words say less (analysis)


@dataclass(frozen=True)
class Hit:
    article: Article
    score: float
    confidence: float  # 0..1, how sure we are that the article answers (calibrated)
    coverage: float  # 0..1, the share of the query's information the article holds
    snippet: str  # safe HTML: plain text with <mark> around the query's words


@dataclass
class _Query:
    concepts: list[Concept]
    excluded: list[str]
    marked: set[str]  # the terms to mark in snippets


def _osa_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (a swap of two letters is one typo), or limit + 1."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def _typo_limit(spelled: str) -> int:
    """Typos forgiven in a word of this spelling: none in a short word."""
    return 0 if len(spelled) < 4 else 1 if len(spelled) < 9 else 2


def _parse(text: str, groups: Thesaurus) -> _Query:
    excluded = [w.term for w in words(" ".join(_EXCLUDED.findall(text)))]
    text = _EXCLUDED.sub(" ", text)
    found = [w for w in words(text) if len(w.term) <= MAX_TERM_LENGTH]
    terms = [w.term for w in found][:MAX_QUERY_WORDS]
    lang = language()
    concepts = {
        term: Concept(term, {term: 1.0}, spelled=spelled, telling=telling(spelled, lang))
        for term, word in reversed(list(zip(terms, found, strict=False)))
        if (spelled := text[word.start : word.end].lower())
    }
    concepts = dict(reversed(concepts.items()))  # in order of first use
    for index in range(len(terms)):
        for group, length in groups.groups_at(terms, index):
            for member in terms[index : index + length]:
                concepts[member].terms.setdefault(group, SYNONYM_FACTOR)
    pairs = {
        f"{a} {b}": Concept(f"{a} {b}", {f"{a} {b}": PAIR_FACTOR}, counts=False)
        for a, b in itertools.pairwise(terms)
        if a != b
    }
    marked = set(concepts)
    return _Query([*concepts.values(), *pairs.values()], excluded, marked)


def _idf(holding: int, total: int) -> float:
    return math.log(1 + (total - holding + 0.5) / (holding + 0.5))


def _vocabulary(query: _Query) -> tuple[dict[str, tuple[int, int]], int]:
    """The query's known terms (id, articles holding it) and the number of articles."""
    wanted = {term for concept in query.concepts for term in concept.terms}
    wanted |= set(query.excluded) | {ALL_ARTICLES}
    rows = SearchTerm.objects.filter(text__in=wanted).values_list("text", "id", "articles")
    known = {text: (pk, articles) for text, pk, articles in rows}
    total = known.pop(ALL_ARTICLES, (0, 0))[1]
    return known, total


def _add_typo_matches(query: _Query, known: dict[str, tuple[int, int]]) -> None:
    """Words no article holds, and that are not words of the language themselves, also look
    for the known words one or two typos away."""
    lang = language()
    unknown = [
        c for c in query.concepts if c.counts and _typo_limit(c.spelled) and c.word not in known
    ]
    if not unknown:
        return
    near_words = Q()
    for concept in unknown:
        low, high = sorted([len(concept.word), len(concept.spelled)])
        near_words |= Q(text__startswith=concept.word[:1], size__range=(low - 2, high + 2))
    candidates = list(
        SearchTerm.objects.annotate(size=Length("text"))
        .filter(near_words, articles__gt=0)
        .exclude(text__contains=" ")
        .values_list("text", "id", "articles")
    )
    for concept in unknown:
        limit = _typo_limit(concept.spelled)
        near = [
            (distance, -articles, text, pk, articles)
            for text, pk, articles in candidates
            if (
                distance := min(
                    _osa_distance(concept.word, text, limit),
                    _osa_distance(concept.spelled, text, limit),
                    # Stemming drops a final e ("change" is "chang"): "chnage" is one typo.
                    _osa_distance(concept.spelled, text + "e", limit),
                )
            )
            <= limit
        ]
        factor = REAL_WORD_TYPO_FACTOR if is_a_word(concept.spelled, lang) else TYPO_FACTOR
        for _distance, _order, text, pk, articles in sorted(near)[:2]:
            concept.terms[text] = factor
            known[text] = (pk, articles)
            query.marked.add(text)


@dataclass(frozen=True)
class _Use:
    """One use of a term in the query: by which concept, at what weight (factor times idf)."""

    concept: int
    boost: float
    factor: float


def _uses(query: _Query, known: dict[str, tuple[int, int]], total: int) -> dict[int, list[_Use]]:
    """Each known term's id and its uses (two words of one synonym group share its term)."""
    uses: dict[int, list[_Use]] = {}
    for number, concept in enumerate(query.concepts):
        for term, factor in concept.terms.items():
            if term in known:
                pk, holding = known[term]
                uses.setdefault(pk, []).append(_Use(number, factor * _idf(holding, total), factor))
    return uses


def _candidate_terms(query: _Query, known: dict[str, tuple[int, int]]) -> list[int]:
    """The query's rarer word terms, rarest first, up to about CANDIDATE_ROWS articles."""
    rarity = sorted(
        {known[t][::-1] for c in query.concepts if c.counts for t in c.terms if t in known}
    )
    chosen: list[int] = []
    read = 0
    for holding, pk in rarity:
        if chosen and read + holding > CANDIDATE_ROWS:
            break
        chosen.append(pk)
        read += holding
    return chosen


# Learned terms are kept for any article; only those the reader may be shown are candidates
# (an article in the index is published; `public` says it is for customers too), so that
# an agents-only article does not take a customer's place among the first results.
_CANDIDATES_SQL = """
SELECT article_id, term_id, weight FROM knowledge_articleterm
WHERE term_id IN ({first}) {public}
UNION ALL
SELECT learned.article_id, learned.term_id, learned.strength FROM knowledge_learnedterm learned
WHERE learned.term_id IN ({every}) AND EXISTS (
    SELECT 1 FROM knowledge_articleterm entry
    WHERE entry.article_id = learned.article_id {entry_public}
)
"""
_FINALISTS_SQL = """
SELECT article_id, term_id, weight FROM knowledge_articleterm
WHERE article_id IN ({finalists}) AND term_id IN ({terms}) {public}
"""


def _in(values: list[int]) -> str:
    return ", ".join(["%s"] * len(values))


def _postings(sql: str, params: list[int]) -> list[tuple[int, int, float]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(article, term, float(weight)) for article, term, weight in cursor.fetchall()]


class _Scores:
    """Per article and concept, the best match's score and confidence credit."""

    def __init__(self, uses: dict[int, list[_Use]]):
        self.uses = uses
        self.full = (K1 + 1) * FULL_MATCH_SHARE
        self.best: dict[int, dict[int, tuple[float, float]]] = {}

    def add(self, postings: list[tuple[int, int, float]]) -> None:
        for article, term, weight in postings:
            concepts = self.best.setdefault(article, {})
            for use in self.uses[term]:
                score = weight * use.boost
                credit = use.factor * min(1.0, weight / self.full)
                old_score, old_credit = concepts.get(use.concept, (0.0, 0.0))
                concepts[use.concept] = (max(score, old_score), max(credit, old_credit))

    def ranked(self, articles: Iterable[int]) -> list[tuple[int, float]]:
        """The articles with their scores, best first."""
        totals = [(a, sum(score for score, _credit in self.best[a].values())) for a in articles]
        return sorted(totals, key=lambda pair: (-pair[1], pair[0]))

    def matched(self, article: int, weights: dict[int, float]) -> float:
        return sum(weights[c] * credit for c, (_score, credit) in self.best[article].items())


def _score(
    query: _Query, known: dict[str, tuple[int, int]], total: int, include_agent_only: bool
) -> list[tuple[int, float, float]]:
    """(article id, score, matched information) of the best candidates, best first.

    Phase one reads the postings of the rarer terms (and every learned term): the candidates
    and their partial scores. Phase two reads the other terms for the FINALISTS with the
    best partial scores only, through the (article, term) index.
    """
    uses = _uses(query, known, total)
    weights = {  # a pair adds to the score and counts nowhere in the confidence
        number: c.telling
        * max((_idf(known[t][1], total) for t in c.terms if t in known), default=0.0)
        if c.counts
        else 0.0
        for number, c in enumerate(query.concepts)
    }
    first = _candidate_terms(query, known)
    if not first:
        return []
    public = "" if include_agent_only else "AND public"
    every = list(uses)
    excluded = [known[t][0] for t in query.excluded if t in known]
    scores = _Scores({**uses, **{pk: [] for pk in excluded}})
    scores.add(
        _postings(
            _CANDIDATES_SQL.format(
                first=_in(first),
                public=public,
                every=_in(every),
                entry_public="" if include_agent_only else "AND entry.public",
            ),
            first + every,
        )
    )
    finalists = [a for a, _score in scores.ranked(scores.best)[:FINALISTS]]
    rest = [pk for pk in every if pk not in set(first)]
    if finalists and (rest or excluded):
        later = _postings(
            _FINALISTS_SQL.format(
                finalists=_in(finalists), terms=_in(rest + excluded), public=public
            ),
            finalists + rest + excluded,
        )
        scores.add(later)
        unwanted = {article for article, term, _weight in later if term in set(excluded)}
        finalists = [a for a in finalists if a not in unwanted]
    return [(a, score, scores.matched(a, weights)) for a, score in scores.ranked(finalists)]


def _query_weight(query: _Query, known: dict[str, tuple[int, int]], total: int) -> float:
    """The query's information: its concepts' rarity, unknown words at a share of the rarest."""
    rarest = _idf(0, max(total, 1))
    weight = 0.0
    for concept in query.concepts:
        if not concept.counts:
            continue
        idfs = [_idf(known[t][1], total) for t in concept.terms if t in known]
        if idfs:
            weight += concept.telling * max(idfs)
        elif concept.word.isdigit():  # an order or invoice number, not what it is about
            weight += EVERYDAY_SHARE * rarest * UNKNOWN_WORD_SHARE
        else:  # it may be the very thing no article answers
            weight += rarest * UNKNOWN_WORD_SHARE
    return weight


def confidence(matched: float, information: float, rare_word: float) -> float:
    """How sure we are that an article answers: from the share of the query's information
    it holds (coverage) and how much information that is (a match on one common word is
    weak evidence even when it is all the query says)."""
    if information <= 0 or matched <= 0:
        return 0.0
    coverage = min(1.0, matched / information)
    return coverage * (1 - math.exp(-matched / rare_word / EVIDENCE)) ** 2


def find(text: str, *, include_agent_only: bool, limit: int = 10) -> list[Hit]:
    """The published articles that answer `text`, best first, each with its confidence."""
    query = _parse(text, thesaurus.current())
    if not any(c.counts for c in query.concepts):
        return []
    known, total = _vocabulary(query)
    _add_typo_matches(query, known)
    scored = _score(query, known, total, include_agent_only)
    if not scored:
        return []
    information = _query_weight(query, known, total)
    # The first `limit`, and any tied with the last of them (ties go by title).
    last = scored[min(limit, len(scored)) - 1][1]
    scored = [row for row in scored if row[1] >= last]
    articles = Article.objects.filter(
        pk__in=[row[0] for row in scored], status=ArticleStatus.PUBLISHED
    )
    if not include_agent_only:
        articles = articles.filter(visibility=Visibility.PUBLIC)
    by_id = {
        a.pk: a for a in articles.select_related("category").defer("body_html", "body_markdown")
    }
    hits: list[tuple[Article, float, float, float]] = []
    for pk, score, matched in scored:
        article = by_id.get(pk)
        if article is None:
            continue
        sure = confidence(matched, information, _idf(1, max(total, 1)))
        coverage = min(1.0, matched / information) if information else 0.0
        hits.append((article, score, round(sure, 4), round(coverage, 4)))
    hits.sort(key=lambda hit: (-hit[1], hit[0].title))
    return [
        Hit(article, score, sure, coverage, snippet(article, query.marked))
        for article, score, sure, coverage in hits[:limit]
    ]


__all__ = ["Hit", "find", "language"]
