"""SLA configuration and the clocks it runs on a ticket (imported by tickets.models)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets import placeholders


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class BusinessCalendar(models.Model):
    """When SLA time runs: opening hours in a time zone, minus holidays (or 24/7)."""

    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(
        max_length=64, default="UTC", help_text="IANA name, e.g. Europe/London."
    )
    always_open = models.BooleanField(default=False, help_text="24/7: every minute counts.")
    holiday_country = models.CharField(
        max_length=8, blank=True, help_text="ISO country code for public holidays (e.g. GB, US)."
    )
    holiday_subdivision = models.CharField(
        max_length=16, blank=True, help_text="State or region code, e.g. CA or ENG."
    )

    def __str__(self) -> str:
        return self.name


class OpeningHours(models.Model):
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start = models.TimeField()
    end = models.TimeField(help_text="00:00 means midnight at the end of the day.")

    class Meta:
        ordering = ["weekday", "start"]
        verbose_name_plural = "opening hours"

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}-{self.end:%H:%M}"


class CustomHoliday(models.Model):
    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="custom_holidays"
    )
    date = models.DateField()
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="holiday_unique_date")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class SLAAction(models.TextChoices):
    NOTIFY_ASSIGNEE = "notify_assignee", "Notify the assignee"
    NOTIFY_TIER = "notify_tier", "Notify the agents of the ticket's tier"
    RAISE_PRIORITY = "raise_priority", "Raise the priority one step"
    ESCALATE = "escalate", "Escalate to the next tier"


class SLAPolicy(models.Model):
    """Targets for tickets it matches; the first matching policy by position wins."""

    name = models.CharField(max_length=100, unique=True)
    position = models.PositiveIntegerField(default=100, help_text="Lower is tried first.")
    is_active = models.BooleanField(default=True)
    is_default = models.BooleanField(
        default=False, help_text="Applies when no other policy matches."
    )
    # Empty lists match everything.
    priorities = models.JSONField(default=list, blank=True, help_text='e.g. ["high", "urgent"]')
    tier_levels = models.JSONField(default=list, blank=True, help_text="e.g. [1, 2]")
    channels = models.JSONField(default=list, blank=True, help_text='e.g. ["email", "sms"]')
    organization = models.ForeignKey(
        "tickets.Organization", null=True, blank=True, on_delete=models.CASCADE
    )
    first_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    next_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    resolution_minutes = models.PositiveIntegerField(null=True, blank=True)
    calendar = models.ForeignKey(
        BusinessCalendar,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="Empty: 24/7.",
    )
    warning_percent = models.PositiveSmallIntegerField(
        default=80, help_text="Warn when this share of a target has passed."
    )
    pause_on_hold = models.BooleanField(
        default=True, help_text="Clocks also pause while the ticket is on hold."
    )
    warning_actions = models.JSONField(default=list, blank=True)
    breach_actions = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_policy"
            )
        ]

    def __str__(self) -> str:
        return self.name


class ClockKind(models.TextChoices):
    FIRST_RESPONSE = "first_response", _("First response")
    NEXT_RESPONSE = "next_response", _("Next response")
    RESOLUTION = "resolution", _("Resolution")


class SLAClock(models.Model):
    """One running target of a ticket. Times count in the policy's business calendar."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="clocks")
    kind = models.CharField(max_length=20, choices=ClockKind.choices)
    # Next-response clocks restart after each customer message; each run is a cycle.
    cycle = models.PositiveIntegerField(default=1)
    policy = models.ForeignKey(SLAPolicy, null=True, on_delete=models.SET_NULL)
    target_minutes = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    # [[start, end or null], ...] as ISO strings: periods waiting on the customer or on hold.
    pauses = models.JSONField(default=list, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    warning_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    # The target was missed: its breach fired, or it stopped after it was due. A stopped
    # clock that was not breached met its target.
    breached = models.BooleanField(default=False, db_default=False)  # also for raw inserts

    class Meta:
        ordering = ["ticket", "kind", "cycle"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "kind", "cycle"], name="clock_unique_cycle")
        ]
        # The SLA report: targets started over a period.
        indexes = [
            # The SLA report counts each period's targets by outcome, from the index alone.
            models.Index(
                fields=["started_at"],
                include=["ticket", "policy", "kind", "stopped_at", "breached"],
                name="clock_started_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of ticket {self.ticket_id}"


class FiringKind(models.TextChoices):
    WARNING = "warning", "Warning"
    BREACH = "breach", "Breach"


class SLAFiring(models.Model):
    """A warning or breach that fired; the constraint makes each fire once per clock."""

    clock = models.ForeignKey(SLAClock, on_delete=models.CASCADE, related_name="firings")
    kind = models.CharField(max_length=10, choices=FiringKind.choices)
    fired_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clock", "kind"], name="firing_once_per_clock")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of clock {self.clock_id}"


class Notification(models.Model):
    """Something an agent should know: stored, with an unread state."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=30)
    text = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["user", "-created_at"],
                condition=Q(read_at__isnull=True),
                name="notification_unread_idx",
            )
        ]

    def __str__(self) -> str:
        return self.text


class NoticeKind(models.TextChoices):
    RECEIVED = "received", "Ticket received"
    ESCALATED = "escalated", "Ticket escalated"
    RESOLVED = "resolved", "Ticket resolved"


class CustomerNotice(models.Model):
    """What the customer is told automatically, on their channel (tickets.placeholders)."""

    kind = models.CharField(max_length=20, choices=NoticeKind.choices, unique=True)
    enabled = models.BooleanField(default=True)
    subject = models.CharField(
        max_length=200,
        help_text="Email subject (SMS has none). Placeholders as in the text.",
    )
    text = models.TextField(
        help_text=f"Placeholders: {placeholders.listing(placeholders.IN_NOTICES)}."
    )

    def __str__(self) -> str:
        return self.get_kind_display()

    def wording(self, language: str) -> tuple[str, str]:
        """(subject, text) in this language when the notice has it, else the notice's own.
        Reads the prefetched translations (tickets.services.desk_setup)."""
        for translation in self.translations.all():
            if translation.language == language:
                return translation.subject, translation.text
        return self.subject, self.text


class CustomerNoticeTranslation(models.Model):
    """A customer notice in another language, sent to customers who read that language."""

    notice = models.ForeignKey(
        CustomerNotice, on_delete=models.CASCADE, related_name="translations"
    )
    language = models.CharField(max_length=10, choices=settings.LANGUAGES)
    subject = models.CharField(max_length=200, help_text="Email subject (SMS has none).")
    text = models.TextField(help_text="The same placeholders as the notice's own text.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["notice", "language"], name="customernoticetranslation_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.notice} ({self.language})"
