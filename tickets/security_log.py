"""Writes the security log (tickets.models_security) from the signals every door sends, and
revokes a deactivated account's API token (logged as deleted)."""

from typing import Any

from allauth.mfa import signals as mfa
from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest
from rest_framework.authtoken.models import Token

from helpdesk.ratelimit import client_address
from tickets.models_security import ApiToken, SecurityEvent, SecurityEventKind
from tickets.roles import is_staff_member


def _record(
    kind: str, *, request: HttpRequest | None = None, user: Any = None, username: str = ""
) -> None:
    if user is None and username:  # who a failed or locked-out sign-in named, if anyone
        user = get_user_model()._default_manager.filter(username=username).first()
    SecurityEvent.objects.create(
        kind=kind,
        user=user,
        username=(username or getattr(user, "username", ""))[:150],
        staff=user is not None and is_staff_member(user),
        address=(client_address(request) or None) if request is not None else None,
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300] if request is not None else "",
        path=request.path[:200] if request is not None else "",
    )


def _signed_in(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    _record(SecurityEventKind.SIGNED_IN, request=request, user=user)


def _signed_out(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if user is not None:
        _record(SecurityEventKind.SIGNED_OUT, request=request, user=user)


def _sign_in_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    username = str(credentials.get("username", ""))
    _record(SecurityEventKind.SIGN_IN_FAILED, request=request, username=username)


def _locked_out(sender: Any, request: HttpRequest, username: str | None, **kwargs: Any) -> None:
    _record(SecurityEventKind.LOCKED_OUT, request=request, username=username or "")


def _token_saved(sender: Any, instance: Token, created: bool, **kwargs: Any) -> None:
    if created:
        _record(SecurityEventKind.TOKEN_CREATED, user=instance.user)


def _token_deleted(sender: Any, instance: Token, **kwargs: Any) -> None:
    _record(SecurityEventKind.TOKEN_DELETED, user=instance.user)


def _user_saved(sender: Any, instance: Any, **kwargs: Any) -> None:
    """A deactivated account's API token is revoked, whichever door deactivated it (the
    admin's user page, a script): turning the account back on must not bring a key that
    may have leaked back to life. (While the account is off, DRF's token check refuses the
    key anyway, even if it was switched off by an update that sends no signal.)"""
    if not instance.is_active:
        for token in Token.objects.filter(user=instance):
            token.delete()  # one by one: each deletion is logged


def _second_factor(kind: str) -> Any:
    def receiver(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
        _record(kind, request=request, user=user)

    return receiver


_MFA_RECEIVERS = {
    mfa.authenticator_added: _second_factor(SecurityEventKind.MFA_ADDED),
    mfa.authenticator_removed: _second_factor(SecurityEventKind.MFA_REMOVED),
    mfa.authenticator_reset: _second_factor(SecurityEventKind.MFA_RESET),
    mfa.authentication_failed: _second_factor(SecurityEventKind.MFA_FAILED),
}


def connect_signals() -> None:
    for signal, receiver in _MFA_RECEIVERS.items():
        signal.connect(receiver, dispatch_uid=f"security-log-{id(signal)}")
    user_logged_in.connect(_signed_in, dispatch_uid="security-log-in")
    user_logged_out.connect(_signed_out, dispatch_uid="security-log-out")
    user_login_failed.connect(_sign_in_failed, dispatch_uid="security-log-failed")
    user_locked_out.connect(_locked_out, dispatch_uid="security-log-locked")
    post_save.connect(_token_saved, sender=Token, dispatch_uid="security-log-token")
    # The admin saves its tokens as the proxy (the signal names the proxy); it deletes them
    # through Token.
    post_save.connect(_token_saved, sender=ApiToken, dispatch_uid="security-log-api-token")
    post_delete.connect(_token_deleted, sender=Token, dispatch_uid="security-log-token-d")
    post_save.connect(
        _user_saved, sender=get_user_model(), dispatch_uid="security-log-token-revoked"
    )
