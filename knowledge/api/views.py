"""Knowledge-base API: parse the query, call one selector, shape the output."""

from django.utils.translation import get_language
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from knowledge import selectors, services
from knowledge.api import serializers as s
from knowledge.models import SearchSource
from knowledge.tracking import search_token
from tickets.api.errors import ErrorSerializer
from tickets.roles import is_staff_member


class ArticleSearchView(APIView):
    """Public: anonymous users and customers see public articles, agents also agent-only ones.
    Results come in the reader's language (a signed-in customer's own, else Accept-Language)
    where translated, as in the help center."""

    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[s.SearchQuerySerializer],
        responses={
            200: s.SearchResponseSerializer,
            400: OpenApiResponse(ErrorSerializer, description="`q` is missing or too long."),
            401: OpenApiResponse(
                ErrorSerializer,
                description="A token or session was sent but is not valid "
                "(send none to search as an anonymous visitor).",
            ),
        },
        summary="Search the knowledge base",
    )
    def get(self, request: Request) -> Response:
        query = s.SearchQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        text, staff = query.validated_data["q"], is_staff_member(request.user)
        hits = selectors.article_answers(text, include_agent_only=staff, language=get_language())
        logged = services.search_record(
            query=text, source=SearchSource.API, results_count=len(hits), by_agent=staff
        )
        token = search_token(logged.pk)
        return Response(
            {"search": token, "results": [s.hit_data(hit, search=token) for hit in hits]}
        )


class CategoryListView(APIView):
    """Public: the help center's categories holding an article the reader may read (for
    agents, agent-only ones count), named in the reader's language (a signed-in customer's
    own, else Accept-Language) where translated."""

    permission_classes = [AllowAny]

    @extend_schema(
        responses={
            200: s.CategoriesResponseSerializer,
            401: OpenApiResponse(
                ErrorSerializer,
                description="A token or session was sent but is not valid "
                "(send none to read as an anonymous visitor).",
            ),
        },
        summary="List the knowledge base's categories",
    )
    def get(self, request: Request) -> Response:
        topics = selectors.help_center_categories(
            include_agent_only=is_staff_member(request.user), language=get_language()
        )
        return Response({"categories": [s.category_data(topic) for topic in topics]})
