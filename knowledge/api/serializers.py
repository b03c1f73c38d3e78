from urllib.parse import urlencode

from django.urls import reverse
from rest_framework import serializers

from knowledge.models import Article, Category
from knowledge.selectors import SearchHit, shown_language

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
    language = serializers.CharField(
        help_text="The language of its title, summary and snippet: the reader's where the "
        "article is translated into it, else the knowledge base's."
    )


class SearchResponseSerializer(serializers.Serializer):
    search = serializers.CharField(
        help_text="Signed reference to this search, already part of each result's url."
    )
    results = SearchResultSerializer(many=True)


class SubcategorySerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField(help_text="In the reader's language where translated.")
    description = serializers.CharField(
        help_text="In the reader's language where translated; may be empty."
    )
    url = serializers.CharField(help_text="The category's page in the help center.")


class CategorySerializer(SubcategorySerializer):
    children = SubcategorySerializer(many=True, help_text="Its subcategories, in order.")


class CategoriesResponseSerializer(serializers.Serializer):
    categories = CategorySerializer(many=True, help_text="The help center's topics, in order.")


def category_data(category: Category, *, children: bool = True) -> dict[str, object]:
    data: dict[str, object] = {
        "slug": category.slug,
        "name": category.name,
        "description": category.description,
        "url": reverse("kb-category", args=[category.slug]),
    }
    if children:
        data["children"] = [category_data(c, children=False) for c in category.children.all()]
    return data


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
        "language": shown_language(article),
    }
