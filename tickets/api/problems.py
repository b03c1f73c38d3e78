"""API v1 problems and known issues: parse input, call one service or selector, shape the
output. Staff only, as the ticket endpoints, except the list of current known issues: it
holds only what support wrote for customers to read (the help center shows it too), so it
is public, as a status page is."""

from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tickets.api import problem_serializers as s
from tickets.api.errors import ErrorSerializer, error_responses
from tickets.api.serializers import TicketDetailSerializer
from tickets.api.views import _actor, _ticket_detail_response, _ticket_or_404, _valid
from tickets.models import Problem, Ticket
from tickets.problems import known_issues
from tickets.problems import selectors as problem_selectors
from tickets.problems import services as problems


def _problem_or_404(problem_id: int) -> Problem:
    problem = Problem.objects.filter(pk=problem_id).first()
    if problem is None:
        raise Http404
    return problem


def _detail_response(problem_id: int, status_code: int = status.HTTP_200_OK) -> Response:
    problem = problem_selectors.problem_detail(problem_id)
    if problem is None:
        raise Http404
    context = {
        "tickets": problem_selectors.problem_tickets(problem),
        "events": problem_selectors.problem_history(problem),
    }
    return Response(s.ProblemDetailSerializer(problem, context=context).data, status=status_code)


class ProblemListCreateView(generics.GenericAPIView):
    serializer_class = s.ProblemSerializer

    def get_queryset(self) -> Any:
        query = s.ProblemListQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        sources = (params["source"],) if params.get("source") else ()
        return problem_selectors.problem_list(params["status"], sources=sources)

    @extend_schema(
        parameters=[s.ProblemListQuerySerializer],
        responses={200: s.ProblemSerializer(many=True), **error_responses(400)},
        summary="List problems, newest first, with their linked ticket counts",
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.ProblemSerializer(page, many=True).data)

    @extend_schema(
        request=s.ProblemCreateSerializer,
        responses={201: s.ProblemDetailSerializer, **error_responses(400)},
        summary="Open a problem, with tickets linked",
    )
    def post(self, request: Request) -> Response:
        data = _valid(s.ProblemCreateSerializer, request)
        actor = _actor(request)
        problem = problems.problem_create(
            title=data["title"],
            actor=actor,
            public_explanation=data.get("public_explanation", ""),
            product=data.get("product"),
            region=data.get("region", ""),
            owner=data.get("owner"),
            tickets=list(Ticket.objects.filter(pk__in=data.get("tickets", [])).only("pk")),
            note=data.get("note", ""),
        )
        return _detail_response(problem.pk, status.HTTP_201_CREATED)


class ProblemDetailView(APIView):
    @extend_schema(
        responses={200: s.ProblemDetailSerializer, **error_responses(404)},
        summary="A problem with its known issue, latest tickets and history",
    )
    def get(self, request: Request, problem_id: int) -> Response:
        return _detail_response(problem_id)

    @extend_schema(
        request=s.ProblemUpdateSerializer,
        responses={200: s.ProblemDetailSerializer, **error_responses(400, 404, 409)},
        summary="Change title, status, owner, explanation, product or region",
        description="409 when the problem is solved.",
    )
    def patch(self, request: Request, problem_id: int) -> Response:
        problem = _problem_or_404(problem_id)
        changes = _valid(s.ProblemUpdateSerializer, request)
        if changes:
            problems.problem_change(problem=problem, actor=_actor(request), **changes)
        return _detail_response(problem.pk)


class ProblemNoteView(APIView):
    light_agents_write = True  # light agents note on problems, as on tickets (tickets.policy)

    @extend_schema(
        request=s.ProblemNoteSerializer,
        responses={201: s.ProblemEventSerializer, **error_responses(400, 404)},
        summary="Add an internal note to a problem",
    )
    def post(self, request: Request, problem_id: int) -> Response:
        problem = _problem_or_404(problem_id)
        data = _valid(s.ProblemNoteSerializer, request)
        event = problems.problem_note(problem=problem, actor=_actor(request), text=data["text"])
        return Response(s.ProblemEventSerializer(event).data, status=status.HTTP_201_CREATED)


class ProblemLinkView(APIView):
    @extend_schema(
        request=s.ProblemLinkSerializer,
        responses={200: s.LinkOutcomeSerializer, **error_responses(400, 404, 409)},
        summary="Link tickets to a problem as its incidents",
        description="Each ticket is linked, was linked already, or is refused with the "
        "reason (closed, merged); ids of no ticket are listed as missing. 409 when the "
        "problem is solved.",
    )
    def post(self, request: Request, problem_id: int) -> Response:
        problem = _problem_or_404(problem_id)
        wanted = set(_valid(s.ProblemLinkSerializer, request)["tickets"])
        tickets = list(Ticket.objects.filter(pk__in=wanted).only("pk"))
        outcome = problems.problem_link(problem=problem, tickets=tickets, actor=_actor(request))
        body = {
            "linked": [{"id": t.pk, "reference": t.reference} for t in outcome.linked],
            "already": outcome.already,
            "refused": outcome.refused,
            "missing": sorted(wanted - {t.pk for t in tickets}),
        }
        return Response(s.LinkOutcomeSerializer(body).data)


class TicketUnlinkProblemView(APIView):
    @extend_schema(
        request=None,
        responses={200: TicketDetailSerializer, **error_responses(404, 409)},
        summary="Take a ticket off its problem",
        description="409 when the ticket is linked to no problem.",
    )
    def post(self, request: Request, ticket_id: int) -> Response:
        ticket = _ticket_or_404(ticket_id)
        problems.problem_unlink(ticket=ticket, actor=_actor(request))
        return _ticket_detail_response(ticket.pk)


class ProblemSolveView(APIView):
    @extend_schema(
        request=s.ProblemSolveSerializer,
        responses={202: s.ProblemDetailSerializer, **error_responses(400, 404, 409)},
        summary="Solve a problem and answer its customers",
        description="The problem is solved and its known issue ended at once; its linked "
        "tickets still open are then answered with `answer` on each customer's channel and "
        "resolved, in the background (202). 409 when it is solved already.",
    )
    def post(self, request: Request, problem_id: int) -> Response:
        problem = _problem_or_404(problem_id)
        data = _valid(s.ProblemSolveSerializer, request)
        problems.problem_solve(problem=problem, actor=_actor(request), answer=data["answer"])
        return _detail_response(problem.pk, status.HTTP_202_ACCEPTED)


class ProblemKnownIssueView(APIView):
    @extend_schema(
        request=s.KnownIssuePublishSerializer,
        responses={200: s.KnownIssueSerializer, **error_responses(400, 404, 409)},
        summary="Publish, change or publish again the problem's known issue",
        description="Customers see it at once (help center, contact form, chat, status "
        "page, tier 0). 409 when the problem is solved.",
    )
    def put(self, request: Request, problem_id: int) -> Response:
        problem = _problem_or_404(problem_id)
        data = _valid(s.KnownIssuePublishSerializer, request)
        issue = known_issues.known_issue_publish(
            problem=problem,
            actor=_actor(request),
            title=data["title"],
            summary=data["summary"],
            products=data.get("products", []),
            regions=data.get("regions", []),
            expected_fix_at=data.get("expected_fix_at"),
        )
        return Response(s.KnownIssueSerializer(issue).data)

    @extend_schema(
        responses={
            204: OpenApiResponse(description="No longer shown."),
            **error_responses(404, 409),
        },
        summary="Stop showing the problem's known issue",
        description="409 when it has none published.",
    )
    def delete(self, request: Request, problem_id: int) -> Response:
        problem = _problem_or_404(problem_id)
        known_issues.known_issue_end(problem=problem, actor=_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class KnownIssueListView(APIView):
    """Public, read-only: what customers are told now."""

    permission_classes = [AllowAny]

    @extend_schema(
        responses={
            200: s.PublicKnownIssueSerializer(many=True),
            401: OpenApiResponse(
                ErrorSerializer,
                description="A token or session was sent but is not valid (send none to "
                "read as an anonymous visitor).",
            ),
            429: OpenApiResponse(ErrorSerializer, description="Too many requests."),
        },
        summary="The known issues customers are told of now, newest first (public)",
        description="No authentication needed: only what support published for customers. "
        "A known issue naming products or regions affects their customers only; one naming "
        "none affects everyone. A signed-in customer whose services are known gets those "
        "that affect them; anyone else every one.",
    )
    def get(self, request: Request) -> Response:
        shown = known_issues.shown_to(request.user)
        return Response(s.PublicKnownIssueSerializer(shown, many=True).data)
