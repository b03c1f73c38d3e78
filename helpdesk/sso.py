"""Single sign-on's one exception to the Content-Security-Policy: the staff sign-in pages
post to our /accounts/oidc/... URL, which redirects to the provider; browsers apply
`form-action` to that redirect too. So on /accounts/ pages the configured OpenID Connect
providers' origins (from settings or the admin's Social applications) are added to it.
"""

from collections.abc import Callable
from urllib.parse import urlsplit

from allauth.socialaccount.adapter import get_adapter
from django.http import HttpRequest, HttpResponse


def provider_origins(request: HttpRequest) -> list[str]:
    origins = set()
    for app in get_adapter(request).list_apps(request, provider="openid_connect"):
        server = urlsplit((app.settings or {}).get("server_url", ""))
        if server.scheme in {"https", "http"} and server.netloc:
            origins.add(f"{server.scheme}://{server.netloc}")
    return sorted(origins)


class AllowSignInProviders:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith("/accounts/") and (origins := provider_origins(request)):
            response._csp_update = {"form-action": origins}  # type: ignore[attr-defined]
        return response
