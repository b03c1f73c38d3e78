"""The second factor, required by the sign-in policy admins set (Admin > Tickets >
Sign-in policy; HELPDESK_MFA_REQUIRED until they do): "staff" (agents and admins),
"admins", or "off" (each person chooses). allauth asks for the factor at sign-in. Whoever
signs in without one while the policy requires it is sent to set it up before any other
page: decided once at sign-in, so pages cost nothing more (a changed policy applies from
each person's next sign-in).
"""

from collections.abc import Callable
from typing import Any

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from helpdesk.kept import KeptPerProcess
from tickets.roles import is_admin, is_staff_member

_MUST_SET_UP = "helpdesk_mfa_set_up"  # this session's person must add a second factor
# What someone without a second factor may still open: setting one up, signing out.
_OPEN_PREFIXES = ("/accounts/", "/static/", "/healthz")


def _saved_rule() -> str | None:
    from tickets.models import SignInPolicy

    return SignInPolicy.objects.values_list("second_factor", flat=True).first()


policy = KeptPerProcess("sign-in-policy", _saved_rule, max_seconds=60)


def second_factor_rule() -> str:
    return policy.current() or settings.HELPDESK_MFA_REQUIRED


def must_have_second_factor(user: Any) -> bool:
    if not is_staff_member(user):  # customers: never asked
        return False
    required = second_factor_rule()
    return required == "staff" or (required == "admins" and is_admin(user))


def _has_second_factor(user: Any) -> bool:
    kinds = [Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
    return Authenticator.objects.filter(user=user, type__in=kinds).exists()


def _signed_in(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if must_have_second_factor(user) and not _has_second_factor(user):
        request.session[_MUST_SET_UP] = True


def connect_signals() -> None:
    user_logged_in.connect(_signed_in, dispatch_uid="mfa-required")


class RequireSecondFactor:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.session.get(_MUST_SET_UP) and not request.path.startswith(_OPEN_PREFIXES):
            if not _has_second_factor(request.user):
                return redirect("mfa_index")
            del request.session[_MUST_SET_UP]
        return self.get_response(request)
