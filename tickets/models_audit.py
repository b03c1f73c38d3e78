"""The audit log: what was done with customers' data (exported, erased, merged, kept no
longer by a retention rule), by whom, as admins read it (Admin > Tickets > Audit entries).

Written by the services that act (tickets.privacy.audit.audit_record), in the transaction
of the action itself, so an entry exists exactly when the action happened. It never holds
the personal data it is about: numbers and ids, not names and addresses. Sign-ins and second
factors are the security log's (tickets.models_security).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditAction(models.TextChoices):
    CUSTOMER_EXPORTED = "customer_exported", "Customer's data exported"
    CUSTOMER_ERASED = "customer_erased", "Customer erased"
    CUSTOMER_MERGED = "customer_merged", "Customers merged"
    RETENTION_RUN = "retention_run", "Retention rules applied"


class AuditEntry(models.Model):
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who did it; empty when the system did (a retention rule).",
    )
    action = models.CharField(max_length=30, choices=AuditAction.choices)
    object_type = models.CharField(max_length=50, help_text="What it was done to: customer...")
    object_id = models.CharField(max_length=50, blank=True)
    summary = models.CharField(max_length=300)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["action", "-at"], name="audit_action_at"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {self.summary}"
