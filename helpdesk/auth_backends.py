"""Django's model backend, reading a signed-in user with their agent profile in one query:
every workspace page asks whether the user is an agent (tickets.roles)."""

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.auth_backends import AuthenticationBackend
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.shortcuts import redirect

# Its dotted path, for a sign-in that names the backend (a sign-in link, say).
USER_BACKEND = "helpdesk.auth_backends.UserWithProfileBackend"


def _users() -> QuerySet:
    return get_user_model()._default_manager.select_related("agent_profile")


class UserWithProfileBackend(AuthenticationBackend):
    def get_user(self, user_id: Any) -> Any:
        user = _users().filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None

    async def aget_user(self, user_id: Any) -> Any:
        user = await _users().filter(pk=user_id).afirst()
        return user if user is not None and self.user_can_authenticate(user) else None


# The length of the name django-axes keeps of a failed attempt (AccessAttempt.username).
_KEPT_USERNAME_CHARS = 255


def typed_username(request: Any, credentials: dict[str, Any] | None) -> str | None:
    """The account name a sign-in attempt typed, whichever door's form it came through, as
    far as axes can keep it: Django's sign-in form does not hold a username to a length,
    and a longer one was a server error at the portal's password door."""
    credentials = credentials or {}
    typed = next(
        (credentials[name] for name in ("username", "login", "email") if credentials.get(name)),
        None,
    )
    if typed is None:
        post = getattr(request, "POST", {})
        typed = post.get("login") or post.get("username") or None
    return str(typed)[:_KEPT_USERNAME_CHARS] if typed else None


class StaffAccountAdapter(DefaultAccountAdapter):
    """Staff accounts are made by admins; the sign-in pages offer no sign-up."""

    def is_open_for_signup(self, request: Any) -> bool:
        return False

    def pre_authenticate(self, request: Any, **credentials: Any) -> None:
        """Wrong passwords are django-axes' to count (one lockout, one 429 page); allauth's
        "login_failed" limit is left to the second step's codes (allauth.mfa)."""

    def authenticate(self, request: Any, **credentials: Any) -> Any:
        # With single sign-on required, a password signs in superusers only (to mend a
        # broken set-up).
        user = super().authenticate(request, **credentials)
        if user is not None and settings.HELPDESK_SSO_REQUIRED and not user.is_superuser:
            return None
        return user


class StaffSocialAdapter(DefaultSocialAccountAdapter):
    """Single sign-on signs in existing staff accounts only, by the address the provider
    vouches for; it makes no accounts and lets no customer in at the staff door."""

    def is_open_for_signup(self, request: Any, sociallogin: Any) -> bool:
        return False

    def pre_social_login(self, request: Any, sociallogin: Any) -> None:
        from tickets.roles import is_staff_member

        user = sociallogin.user
        if user.pk is not None and not is_staff_member(user):
            messages.error(request, "Single sign-on is for agents and admins.")
            raise ImmediateHttpResponse(redirect("account_login"))
