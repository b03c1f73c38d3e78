"""The reports' figures as JSON, for admins and leads (the same selectors as the pages)."""

from dataclasses import asdict
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tickets.api.errors import error_responses
from tickets.reporting.agents import agents_report
from tickets.reporting.overview import overview
from tickets.reporting.responsiveness import responsiveness
from tickets.reporting.satisfaction import satisfaction
from tickets.reporting.scope import scope_from
from tickets.reporting.sla import sla_report
from tickets.reporting.tiers import tier_flow
from tickets.roles import reads_reports

SCOPE_PARAMETERS = [
    OpenApiParameter("since", OpenApiTypes.DATE, description="First day (default: 30 days ago)."),
    OpenApiParameter(
        "until", OpenApiTypes.DATE, description="Last day, included (default: today)."
    ),
    OpenApiParameter("bucket", OpenApiTypes.STR, enum=["day", "week"]),
    OpenApiParameter("channel", OpenApiTypes.STR),
    OpenApiParameter("tier", OpenApiTypes.INT, description="Tier level, 0 to 3."),
    OpenApiParameter("priority", OpenApiTypes.STR),
    OpenApiParameter("organization", OpenApiTypes.INT),
    OpenApiParameter("agent", OpenApiTypes.INT, description="The assignee's user id."),
]


class ReadsReports(BasePermission):
    message = "Reports are for admins and leads."

    def has_permission(self, request: Request, view: Any) -> bool:
        return reads_reports(request.user)


class _ReportView(APIView):
    permission_classes = [ReadsReports]

    def get(self, request: Request) -> Response:
        scope = scope_from(request.query_params, timezone.localtime())
        report = asdict(self.compute(scope))
        report["scope"] = {"since": scope.since, "until": scope.until, **scope.query()}
        return Response(report)

    def compute(self, scope: Any) -> Any:
        raise NotImplementedError


@extend_schema(
    summary="Tickets created and solved, and the backlog, over a period",
    parameters=SCOPE_PARAMETERS,
    responses={200: OpenApiTypes.OBJECT, **error_responses(400)},
)
class OverviewReportView(_ReportView):
    def compute(self, scope: Any) -> Any:
        return overview(scope, timezone.now())


@extend_schema(
    summary="First reply, next reply and resolution times; first-contact resolution",
    parameters=SCOPE_PARAMETERS,
    responses={200: OpenApiTypes.OBJECT, **error_responses(400)},
)
class ResponsivenessReportView(_ReportView):
    def compute(self, scope: Any) -> Any:
        return responsiveness(scope)


@extend_schema(
    summary="SLA targets met and breached, per policy and target; breaches now",
    parameters=SCOPE_PARAMETERS,
    responses={200: OpenApiTypes.OBJECT, **error_responses(400)},
)
class SLAReportView(_ReportView):
    def compute(self, scope: Any) -> Any:
        return sla_report(scope, timezone.now())


@extend_schema(
    summary="CSAT and survey response rate, by agent, tier and channel, with the comments",
    parameters=SCOPE_PARAMETERS,
    responses={200: OpenApiTypes.OBJECT, **error_responses(400)},
)
class SatisfactionReportView(_ReportView):
    def compute(self, scope: Any) -> Any:
        return satisfaction(scope)


@extend_schema(
    summary="Tier flow: tickets entering, solved in, escalated from and sent down from each tier",
    parameters=SCOPE_PARAMETERS,
    responses={200: OpenApiTypes.OBJECT, **error_responses(400)},
)
class TierFlowReportView(_ReportView):
    def compute(self, scope: Any) -> Any:
        return tier_flow(scope)


@extend_schema(
    summary="Per agent: assigned, replies, solved, median first reply, CSAT, open now",
    parameters=SCOPE_PARAMETERS,
    responses={200: OpenApiTypes.OBJECT, **error_responses(400)},
)
class AgentsReportView(_ReportView):
    def compute(self, scope: Any) -> Any:
        return agents_report(scope, timezone.now())
