"""Ticket metrics kept at write time, for the reports (imported by tickets.models).

The services that change a ticket update its metrics in the same transaction
(tickets/metrics.py decides what each moment changes); `manage.py backfill_metrics` computes
them from the history of tickets that have none. Definitions: docs/reports.md.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


def _a_person() -> models.ForeignKey:
    """A staff member the figures name (assignee, first to reply): a user deleted later
    leaves the figure without a name, and the figures never hold up deleting users."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )


class TicketMetrics(models.Model):
    """One ticket's figures, with the dimensions reports filter on copied beside them, so a
    report reads one narrow table (the ticket table is wide)."""

    ticket = models.OneToOneField(
        "tickets.Ticket", primary_key=True, on_delete=models.CASCADE, related_name="metrics"
    )
    # Dimensions, as the ticket has them now.
    created_at = models.DateTimeField()
    channel = models.CharField(max_length=10)
    priority = models.CharField(max_length=10)
    tier_level = models.PositiveSmallIntegerField()
    organization = models.ForeignKey(
        "tickets.Organization",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    assignee = _a_person()
    # Merged into another ticket: its requests and work count there.
    merged = models.BooleanField(default=False)
    first_tier = models.PositiveSmallIntegerField()

    # Replies. Times are calendar minutes and business minutes of the ticket's SLA calendar.
    replies = models.PositiveIntegerField(default=0)
    first_reply_at = models.DateTimeField(null=True, blank=True)
    first_reply_minutes = models.PositiveIntegerField(null=True, blank=True)
    first_reply_business_minutes = models.PositiveIntegerField(null=True, blank=True)
    first_reply_by = _a_person()

    # Status: when it was last solved (empty while it is not), and how often it came back.
    solved_at = models.DateTimeField(null=True, blank=True)
    first_solved_at = models.DateTimeField(null=True, blank=True)
    resolution_minutes = models.PositiveIntegerField(null=True, blank=True)
    resolution_business_minutes = models.PositiveIntegerField(null=True, blank=True)
    solved_tier = models.PositiveSmallIntegerField(null=True, blank=True)
    reopens = models.PositiveIntegerField(default=0)
    # Business minutes spent waiting on the customer and on hold, and since when it waits now.
    waiting_minutes = models.PositiveIntegerField(default=0)
    on_hold_minutes = models.PositiveIntegerField(default=0)
    paused_since = models.DateTimeField(null=True, blank=True)

    # Tiers: moves up and down, and business minutes spent in each tier.
    escalations = models.PositiveIntegerField(default=0)
    deescalations = models.PositiveIntegerField(default=0)
    tier_since = models.DateTimeField()
    tier0_minutes = models.PositiveIntegerField(default=0)
    tier1_minutes = models.PositiveIntegerField(default=0)
    tier2_minutes = models.PositiveIntegerField(default=0)
    tier3_minutes = models.PositiveIntegerField(default=0)

    # The customer's latest rating (1-5).
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    rated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "ticket metrics"
        indexes = [
            # Period ranges: created, solved, first replied, rated.
            models.Index(fields=["created_at"], name="metrics_created_idx"),
            models.Index(
                fields=["solved_at"],
                condition=Q(solved_at__isnull=False),
                name="metrics_solved_idx",
            ),
            models.Index(
                fields=["first_reply_at"],
                condition=Q(first_reply_at__isnull=False),
                name="metrics_first_reply_idx",
            ),
            models.Index(
                fields=["rated_at"], condition=Q(rated_at__isnull=False), name="metrics_rated_idx"
            ),
            # The few merged tickets, left out of reports' other tables (Scope.of_tickets).
            models.Index(fields=["ticket"], condition=Q(merged=True), name="metrics_merged_idx"),
            # The backlog: tickets not solved, by age.
            models.Index(
                fields=["created_at"],
                include=["assignee"],  # agents' open load now, from the index alone
                condition=Q(solved_at__isnull=True, merged=False),
                name="metrics_unsolved_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Metrics of ticket {self.ticket_id}"

    def tier_minutes(self, level: int) -> int:
        return int(getattr(self, f"tier{level}_minutes"))


class TierMove(models.Model):
    """A ticket moved between tiers: the tier-flow report's edges."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField()
    from_level = models.PositiveSmallIntegerField()
    to_level = models.PositiveSmallIntegerField()
    reason = models.CharField(max_length=200, blank=True)
    # A person moved it (not routing or an SLA rule).
    by_person = models.BooleanField(default=False)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["at", "from_level", "to_level"], name="tier_move_at_idx")]

    def __str__(self) -> str:
        return f"Ticket {self.ticket_id}: tier {self.from_level} to {self.to_level}"


class DailyTicketCount(models.Model):
    """Tickets created and solved on one day of a time zone, per value of the filters its
    grain keeps: the overview's figures over a long period, without reading a row per
    ticket (tickets/reporting/rollups.py writes them, from TicketMetrics alone)."""

    class Grain(models.TextChoices):
        # Channel, tier and priority: the overview's totals, series and breakdowns, filtered
        # by any of them (at most 96 rows a day).
        DIMENSIONS = "dimensions"
        # Organization alone: the overview's organizations, unfiltered.
        ORGANIZATION = "organization"

    day = models.DateField()
    time_zone = models.CharField(max_length=64)
    grain = models.CharField(max_length=12, choices=Grain.choices)
    channel = models.CharField(max_length=10, blank=True)
    tier_level = models.PositiveSmallIntegerField(null=True, blank=True)
    priority = models.CharField(max_length=10, blank=True)
    # A plain id: an organization deleted later leaves its tickets' figures (SET_NULL on
    # the metrics marks their days to be counted again).
    organization_id = models.BigIntegerField(null=True, blank=True)
    created = models.PositiveIntegerField(default=0)
    solved = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["time_zone", "grain", "day"], name="daily_count_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.grain}: {self.created} created, {self.solved} solved"


class DailyTargetCount(models.Model):
    """SLA targets that started on one day of a time zone, by how they stand (met, breached,
    running), per policy and target, and per channel, tier and priority of their tickets
    (`Grain.DIMENSIONS`) or not (`Grain.TOTAL`): the SLA report over a long period."""

    class Grain(models.TextChoices):
        TOTAL = "total"  # policy and target only: the SLA report unfiltered
        DIMENSIONS = "dimensions"  # and channel, tier and priority: filtered by them

    day = models.DateField()
    time_zone = models.CharField(max_length=64)
    grain = models.CharField(max_length=12, choices=Grain.choices)
    policy_id = models.BigIntegerField(null=True, blank=True)  # a plain id, as on the clocks
    kind = models.CharField(max_length=20)
    channel = models.CharField(max_length=10, blank=True)
    tier_level = models.PositiveSmallIntegerField(null=True, blank=True)
    priority = models.CharField(max_length=10, blank=True)
    met = models.PositiveIntegerField(default=0)
    breached = models.PositiveIntegerField(default=0)
    running = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["time_zone", "grain", "day"], name="daily_target_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.kind}: {self.met} met, {self.breached} breached"


class RollupDay(models.Model):
    """A day whose DailyTicketCount and DailyTargetCount rows are complete, in this time
    zone: the reports read it from them unless a change to its tickets has not been
    counted yet (RollupDirty)."""

    day = models.DateField()
    time_zone = models.CharField(max_length=64)
    counted_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["time_zone", "day"], name="rollup_day_unique")
        ]

    def __str__(self) -> str:
        return f"{self.day} ({self.time_zone})"


class RollupDirty(models.Model):
    """A moment whose day's counts a change to TicketMetrics made stale: written by a
    database trigger on that table (migration 0045), so every door that changes the figures
    (a service's save, a bulk UPDATE, a cascade DELETE, the backfill) marks it, and taken
    away by the task that counts the day again."""

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(db_index=True)  # a report reads the marks in its period

    def __str__(self) -> str:
        return f"Counts stale at {self.at}"
