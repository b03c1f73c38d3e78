"""Writes of the knowledge base: every article save renders the body and writes a revision."""

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext

from knowledge.markdown import plain_text, render_markdown
from knowledge.models import (
    Article,
    ArticleFeedback,
    ArticleFormerSlug,
    ArticleRevision,
    ArticleStatus,
    ArticleTranslation,
    Category,
    CategoryTranslation,
    Deflection,
    SearchLog,
    SearchSource,
    Synonym,
)
from knowledge.search.analysis import Thesaurus
from knowledge.search.index import index_articles, learn, recount, terms_held
from knowledge.search.translated import terms_of

# The fields article_save() accepts; the rest are derived (body_html, published_at, counters).
ARTICLE_FIELDS = frozenset(
    {
        "title", "slug", "category", "summary", "body_markdown", "tags", "search_words",
        "status", "visibility", "author", "last_reviewed_at",
    }
)  # fmt: skip


def tags_as_saved(tags: str) -> str:
    """Comma-separated tags as an article keeps them: trimmed, each followed by ", "
    (longer than typed when they were typed without spaces: forms check this length)."""
    return ", ".join(tag.strip() for tag in tags.split(",") if tag.strip())


def search_config() -> str:
    """The PostgreSQL text-search configuration (language) used to index and query."""
    return settings.KNOWLEDGE_SEARCH_CONFIG


@transaction.atomic
def category_save(
    *,
    category: Category | None,
    name: str,
    slug: str,
    parent: Category | None = None,
    description: str = "",
    position: int = 0,
) -> Category:
    """Create or change a category; nesting deeper than one level, and the address of a
    page of the help center's own, are refused. Renamed, its articles are indexed again
    (the search finds an article by its category's name)."""
    category = category or Category()
    before = Category.objects.filter(pk=category.pk).values_list("name", flat=True).first()
    category.name, category.slug, category.parent = name, slug, parent
    category.description, category.position = description, position
    category.full_clean()
    category.save()
    if before is not None and before != name:
        index_articles(list(category.articles.select_related("category")))
    return category


def category_translation_save(
    *,
    translation: CategoryTranslation | None = None,
    category: Category,
    language: str,
    name: str,
    description: str = "",
) -> CategoryTranslation:
    """Write a category's name and description in `language` (a new translation, or
    `translation` changed). The knowledge base's own language is the category's own."""
    _refuse_untranslatable(language)
    if not name.strip():
        raise ValueError("A category's translation needs a name.")
    translation = translation or CategoryTranslation(category=category)
    translation.category = category
    translation.language = language
    translation.name = name.strip()[:120]
    translation.description = description.strip()
    translation.save()
    return translation


def translation_languages() -> list[str]:
    """The languages an article or a category may be translated into: settings.LANGUAGES
    but the knowledge base's own (settings.LANGUAGE_CODE), which their own texts are in."""
    own = str(settings.LANGUAGE_CODE).split("-")[0]
    return [code for code, _name in settings.LANGUAGES if code != own]


def _refuse_untranslatable(language: str) -> None:
    if language not in translation_languages():
        raise ValueError(
            f"{language!r} is not one of settings.LANGUAGES other than the knowledge "
            f"base's own ({settings.LANGUAGE_CODE!r})"
        )


def _write_revision(article: Article, actor: User | None) -> ArticleRevision:
    last = article.revisions.aggregate(last=Max("number"))["last"] or 0
    return ArticleRevision.objects.create(
        article=article,
        number=last + 1,
        title=article.title,
        summary=article.summary,
        body_markdown=article.body_markdown,
        author=actor,
    )


@transaction.atomic
def article_save(
    *,
    article: Article | None,
    actor: User | None,
    now: datetime | None = None,
    **fields: Any,
) -> Article:
    """Create (article None or unsaved) or change an article.

    `fields` are model fields (title, slug, category, summary, body_markdown, tags, status,
    visibility, author, last_reviewed_at). The body is rendered and sanitised here, the search
    index rewritten and a revision written, all in one transaction.
    """
    now = now or timezone.now()
    article = article or Article()
    before = Article.objects.filter(pk=article.pk).values_list("slug", flat=True).first()
    unknown = set(fields) - ARTICLE_FIELDS
    if unknown:
        raise TypeError(f"article_save() got unknown fields: {sorted(unknown)}")
    for name, value in fields.items():
        setattr(article, name, value)
    if article.pk is None and article.author_id is None and actor is not None:
        article.author = actor
    if "tags" in fields:
        article.tags = tags_as_saved(article.tags)
    article.body_html = render_markdown(article.body_markdown)
    article.body_text = plain_text(article.body_html)
    if article.status == ArticleStatus.PUBLISHED and article.published_at is None:
        article.published_at = now
    article.full_clean()
    article.save()
    _keep_former_slug(article, before)
    index_articles([article])
    _write_revision(article, actor)
    return article


def _keep_former_slug(article: Article, before: str | None) -> None:
    """The address an article leaves still leads to it; the one it takes is its own (an
    article's former address given to another article is that one's now)."""
    ArticleFormerSlug.objects.filter(slug=article.slug).delete()
    if before is not None and before != article.slug:
        ArticleFormerSlug.objects.update_or_create(slug=before, defaults={"article": article})


@transaction.atomic
def articles_delete(*, articles: Iterable[Article]) -> int:
    """Delete articles, their revisions, translations and index rows, and count the index's
    terms again (each term's articles and the number of articles weigh every search)."""
    ids = [article.pk for article in articles]
    held = terms_held(ids)
    Article.objects.filter(pk__in=ids).delete()
    recount(held)
    return len(ids)


def article_restore_revision(*, revision: ArticleRevision, actor: User | None) -> Article:
    """Bring back an earlier revision's text; the restore is itself a new revision."""
    return article_save(
        article=Article.objects.get(pk=revision.article_id),
        actor=actor,
        title=revision.title,
        summary=revision.summary,
        body_markdown=revision.body_markdown,
    )


# A reader's visits to one article count once in this long: reloading it, or coming back
# to it from the search, does not lift it among the popular articles.
VIEW_COUNTED_ONCE_IN_SECONDS = 24 * 3600


def article_record_view(*, article: Article, reader: str) -> bool:
    """Count a reading of `article` by `reader` (who reads: see knowledge.views), once a
    day per reader. Returns whether it counted."""
    digest = hashlib.sha256(reader.encode()).hexdigest()[:32]
    if not cache.add(f"kb-viewed:{article.pk}:{digest}", 1, VIEW_COUNTED_ONCE_IN_SECONDS):
        return False
    Article.objects.filter(pk=article.pk).update(view_count=F("view_count") + 1)
    return True


@transaction.atomic
def article_record_feedback(
    *,
    article: Article,
    helpful: bool,
    comment: str = "",
    voter: str = "",
    search_id: int | None = None,
    now: datetime | None = None,
) -> ArticleFeedback:
    """'Was this helpful?' — counted on the article, kept with the reason; one answer per
    `voter` (a reader: see ArticleFeedback.voter) and article, so answering again changes
    the answer and counts nothing twice. A "yes" from a reader who came from a search
    teaches the search that query's words (learn), once per search."""
    now = now or timezone.now()
    # One answer at a time per article: two answers of one reader at once count once.
    list(Article.objects.select_for_update().filter(pk=article.pk).values_list("pk"))
    earlier = (
        ArticleFeedback.objects.filter(article=article, voter=voter).first() if voter else None
    )
    if earlier is None:
        feedback = ArticleFeedback.objects.create(
            article=article, helpful=helpful, comment=comment[:2000], voter=voter
        )
        moved = {_vote_counter(helpful): 1}
    else:
        changed = earlier.helpful != helpful
        moved = {_vote_counter(helpful): 1, _vote_counter(earlier.helpful): -1} if changed else {}
        if changed or comment:  # a reason kept with the answer it was given for
            earlier.helpful, earlier.comment = helpful, comment[:2000]
            earlier.save(update_fields=["helpful", "comment"])
        feedback = earlier
    if moved:
        Article.objects.filter(pk=article.pk).update(
            **{counter: F(counter) + step for counter, step in moved.items()}
        )
    if helpful and search_id is not None:
        # Only the search the reader opened this article from (the signed token says which).
        searched = SearchLog.objects.filter(pk=search_id, clicked_article=article).first()
        if searched is not None:
            _teach(searched=searched, article=article, now=now)
    return feedback


def _vote_counter(helpful: bool) -> str:
    return "helpful_yes" if helpful else "helpful_no"


def _teach(*, searched: SearchLog, article: Article, now: datetime) -> None:
    """The search's words draw later searches to `article` (learn), the first time this
    search is said to have found the answer only: sent again, it teaches nothing more."""
    if SearchLog.objects.filter(pk=searched.pk, taught_at__isnull=True).update(taught_at=now):
        learn(query=searched.query, article=article, now=now)


def search_record(
    *,
    query: str,
    source: SearchSource,
    results_count: int,
    by_agent: bool = False,
    now: datetime | None = None,
) -> SearchLog:
    return SearchLog.objects.create(
        query=query[:200],
        source=source,
        by_agent=by_agent,
        results_count=results_count,
        created_at=now or timezone.now(),
    )


def search_revise(
    *, search_id: int | None, query: str, results_count: int, now: datetime | None = None
) -> SearchLog:
    """The contact form's running search: refine the form's row while nothing was clicked.

    A customer types a few words at a time; one row per form keeps the log to what they
    finally asked, not every prefix of it.
    """
    if search_id is not None:
        updated = SearchLog.objects.filter(
            pk=search_id, source=SearchSource.WEB_FORM, clicked_article__isnull=True
        ).update(query=query[:200], results_count=results_count)
        if updated:
            return SearchLog.objects.get(pk=search_id)
    return search_record(
        query=query, source=SearchSource.WEB_FORM, results_count=results_count, now=now
    )


def search_record_click(
    *, search_id: int | None, article: Article, now: datetime | None = None
) -> None:
    """Credit the first article opened from a search; later clicks change nothing."""
    if search_id is None:
        return
    SearchLog.objects.filter(pk=search_id, clicked_article__isnull=True).update(
        clicked_article=article, clicked_at=now or timezone.now()
    )


@transaction.atomic
def deflection_record(
    *, article: Article, query: str, search_id: int | None, now: datetime | None = None
) -> Deflection:
    """The customer said a suggested article solved it and sent no request: one deflection
    per contact-form search (sent again, the first is kept), and the search learns their
    words for that article (learn), once. Without a search nothing is learned: words no
    search logged could be anyone's, sent to draw any search anywhere."""
    now = now or timezone.now()
    search_record_click(search_id=search_id, article=article, now=now)
    searched = SearchLog.objects.filter(pk=search_id).first() if search_id is not None else None
    if searched is None:
        return Deflection.objects.create(article=article, query=query[:200], created_at=now)
    _teach(searched=searched, article=article, now=now)
    deflection, _created = Deflection.objects.get_or_create(
        search=searched, defaults={"article": article, "query": query[:200], "created_at": now}
    )
    return deflection


def article_draft(
    *, title: str, problem: str, solution: str, category: Category, actor: User
) -> Article:
    """A draft article from a solved case, for an agent to edit and publish."""
    body = "\n\n".join(
        [
            "## The problem",
            problem or "_Describe the problem._",
            "## The solution",
            solution or "_Describe the solution._",
        ]
    )
    return article_save(
        article=None,
        actor=actor,
        title=title[:200],
        slug=_free_slug(title),
        category=category,
        summary="",
        body_markdown=body,
        status=ArticleStatus.DRAFT,
    )


def _free_slug(title: str) -> str:
    base = slugify(title)[:200] or "article"
    taken = set(Article.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    # Not an address another article had: links sent with it lead there.
    taken |= set(
        ArticleFormerSlug.objects.filter(slug__startswith=base).values_list("slug", flat=True)
    )
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def article_add_search_words(*, article: Article, words: str, actor: User | None) -> Article:
    """Readers' words for an article (a failed search, from the self-service report)."""
    known = [w.strip() for w in article.search_words.split(",") if w.strip()]
    added = words.strip()[:200]
    if not added or added.lower() in (w.lower() for w in known):
        return article
    return article_save(article=article, actor=actor, search_words=", ".join([*known, added]))


def synonym_words_check(word_list: list[str]) -> None:
    """Refuse a synonym group the search would pass over: fewer than two words or phrases
    that it reads differently ("WiFi, wifi"; "password, passwords", stemmed alike; "the",
    a word too common to search for)."""
    if not Thesaurus.build([word_list]).members:
        raise ValidationError(
            gettext(
                "Give at least two different words or phrases, separated by commas: the "
                "search reads them as one (or finds no word to search for in them)."
            )
        )


@transaction.atomic
def synonym_add(*, words: str, means: str) -> Synonym:
    """`words` mean the same as `means`: joined to the group that has `means`, else a new
    group of the two. Saving it re-indexes the articles (knowledge.search.thesaurus).
    ValidationError when the search would read the two as one (synonym_words_check)."""
    words, means = words.strip()[:200], means.strip()[:200]
    if not words or not means:
        raise ValueError("Say which words mean the same as which.")
    synonym_words_check([means, words])
    for group in Synonym.objects.select_for_update():
        if means.lower() in (w.lower() for w in group.word_list):
            if words.lower() not in (w.lower() for w in group.word_list):
                group.words = ", ".join([*group.word_list, words])
                group.save()
            return group
    return Synonym.objects.create(words=f"{means}, {words}")


def article_translation_save(
    *,
    translation: ArticleTranslation | None = None,
    article: Article,
    language: str,
    title: str,
    summary: str = "",
    body_markdown: str = "",
) -> ArticleTranslation:
    """Write an article's translation into `language` (a new one, or `translation`
    changed): its body rendered and its search terms kept with it. The knowledge base's
    own language is the article's own."""
    _refuse_untranslatable(language)
    translation = translation or ArticleTranslation(article=article)
    translation.article = article
    translation.language = language
    translation.title = title.strip()[:200]
    translation.summary = summary.strip()[:500]
    translation.body_markdown = body_markdown
    translation.body_html = render_markdown(body_markdown)
    translation.body_text = plain_text(translation.body_html)
    translation.search_terms = terms_of(
        title=translation.title,
        summary=translation.summary,
        body_text=translation.body_text,
        language=language,
    )
    translation.save()
    return translation
