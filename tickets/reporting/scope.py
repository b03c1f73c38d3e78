"""What a report looks at: a period, cut into days or weeks, and the tickets' filters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.db.models.functions import TruncDay, TruncWeek
from django.utils.translation import gettext as _

from tickets.errors import InvalidInput
from tickets.ids import whole_number
from tickets.models import Channel, Priority, TicketMetrics

BUCKETS = {"day": TruncDay, "week": TruncWeek}
MAX_DAYS = 731


@dataclass(frozen=True)
class Scope:
    since: datetime
    until: datetime
    bucket: str = "day"
    channel: str = ""
    tier_level: int | None = None
    priority: str = ""
    organization_id: int | None = None
    agent_id: int | None = None

    def __post_init__(self) -> None:
        if self.until <= self.since:
            raise InvalidInput(_("The period must end after it starts."), code="invalid_period")
        if self.until - self.since > timedelta(days=MAX_DAYS):
            raise InvalidInput(_("Reports cover at most two years."), code="period_too_long")
        if self.bucket not in BUCKETS:
            raise InvalidInput(_("Group by day or week."), code="invalid_bucket")
        if self.channel and self.channel not in Channel.values:
            raise InvalidInput(
                _("Unknown channel %(channel)r.") % {"channel": self.channel},
                code="invalid_channel",
            )
        if self.priority and self.priority not in Priority.values:
            raise InvalidInput(
                _("Unknown priority %(priority)r.") % {"priority": self.priority},
                code="invalid_priority",
            )
        if self.tier_level is not None and not 0 <= self.tier_level <= 3:
            raise InvalidInput(_("Tiers are 0 to 3."), code="invalid_tier")

    def dimensions(self, prefix: str = "") -> Q:
        """The filters as a condition on TicketMetrics (through `prefix` from another model)."""
        conditions: dict[str, Any] = {}
        if self.channel:
            conditions["channel"] = self.channel
        if self.tier_level is not None:
            conditions["tier_level"] = self.tier_level
        if self.priority:
            conditions["priority"] = self.priority
        if self.organization_id is not None:
            conditions["organization_id"] = self.organization_id
        if self.agent_id is not None:
            conditions["assignee_id"] = self.agent_id
        return Q(**{f"{prefix}{name}": value for name, value in conditions.items()})

    def has_dimensions(self) -> bool:
        return bool(self.dimensions())

    def of_tickets(self, column: str = "ticket_id") -> Q:
        """Rows of another table (replies, SLA clocks, tier moves, events) whose ticket the
        filters select, merged ones never. A semi-join on the metrics, not a join through
        the wide ticket table, which PostgreSQL cannot leave out; without filters, only the
        few merged tickets are looked up (a small partial index)."""
        if not self.has_dimensions():
            merged = TicketMetrics.objects.filter(merged=True).values("ticket_id")
            return ~Q(**{f"{column}__in": merged})
        return Q(**{f"{column}__in": self.tickets().values("ticket_id")})

    def tickets(self) -> QuerySet[TicketMetrics]:
        """The metrics of the tickets the filters select (merged-away ones never count)."""
        return TicketMetrics.objects.filter(self.dimensions(), merged=False)

    def within(self, column: str) -> Q:
        return Q(**{f"{column}__gte": self.since, f"{column}__lt": self.until})

    def trunc(self, column: str) -> Any:
        return BUCKETS[self.bucket](column)

    def buckets(self) -> list[datetime]:
        """The start of each day or week of the period, as the database truncates them."""
        step = timedelta(days=1 if self.bucket == "day" else 7)
        start = self.since.replace(hour=0, minute=0, second=0, microsecond=0)
        if self.bucket == "week":
            start -= timedelta(days=start.weekday())
        starts = []
        while start < self.until:
            starts.append(start)
            start += step
        return starts

    def query(self) -> dict[str, str]:
        """The scope as query parameters (links to the tickets behind a number, CSV)."""
        values = {
            "since": self.since.date().isoformat(),
            "until": (self.until - timedelta(days=1)).date().isoformat(),
            "bucket": self.bucket,
            "channel": self.channel,
            "tier": "" if self.tier_level is None else str(self.tier_level),
            "priority": self.priority,
            "organization": "" if self.organization_id is None else str(self.organization_id),
            "agent": "" if self.agent_id is None else str(self.agent_id),
        }
        return {name: value for name, value in values.items() if value}


DEFAULT_DAYS = 30
EARLIEST, LATEST = date(1900, 1, 1), date(9000, 12, 31)


def scope_from(params: Mapping[str, str], now: datetime) -> Scope:
    """A scope from query parameters (as `Scope.query` writes them): `since` and `until`
    are dates, both days included; the last 30 days by default."""
    zone = now.tzinfo
    today = now.date()
    until_day = _date(params.get("until"), "until") or today
    since_day = _date(params.get("since"), "since") or until_day - timedelta(days=DEFAULT_DAYS - 1)
    return Scope(
        since=datetime.combine(since_day, time(), zone),
        until=datetime.combine(until_day + timedelta(days=1), time(), zone),
        bucket=params.get("bucket") or "day",
        channel=params.get("channel", ""),
        tier_level=_number(params.get("tier"), "tier"),
        priority=params.get("priority", ""),
        organization_id=_number(params.get("organization"), "organization"),
        agent_id=_number(params.get("agent"), "agent"),
    )


def _date(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            _("%(name)s must be a date like 2026-01-31.") % {"name": name}, code="invalid_date"
        ) from None
    if not EARLIEST <= day <= LATEST:  # the period's ends are computed a day or a week away
        raise InvalidInput(
            _("%(name)s must fall between %(earliest)s and %(latest)s.")
            % {"name": name, "earliest": EARLIEST, "latest": LATEST},
            code="invalid_date",
        )
    return day


def _number(value: str | None, name: str) -> int | None:
    if value in (None, ""):
        return None
    number = whole_number(value)
    if number is None:
        raise InvalidInput(_("%(name)s must be a number.") % {"name": name}, code=f"invalid_{name}")
    return number
