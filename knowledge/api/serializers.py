from urllib.parse import urlencode

from django.urls import reverse
from rest_framework import serializers

from knowledge.models import Article
from knowledge.selectors import SearchHit

MAX_QUERY_LENGTH = 200


class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(
        max_length=MAX_QUERY_LENGTH, help_text="What to look for, as a person would type it."
    )


class SearchResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    slug = serializers.CharField()
    summary = serializers.CharField()
    snippet = serializers.CharField(help_text="Safe HTML: text with <mark> around matches.")
    score = serializers.FloatField(help_text="Relevance; only the order matters.")
    confidence = serializers.FloatField(
        help_text="0-1: the share of the query the article answers; tier 0 offers an article "
        "to customers unasked from HELPDESK_TIER0_CONFIDENCE up."
    )
    url = serializers.CharField(
        help_text="The article's page in the portal; opening it credits this search."
    )


class SearchResponseSerializer(serializers.Serializer):
    search = serializers.CharField(
        help_text="Signed reference to this search, already part of each result's url."
    )
    results = SearchResultSerializer(many=True)


def article_url(article: Article) -> str:
    return reverse("kb-article", args=[article.category.slug, article.slug])


def hit_data(hit: SearchHit, *, search: str) -> dict[str, object]:
    article = hit.article
    return {
        "id": article.pk,
        "title": article.title,
        "slug": article.slug,
        "summary": article.summary,
        "snippet": hit.snippet,
        "score": round(hit.score, 4),
        "confidence": hit.confidence,
        "url": f"{article_url(article)}?{urlencode({'search': search})}",
    }
