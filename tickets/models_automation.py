"""Rules admins write without a developer: triggers (when something happens), automations
(when time passes) and outgoing webhooks (telling other systems). Their conditions and
actions are data (tickets.automation.rules reads them); each firing is recorded, so a
rule acts at most once per event, or once per ticket and condition."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


class Rule(models.Model):
    """What triggers and automations have alike: a name, an order, conditions and actions
    (tickets.automation.rules says what they mean)."""

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    # Rules run in this order; a later one sees what an earlier one changed.
    position = models.PositiveIntegerField(default=0)
    conditions = models.JSONField(default=dict, blank=True)
    actions = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class Trigger(Rule):
    """When one of `events` happens to a ticket and the conditions hold, do the actions."""

    events = models.JSONField(default=list, help_text="Event names (tickets.automation.rules).")

    class Meta(Rule.Meta):
        pass


class TriggerFiring(models.Model):
    """A trigger acted on an event: at most once (the constraint makes a re-run harmless)."""

    trigger = models.ForeignKey(Trigger, on_delete=models.CASCADE, related_name="firings")
    event = models.ForeignKey("tickets.TicketEvent", on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["trigger", "event"], name="trigger_once_per_event")
        ]

    def __str__(self) -> str:
        return f"trigger {self.trigger_id} on event {self.event_id}"


class Automation(Rule):
    """When a ticket has been in a state for a while (and the conditions hold), do the actions;
    once per ticket for each time it enters that state."""

    # What the time counts from (tickets.automation.timed.ANCHORS) and how long.
    since = models.CharField(max_length=30)
    hours = models.DecimalField(max_digits=8, decimal_places=2)
    business_hours = models.BooleanField(
        default=False, help_text="Count only the hours of the ticket's SLA calendar."
    )
    # Its own selection of due tickets failed (a stored condition it cannot read): since
    # when, and what (the error's type), shown on its page until a run selects again.
    failing_since = models.DateTimeField(null=True, blank=True)
    failure = models.CharField(max_length=500, blank=True)

    class Meta(Rule.Meta):
        pass


class AutomationFiring(models.Model):
    """An automation acted on a ticket for the moment its clock started (`anchor_at`)."""

    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="firings")
    # Indexed first in the constraint's index: the sweep asks it, ticket by ticket, whether
    # the automation acted already, without reading the table.
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    anchor_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "automation", "anchor_at"], name="automation_once_per_anchor"
            )
        ]

    def __str__(self) -> str:
        return f"automation {self.automation_id} on ticket {self.ticket_id}"


class WebhookFormat(models.TextChoices):
    HELPDESK = "helpdesk", "Signed JSON (this help desk's payload)"
    SLACK = "slack", "Slack incoming webhook"
    TEAMS = "teams", "Microsoft Teams incoming webhook"


class Webhook(models.Model):
    """An address other systems listen on: sent the events it subscribes to, and what
    triggers send it."""

    name = models.CharField(max_length=120, unique=True)
    url = models.URLField(max_length=500)
    format = models.CharField(
        max_length=10, choices=WebhookFormat.choices, default=WebhookFormat.HELPDESK
    )
    secret = models.CharField(max_length=100, default=_new_secret)
    events = models.JSONField(default=list, blank=True, help_text="Subscribed event types.")
    active = models.BooleanField(default=True)
    allow_private_network = models.BooleanField(
        default=False,
        help_text="Allow an address on a private or loopback network (a service of your own).",
    )
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One body for one webhook, sent until it is taken (2xx) or given up on. Its id is sent
    as a header, so a receiver can tell a retry from a new delivery."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event_type = models.CharField(max_length=40)
    # The ticket event it tells of, when a subscription sent it (one delivery per event).
    source_event = models.ForeignKey(
        "tickets.TicketEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField()
    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A worker sending it holds it until then (a lost worker's claim runs out).
    claimed_until = models.DateTimeField(null=True, blank=True)
    redelivery_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="redeliveries"
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The sender's sweep: what is pending and due.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(state="pending"),
                name="webhook_delivery_due_idx",
            ),
            models.Index(fields=["webhook", "-created_at"], name="webhook_delivery_log_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["webhook", "source_event"],
                condition=models.Q(source_event__isnull=False, redelivery_of__isnull=True),
                name="webhook_once_per_event",
            )
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} ({self.event_type}) to webhook {self.webhook_id}"


class WebhookAttempt(models.Model):
    """One try at a delivery: the delivery log admins read."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="tries")
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"attempt at {self.at:%Y-%m-%d %H:%M:%S}: {self.status_code or self.error}"
