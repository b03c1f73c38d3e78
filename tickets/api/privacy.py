"""A customer's data exported through the API (admins only): ask, poll, download."""

from typing import Any

from django.http import FileResponse, Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from tickets.api.errors import error_responses
from tickets.api.views import _actor
from tickets.models import Customer, CustomerExport, ExportState
from tickets.privacy.export import customer_export_request
from tickets.roles import handles_personal_data


class HandlesPersonalData(BasePermission):
    message = "Exporting a customer's data is for admins."

    def has_permission(self, request: Request, view: Any) -> bool:
        return handles_personal_data(request.user)


class ExportSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    customer = serializers.IntegerField(source="customer_id")
    state = serializers.CharField()
    created_at = serializers.DateTimeField()
    ready_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField()
    size = serializers.IntegerField()
    download_url = serializers.SerializerMethodField()

    def get_download_url(self, export: CustomerExport) -> str | None:
        if export.state != ExportState.READY:
            return None
        return reverse("api:export-download", args=[export.pk], request=self.context.get("request"))


def _own_export(request: Request, export_id: int) -> CustomerExport:
    """An export the caller asked for and that has not expired; 404 otherwise."""
    found = CustomerExport.objects.filter(
        pk=export_id, requested_by=_actor(request), expires_at__gt=timezone.now()
    ).first()
    if found is None:
        raise Http404
    return found


class CustomerExportView(APIView):
    permission_classes = [HandlesPersonalData]

    @extend_schema(
        request=None,
        responses={202: ExportSerializer, **error_responses(400, 403, 404)},
        summary="Export everything held about a customer (a ZIP built in the background)",
    )
    def post(self, request: Request, customer_id: int) -> Response:
        customer = Customer.objects.filter(pk=customer_id).first()
        if customer is None:
            raise Http404
        export = customer_export_request(customer=customer, actor=_actor(request))
        data = ExportSerializer(export, context={"request": request}).data
        return Response(data, status=status.HTTP_202_ACCEPTED)


class ExportDetailView(APIView):
    permission_classes = [HandlesPersonalData]

    @extend_schema(
        responses={200: ExportSerializer, **error_responses(403, 404)},
        summary="An export's state, and its download link once ready",
    )
    def get(self, request: Request, export_id: int) -> Response:
        export = _own_export(request, export_id)
        return Response(ExportSerializer(export, context={"request": request}).data)


class ExportDownloadView(APIView):
    permission_classes = [HandlesPersonalData]

    @extend_schema(
        responses={(200, "application/zip"): bytes, **error_responses(403, 404)},
        summary="Download a ready export (only by who asked for it, until it expires)",
    )
    def get(self, request: Request, export_id: int) -> FileResponse:
        export = _own_export(request, export_id)
        if export.state != ExportState.READY or not export.file:
            raise Http404
        return FileResponse(
            export.file.open("rb"),
            as_attachment=True,
            filename=f"customer-{export.customer_id}.zip",
            content_type="application/zip",
        )
