"""One error shape for every failure of the API: {"error": {"code", "message", "fields"?}}."""

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from tickets.api import limits
from tickets.errors import Conflict, DomainError, NotAllowed


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable reason.")
    message = serializers.CharField(help_text="What went wrong, for a person.")
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Per-field problems, when the input was invalid.",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorBodySerializer()


_DESCRIPTIONS = {
    400: "The input is invalid.",
    401: "Not authenticated: send a token or a session cookie.",
    403: "Authenticated, but not an agent or admin.",
    404: "No such object.",
    409: "The object's current state does not allow this (e.g. the ticket is closed).",
    429: "Too many requests: wait the seconds Retry-After says (RateLimit-* headers tell "
    "where the client stands before that).",
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """Schema entries for the error answers an endpoint can give (401, 403 and 429 always)."""
    return {
        code: OpenApiResponse(ErrorSerializer, description=_DESCRIPTIONS[code])
        for code in sorted({401, 403, 429, *codes})
    }


def _body(code: str, message: str, fields: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def _flatten(detail: Any, path: str = "") -> dict[str, list[str]]:
    """{"requester": {"email": ["..."]}} -> {"requester.email": ["..."]}: one documented shape."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            flat.update(_flatten(value, f"{path}.{key}" if path else str(key)))
        return flat
    if isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        flat = {}
        for index, value in enumerate(detail):
            flat.update(_flatten(value, f"{path}.{index}" if path else str(index)))
        return flat
    messages = detail if isinstance(detail, list) else [detail]
    return {path or "non_field_errors": [str(message) for message in messages]} if messages else {}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        status_code: int
        if isinstance(exc, NotAllowed):
            status_code = status.HTTP_403_FORBIDDEN
        elif isinstance(exc, Conflict):
            status_code = status.HTTP_409_CONFLICT
        else:
            status_code = status.HTTP_400_BAD_REQUEST
        # Values refused field by field (tickets.fields) are named each, as a serializer's.
        refused = getattr(exc, "errors", None)
        fields = {f"custom_fields.{k}": [v] for k, v in refused.items()} if refused else None
        return Response(_body(exc.code, exc.message, fields), status=status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    exc = limits.counted_refusal(exc, context.get("view"), context.get("request"))
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    if isinstance(exc, exceptions.ValidationError):
        problems: Any = exc.detail
        if not isinstance(problems, dict):
            problems = {"non_field_errors": problems}
        response.data = _body("invalid", "The input is invalid.", _flatten(problems))
    else:
        detail = exc.detail
        response.data = _body(
            getattr(detail, "code", exc.default_code) or exc.default_code, str(detail)
        )
    return response


def _django_error(
    request: HttpRequest, status_code: int, code: str, message: str, default: Any, **kwargs: Any
) -> HttpResponse:
    """An error Django answers itself (no view matched, a crash): in the API's error shape
    under /api/, Django's own page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(_body(code, message), status=status_code)
    return default(request, **kwargs)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _django_error(
        request, 404, "not_found", "Not found.", defaults.page_not_found, exception=exception
    )


def server_error(request: HttpRequest) -> HttpResponse:
    return _django_error(
        request, 500, "server_error", "Something went wrong on our side.", defaults.server_error
    )


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _django_error(
        request, 400, "bad_request", "Bad request.", defaults.bad_request, exception=exception
    )
