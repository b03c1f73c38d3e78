"""The agent's own time zone and language (My settings) for their requests.

Kept in the session (read from the profile at sign-in, written again when they save their
settings), so a request asks the database nothing for them. Time zone: every page the
agent opens shows dates in it. Language: the workspace's pages (/agent/), through Django's
i18n (translation.activate), for any language with translations.
"""

import zoneinfo
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

TIME_ZONE_KEY = "agent_time_zone"
LANGUAGE_KEY = "agent_language"
_WORKSPACE = "/agent/"


def remember(request: HttpRequest, *, time_zone: str, language: str) -> None:
    request.session[TIME_ZONE_KEY] = time_zone
    request.session[LANGUAGE_KEY] = language


def _signed_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    from tickets.models import AgentProfile

    if request is None or not getattr(user, "is_staff", False):
        return
    found = AgentProfile.objects.filter(user=user).values_list("time_zone", "language").first()
    if found:
        remember(request, time_zone=found[0], language=found[1])


def connect_signals() -> None:
    user_logged_in.connect(_signed_in, dispatch_uid="agent-preferences")


class AgentPreferences:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return self.get_response(request)  # nobody signed in: nothing to read
        zone = request.session.get(TIME_ZONE_KEY) or ""
        language = request.session.get(LANGUAGE_KEY) or ""
        if zone:
            try:
                timezone.activate(zoneinfo.ZoneInfo(zone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                zone = ""
        language = language if request.path.startswith(_WORKSPACE) else ""
        if not (zone or language):
            return self.get_response(request)
        try:
            if language:
                with translation.override(language):
                    request.LANGUAGE_CODE = language
                    response = self.get_response(request)
                    response.headers.setdefault("Content-Language", language)
                    return response
            return self.get_response(request)
        finally:
            if zone:
                timezone.deactivate()
