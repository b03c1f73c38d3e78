"""Monitoring's webhooks: alerts open or update problems (tickets.problems.monitoring).

Authenticated by a bearer token (HELPDESK_MONITORING_TOKEN, compared in constant time);
with none set the doors are switched off and answer 404. An address sending wrong tokens
is cut off as the API's are (HELPDESK_API_TOKEN_FAILURES, HELPDESK_LOCKOUT_MINUTES).

The alerts are written before the answer, all of a delivery or none: a payload we cannot
read is answered 400 and writes nothing (the sender's fault, logged at info); a failure of
ours is a 500, and the sender delivers again (which writes nothing twice).
"""

import hmac
import logging
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from channels_ingest.errors import Rejected
from channels_ingest.monitoring import parse
from helpdesk.ratelimit import client_address, count_hit
from tickets.errors import DomainError
from tickets.problems.monitoring import problems_from_alerts

logger = logging.getLogger(__name__)

# Larger bodies are refused unread (an Alertmanager group of thousands of alerts is ~1 MB).
MAX_BODY_BYTES = 10 * 1024 * 1024


@csrf_exempt
def alertmanager(request: HttpRequest) -> HttpResponse:
    """Prometheus Alertmanager's webhook_config (send_resolved: true), or Grafana's."""
    return _receive(request, parse.parse_alertmanager)


@csrf_exempt
def generic(request: HttpRequest) -> HttpResponse:
    """Any monitoring system, in the generic JSON shape (channels_ingest.monitoring.parse)."""
    return _receive(request, parse.parse_generic)


def _receive(request: HttpRequest, parser: Callable[[bytes], parse.AlertBatch]) -> HttpResponse:
    token = settings.HELPDESK_MONITORING_TOKEN
    if not token:
        raise Http404("Monitoring webhooks are switched off.")
    if request.method != "POST":
        response = _error(405, "method_not_allowed", "Send alerts with POST.")
        response["Allow"] = "POST"
        return response
    failures = f"monitoring-token-failures:{client_address(request)}"
    window = settings.HELPDESK_LOCKOUT_MINUTES * 60
    if (cache.get(failures) or 0) >= settings.HELPDESK_API_TOKEN_FAILURES:
        response = _error(429, "throttled", "Too many wrong tokens from here.")
        response["Retry-After"] = str(window)
        return response
    if not _bearer_matches(request, token):
        logger.info("monitoring webhook %s refused: missing or wrong token", request.path)
        count_hit(failures, window_seconds=window)
        response = _error(401, "not_authenticated", "Send Authorization: Bearer <token>.")
        response["WWW-Authenticate"] = 'Bearer realm="monitoring"'
        return response
    if _declared_length(request) > MAX_BODY_BYTES:
        return _error(413, "too_large", f"Send at most {MAX_BODY_BYTES} bytes.")
    try:
        batch = parser(request.body)
        outcomes = problems_from_alerts(alerts=batch.alerts, now=timezone.now())
    except Rejected as refused:
        logger.info("monitoring webhook %s rejected: %s", request.path, refused.reason)
        return _error(400, "invalid_payload", refused.reason)
    except DomainError as refused:
        logger.info("monitoring webhook %s rejected: %s", request.path, refused.message)
        return _error(400, refused.code, refused.message)
    return JsonResponse(
        {
            "alerts": [
                {
                    "key": outcome.key,
                    "action": outcome.action.value,
                    "problem": outcome.problem.reference if outcome.problem else None,
                }
                for outcome in outcomes
            ]
        }
    )


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.headers.get("Content-Length") or 0)
    except ValueError:
        return 0  # the server reads what comes, up to DATA_UPLOAD_MAX_MEMORY_SIZE


def _bearer_matches(request: HttpRequest, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)
