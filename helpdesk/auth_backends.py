"""Django's model backend, reading a signed-in user with their agent profile in one query:
every workspace page asks whether the user is an agent (tickets.roles)."""

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.auth_backends import AuthenticationBackend
from django.contrib.auth import get_user_model
from django.db.models import QuerySet

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


def typed_username(request: Any, credentials: dict[str, Any] | None) -> str | None:
    """The account name a sign-in attempt typed, whichever door's form it came through."""
    credentials = credentials or {}
    for name in ("username", "login", "email"):
        if credentials.get(name):
            return str(credentials[name])
    post = getattr(request, "POST", {})
    return post.get("login") or post.get("username") or None


class StaffAccountAdapter(DefaultAccountAdapter):
    """Staff accounts are made by admins; the sign-in pages offer no sign-up."""

    def is_open_for_signup(self, request: Any) -> bool:
        return False
