"""Privacy: a customer's data exported as a ZIP, and the rules that keep closed tickets no
longer than needed (tickets.privacy)."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tickets.models import Channel


class ErasureMode(models.TextChoices):
    ANONYMISE = "anonymise", "Anonymise: remove personal data, keep tickets for statistics"
    DELETE = "delete", "Delete the tickets entirely"


class ExportState(models.TextChoices):
    PENDING = "pending", "Being prepared"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class CustomerExport(models.Model):
    """One export of everything held about a customer, built by a worker; only the admin
    who asked may download it, until it expires."""

    customer = models.ForeignKey(
        "tickets.Customer", on_delete=models.CASCADE, related_name="exports"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    state = models.CharField(
        max_length=10, choices=ExportState.choices, default=ExportState.PENDING
    )
    file = models.FileField(upload_to="exports/", blank=True)
    size = models.PositiveBigIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    ready_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "requested_by", "-created_at"], name="export_idx")
        ]

    def __str__(self) -> str:
        return f"Export of customer {self.customer_id} ({self.get_state_display()})"

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at <= (now or timezone.now())


class RetentionRule(models.Model):
    """Closed tickets older than a number of days (on one channel, or all) are anonymised or
    deleted by the nightly retention run (tickets.privacy.retention)."""

    name = models.CharField(max_length=100)
    enabled = models.BooleanField(default=True)
    channel = models.CharField(
        max_length=10,
        choices=Channel.choices,
        blank=True,
        help_text="Only tickets that came in on this channel; empty for every channel.",
    )
    closed_days = models.PositiveIntegerField(
        help_text="Tickets closed at least this many days ago are acted on."
    )
    action = models.CharField(max_length=10, choices=ErasureMode.choices)
    last_run_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_run_count = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closed_days__gte=1), name="retention_rule_days_positive"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def cutoff(self, now: datetime) -> datetime:
        """Tickets closed before this moment are acted on."""
        return now - timedelta(days=self.closed_days)
