"""The security log: sign-ins, failed and locked-out sign-ins, sign-outs, second factors
added, removed or failed, and API tokens made or removed, as admins read them
(Admin > Tickets > Security events).

Written by tickets.security_log from Django's, django-axes', allauth's and the token
model's signals,
so every door (workspace, admin, portal, a sign-in link) is covered by the same receivers.
"""

from django.conf import settings
from django.db import models
from rest_framework.authtoken.models import TokenProxy


class SecurityEventKind(models.TextChoices):
    SIGNED_IN = "signed_in", "Signed in"
    SIGN_IN_FAILED = "sign_in_failed", "Sign-in failed"
    LOCKED_OUT = "locked_out", "Locked out"
    SIGNED_OUT = "signed_out", "Signed out"
    MFA_ADDED = "mfa_added", "Second factor added"
    MFA_REMOVED = "mfa_removed", "Second factor removed"
    MFA_RESET = "mfa_reset", "Recovery codes renewed"
    MFA_FAILED = "mfa_failed", "Second factor failed"
    TOKEN_CREATED = "token_created", "API token created"
    TOKEN_DELETED = "token_deleted", "API token deleted"


class SecurityEvent(models.Model):
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=20, choices=SecurityEventKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The account, when one is known (a failed sign-in may name none).",
    )
    username = models.CharField(max_length=150, blank=True, help_text="As it was typed.")
    staff = models.BooleanField(default=False, help_text="The account is an agent's or admin's.")
    address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    path = models.CharField(max_length=200, blank=True, help_text="The door it came through.")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["kind", "-at"], name="security_event_kind_at")]

    def __str__(self) -> str:
        who = self.username or self.user_id
        return f"{self.get_kind_display()}: {who} at {self.at:%Y-%m-%d %H:%M}"


class SecondFactorRule(models.TextChoices):
    OFF = "off", "Optional: each person chooses"
    ADMINS = "admins", "Required for admins"
    STAFF = "staff", "Required for all staff (agents and admins)"


class SignInPolicy(models.Model):
    """How staff must sign in, as admins set it (one row; HELPDESK_MFA_REQUIRED until an
    admin saves it)."""

    second_factor = models.CharField(
        max_length=10,
        choices=SecondFactorRule.choices,
        help_text="Who must sign in with a second factor (an authenticator app or a "
        "passkey). Who must and has none is asked to set one up before any other page.",
    )

    class Meta:
        verbose_name = "sign-in policy"
        verbose_name_plural = "sign-in policy"

    def __str__(self) -> str:
        return self.get_second_factor_display()


def masked_key(key: str) -> str:
    """An API token's key as pages show it once it is made: its first characters only."""
    return f"{key[:4]}…"


class ApiToken(TokenProxy):
    """An API token as the admin shows it (Admin > Tickets > API tokens): wherever it is
    named (list, its page, history, messages, the admin's log), by its masked key. The
    full key is shown once, on the page that answers its creation (tickets.admin)."""

    class Meta:
        proxy = True
        verbose_name = "API token"
        verbose_name_plural = "API tokens"

    def __str__(self) -> str:
        return masked_key(self.key)
