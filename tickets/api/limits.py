"""API rate limits (DRF's throttling) with the headers clients read, and a limit on wrong
tokens per client address.

- Each signed-in user (one token each) may make HELPDESK_API_RATE_USER requests, and each
  anonymous client address HELPDESK_API_RATE_ANON (the public knowledge-base search); past
  that, 429 with Retry-After. Every answer says where the client stands in the
  IETF draft's RateLimit-Limit / -Remaining / -Reset headers (and X-RateLimit-* alike).
- A request refused before the view runs (no token or a wrong one: 401; not allowed: 403)
  counts too (counted_refusal): DRF checks the throttles only after authentication and
  permissions passed, so refused clients were never limited.
- A client address that sent HELPDESK_API_TOKEN_FAILURES wrong tokens is answered 429 for
  HELPDESK_LOCKOUT_MINUTES, whatever token it sends: tokens cannot be guessed one by one.

Addresses are the server's REMOTE_ADDR (set from a trusted proxy only; NUM_PROXIES = 0 keeps
DRF from reading X-Forwarded-For itself).
"""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from helpdesk.ratelimit import client_address, count_hit

_STANDING = "api_rate_limit"  # (limit, remaining, seconds to reset) on the Django request
_COUNTED = "api_rate_counted"  # on the Django request: its throttles were checked
_REFUSALS = (
    exceptions.NotAuthenticated,
    exceptions.AuthenticationFailed,
    exceptions.PermissionDenied,
)


class _Standing:
    """Records, after DRF's check, how much of its window the client has left."""

    num_requests: int
    duration: int
    history: list[float]
    now: float
    key: str | None

    scope: str

    def get_rate(self) -> str | None:
        # Read when asked, not when the class was made: settings may change (tests do).
        from rest_framework.settings import api_settings

        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        return None if rate is None else str(rate)

    def allow_request(self, request: Request, view: Any) -> bool:
        setattr(request._request, _COUNTED, True)
        allowed: bool = super().allow_request(request, view)  # type: ignore[misc]
        if getattr(self, "key", None) is None:  # this throttle does not apply
            return allowed
        remaining = max(0, self.num_requests - len(self.history))
        reset = self.duration - (self.now - self.history[-1]) if self.history else self.duration
        standing = (self.num_requests, remaining, max(1, round(reset)))
        django_request = request._request
        current = getattr(django_request, _STANDING, None)
        if current is None or standing[1] < current[1]:  # the tightest limit speaks
            setattr(django_request, _STANDING, standing)
        return allowed


class UserRate(_Standing, UserRateThrottle):
    scope = "user"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None  # anonymous clients: AnonRate
        return super().get_cache_key(request, view)


class AnonRate(_Standing, AnonRateThrottle):
    scope = "anon"


def counted_refusal(refusal: Exception, view: Any, request: Request | None) -> Exception:
    """A refusal (401, 403) counted against the client's rate as the view's throttles count
    any request: `refusal` within the rate, Throttled (429, Retry-After) past it. DRF's
    APIView.initial authenticates and checks permissions before the throttles, so a
    refused request was never counted: guessing tokens or hammering without one was never
    limited. Asked by the API's one exception handler (tickets.api.errors), so every API
    view, ours or a library's, counts its refusals; a request whose throttles (this
    module's, every API view's) were already checked, refused later by an object's
    permission, is not counted twice."""
    if not isinstance(refusal, _REFUSALS) or view is None or request is None:
        return refusal
    if getattr(request._request, _COUNTED, False) or not hasattr(view, "check_throttles"):
        return refusal
    try:
        view.check_throttles(request)  # a failed authentication left request.user anonymous
    except exceptions.Throttled as throttled:
        return throttled
    return refusal


class LimitedTokenAuthentication(TokenAuthentication):
    """Token authentication that stops answering an address that keeps sending wrong tokens."""

    def authenticate(self, request: Request) -> Any:
        key = f"api-token-failures:{client_address(request._request)}"
        window = settings.HELPDESK_LOCKOUT_MINUTES * 60
        if (cache.get(key) or 0) >= settings.HELPDESK_API_TOKEN_FAILURES:
            raise exceptions.Throttled(wait=window, detail="Too many wrong tokens from here.")
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            count_hit(key, window_seconds=window)
            raise


class RateLimitHeaders:
    """Adds the client's standing under its API rate limit to every API answer."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        standing = getattr(request, _STANDING, None)
        if standing is not None:
            limit, remaining, reset = standing
            for prefix in ("RateLimit", "X-RateLimit"):
                response[f"{prefix}-Limit"] = str(limit)
                response[f"{prefix}-Remaining"] = str(remaining)
                response[f"{prefix}-Reset"] = str(reset)
        return response
