"""The second factor, required by HELPDESK_MFA_REQUIRED: "staff" (agents and admins),
"admins", or "off" (each person chooses). allauth asks for the factor at sign-in; this
middleware sends a signed-in person who must have one, and has none yet, to set it up
before any other page.
"""

from collections.abc import Callable

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from tickets.roles import is_admin, is_staff_member

_CHECKED = "helpdesk_mfa_checked"  # this session's person has a second factor
# What someone without a second factor may still open: setting one up, signing out.
_OPEN_PREFIXES = ("/accounts/", "/static/", "/healthz")


def must_have_second_factor(user: object) -> bool:
    required = settings.HELPDESK_MFA_REQUIRED
    if required == "staff":
        return is_staff_member(user)  # type: ignore[arg-type]
    if required == "admins":
        return is_admin(user)  # type: ignore[arg-type]
    return False


class RequireSecondFactor:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and not request.session.get(_CHECKED)
            and not request.path.startswith(_OPEN_PREFIXES)
            and must_have_second_factor(user)
        ):
            if not Authenticator.objects.filter(
                user=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
            ).exists():
                return redirect("mfa_index")
            request.session[_CHECKED] = True
        return self.get_response(request)
