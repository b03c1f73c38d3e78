"""What agents arrange their work with: tags, saved queue views, canned responses."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tickets import placeholders


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Team(models.Model):
    """A group of colleagues (a shift, a product's specialists, a region) that leads put
    together on the team page, across tiers: views can be shared with it."""

    name = models.CharField(max_length=80, unique=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="support_teams"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ViewSharing(models.TextChoices):
    PERSONAL = "personal", _("Only me")
    EVERYONE = "everyone", _("Everyone")
    TIER = "tier", _("One tier")
    TEAM = "team", _("One team")


class SavedView(models.Model):
    """A named queue: a set of filters (kept as the list page's query string), the columns
    shown and their order, and the sort. Personal (its owner's) or shared, with everyone,
    one tier's agents or one team; admins and leads manage the shared ones
    (tickets.saved_views)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    name = models.CharField(max_length=80)
    query = models.CharField(max_length=1000, help_text="The queue filters, as a query string.")
    position = models.PositiveIntegerField(default=0)
    sharing = models.CharField(
        max_length=10, choices=ViewSharing.choices, default=ViewSharing.PERSONAL
    )
    tier = models.ForeignKey(
        "tickets.Tier",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="shared_views",
        help_text="The tier whose agents see the view, when shared with one tier.",
    )
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="shared_views",
        help_text="The team whose members see the view, when shared with one team.",
    )
    # Column keys in the order shown (tickets.saved_views.column_for: the built-in ones and
    # "field:<key>" for a custom field); blank: the default ones. Unbounded: every active
    # field may be shown, however many the desk defines.
    columns = models.TextField(blank=True, default="")
    # A shown column's key, "-" first for descending; blank: the queue's own order. Room for
    # the longest: "-field:" and a custom field's key (TicketField.key, 40 characters).
    sort = models.CharField(max_length=50, blank=True, default="")

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="saved_view_owner_name_unique"),
            models.CheckConstraint(
                condition=~models.Q(sharing="tier") | models.Q(tier__isnull=False),
                name="saved_view_tier_when_shared_with_a_tier",
            ),
            models.CheckConstraint(
                condition=~models.Q(sharing="team") | models.Q(team__isnull=False),
                name="saved_view_team_when_shared_with_a_team",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_shared(self) -> bool:
        return self.sharing != ViewSharing.PERSONAL


class Macro(models.Model):
    """A canned response: text with placeholders, and optionally a status, priority or tier."""

    name = models.CharField(max_length=120, unique=True)
    body = models.TextField(
        help_text=f"Placeholders: {placeholders.listing(placeholders.IN_REPLIES)}."
    )
    set_status = models.CharField(
        max_length=16,
        blank=True,
        choices=[
            ("", "Leave as is"),
            ("pending_customer", "Waiting on customer"),
            ("on_hold", "On hold"),
            ("resolved", "Resolved"),
        ],
        help_text="Status to set when the reply is sent.",
    )
    set_priority = models.CharField(
        max_length=8,
        blank=True,
        choices=[
            ("", "Leave as is"),
            ("low", "Low"),
            ("normal", "Normal"),
            ("high", "High"),
            ("urgent", "Urgent"),
        ],
    )
    set_tier = models.ForeignKey(
        "tickets.Tier",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Move the ticket to this tier (an escalation with the macro's name as reason).",
    )
    is_active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class ReportSubscription(models.Model):
    """An admin or lead who asked for the weekly summary of the reports by mail."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="report_subscription"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The Monday of the latest week mailed: a retried or doubled beat run mails once.
    last_sent_week = models.DateField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Weekly summary for {self.user}"
