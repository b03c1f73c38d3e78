"""One root cause behind many tickets (a problem), what customers are told of it (a known
issue) and who asked to hear when it is fixed, and the bursts of like tickets that point
at one (a spike)."""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ProblemStatus(models.TextChoices):
    INVESTIGATING = "investigating", _("Investigating")
    IDENTIFIED = "identified", _("Cause identified")
    SOLVED = "solved", _("Solved")


OPEN_PROBLEM_STATUSES = (ProblemStatus.INVESTIGATING, ProblemStatus.IDENTIFIED)


class ProblemSource(models.TextChoices):
    AGENT = "agent", _("An agent")
    SPIKE = "spike", _("A spike of like tickets")
    MONITORING = "monitoring", _("Monitoring")


class Problem(models.Model):
    """One root cause; its incidents are the tickets linked to it (Ticket.problem)."""

    title = models.CharField(max_length=200)
    status = models.CharField(
        max_length=15, choices=ProblemStatus.choices, default=ProblemStatus.INVESTIGATING
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_problems",
    )
    # What customers may read (the known issue, the status page, the answer on solving).
    public_explanation = models.TextField(blank=True)
    product = models.ForeignKey(
        "tickets.Product",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="problems",
    )
    region = models.CharField(max_length=100, blank=True)
    source = models.CharField(
        max_length=12, choices=ProblemSource.choices, default=ProblemSource.AGENT
    )
    # What a monitoring system calls it (an alert's fingerprint or group key): its updates
    # find the problem again by it.
    external_key = models.CharField(max_length=200, blank=True)
    solution = models.TextField(blank=True)
    solved_at = models.DateTimeField(null=True, blank=True)
    solved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_key"],
                condition=~Q(external_key=""),
                name="problem_external_key_unique",
            )
        ]
        indexes = [models.Index(fields=["status", "-created_at"], name="problem_status_idx")]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    @property
    def reference(self) -> str:
        return f"PRB-{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_PROBLEM_STATUSES


class ProblemEventKind(models.TextChoices):
    CREATED = "created", _("Created")
    NOTE = "note", _("Internal note")
    CHANGED = "changed", _("Changed")
    LINKED = "linked", _("Tickets linked")
    UNLINKED = "unlinked", _("Ticket unlinked")
    PUBLISHED = "published", _("Known issue published")
    UNPUBLISHED = "unpublished", _("Known issue ended")
    MONITORING = "monitoring", _("Monitoring")
    SOLVED = "solved", _("Solved")


class ProblemEvent(models.Model):
    """A problem's history and its internal notes, oldest first."""

    problem = models.ForeignKey(Problem, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12, choices=ProblemEventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["problem", "created_at"], name="problem_event_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.text[:60]}"


class KnownIssue(models.Model):
    """What customers are told of a problem while it lasts: a banner on the help center,
    the contact form and the chat, tier 0's first answer, the status page."""

    problem = models.OneToOneField(Problem, on_delete=models.CASCADE, related_name="known_issue")
    title = models.CharField(max_length=200)
    summary = models.TextField()
    products = models.ManyToManyField("tickets.Product", blank=True, related_name="known_issues")
    # Where it is felt, as the services' regions are written ("Leeds", "North"); none: all.
    regions = models.JSONField(default=list, blank=True)
    expected_fix_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-published_at", "-id"]
        indexes = [models.Index(fields=["ended_at", "-published_at"], name="known_issue_idx")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_current(self) -> bool:
        return self.ended_at is None


class KnownIssueSubscriber(models.Model):
    """Someone who asked to be told when a known issue is fixed, without opening a ticket."""

    known_issue = models.ForeignKey(
        KnownIssue, on_delete=models.CASCADE, related_name="subscribers"
    )
    kind = models.CharField(max_length=10)  # a ContactKind: email or phone (by SMS)
    address = models.CharField(max_length=320)
    customer = models.ForeignKey(
        "tickets.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    notify_error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["known_issue", "kind", "address"], name="known_issue_subscriber_unique"
            )
        ]

    def __str__(self) -> str:
        return self.address


class Spike(models.Model):
    """More like tickets than usual in a short time: what they share and which they are."""

    # What the tickets share, as people read it ("words: internet, down", "Fibre in Leeds").
    label = models.CharField(max_length=300)
    key = models.CharField(max_length=300)  # the detector's bucket
    ticket_ids = models.JSONField(default=list)
    seen = models.PositiveIntegerField(help_text="Tickets in the window when it was noticed.")
    usual = models.FloatField(help_text="How many such tickets the window usually holds.")
    problem = models.ForeignKey(
        Problem, null=True, blank=True, on_delete=models.SET_NULL, related_name="spikes"
    )
    dismissed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["-created_at"], name="spike_created_idx")]

    def __str__(self) -> str:
        return self.label
