"""Knowledge-base API: parse the query, call one selector, shape the output."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from knowledge import selectors
from knowledge.api import serializers as s
from tickets.api.errors import ErrorSerializer
from tickets.roles import is_staff_member


class ArticleSearchView(APIView):
    """Public: anonymous users and customers see public articles, agents also agent-only ones."""

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
        hits = selectors.article_search(
            query.validated_data["q"], include_agent_only=is_staff_member(request.user)
        )
        return Response({"results": [s.hit_data(hit) for hit in hits]})
