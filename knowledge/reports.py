"""Reads for the self-service report: what readers searched, opened, rated and solved."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Max, Q, QuerySet
from django.db.models.functions import Lower

from knowledge.models import Article, ArticleStatus, Deflection, SearchLog


@dataclass(frozen=True)
class SearchStats:
    searches: int
    without_results: int
    clicked: int

    @property
    def click_through_rate(self) -> float | None:
        return self.clicked / self.searches if self.searches else None


@dataclass(frozen=True)
class FailedSearch:
    query: str
    times: int
    best_results_count: int
    last_at: datetime


def _customer_searches(since: datetime, until: datetime) -> QuerySet[SearchLog]:
    # Agents' searches say little about what customers miss; the report leaves them out.
    return SearchLog.objects.filter(created_at__gte=since, created_at__lt=until, by_agent=False)


def search_stats(*, since: datetime, until: datetime) -> SearchStats:
    counts = _customer_searches(since, until).aggregate(
        searches=Count("id"),
        without_results=Count("id", filter=Q(results_count=0)),
        clicked=Count("id", filter=Q(clicked_article__isnull=False)),
    )
    return SearchStats(**counts)


def failed_searches(*, since: datetime, until: datetime, limit: int = 20) -> list[FailedSearch]:
    """Queries nobody opened an article from, most frequent first: the articles to write next."""
    rows = (
        _customer_searches(since, until)
        .filter(clicked_article__isnull=True)
        .annotate(normalised=Lower("query"))
        .values("normalised")
        .annotate(times=Count("id"), best=Max("results_count"), last_at=Max("created_at"))
        .order_by("-times", "-last_at")[:limit]
    )
    return [
        FailedSearch(row["normalised"], row["times"], row["best"], row["last_at"]) for row in rows
    ]


def web_form_deflections(*, since: datetime, until: datetime) -> int:
    return Deflection.objects.filter(created_at__gte=since, created_at__lt=until).count()


def articles_by_readers(*, limit: int = 10) -> list[Article]:
    """The most read published articles, with their votes (all-time counters)."""
    return list(
        Article.objects.filter(status=ArticleStatus.PUBLISHED)
        .select_related("category")
        .annotate(deflection_count=Count("deflections"))
        .order_by("-view_count", "title")[:limit]
    )


def least_helpful_articles(*, limit: int = 10) -> list[Article]:
    """Published articles readers voted down most: the articles to fix first."""
    return list(
        Article.objects.filter(status=ArticleStatus.PUBLISHED, helpful_no__gt=0)
        .select_related("category")
        .order_by("-helpful_no", "helpful_yes", "title")[:limit]
    )
