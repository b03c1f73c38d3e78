"""Count the reports' daily figures again for a range of days (tickets.reporting.rollups)."""

from datetime import date, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from tickets.reporting import rollups


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date like 2026-01-31.") from None


class Command(BaseCommand):
    help = (
        "Count the reports' daily figures again from the tickets, for the days from --since to "
        "--until (both included; by default the last two years up to today), in the desk's "
        "time zone, then the days changes have marked since. The scheduled task keeps them "
        "up to date; this rebuilds a range at once (after an import, or a change of TIME_ZONE)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", type=_day, help="First day (YYYY-MM-DD).")
        parser.add_argument("--until", type=_day, help="Last day (YYYY-MM-DD).")

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        zone = timezone.get_default_timezone()
        until = options["until"] or timezone.localtime(now, zone).date()
        since = options["since"] or until - timedelta(days=rollups.KEPT_DAYS)
        if since > until:
            raise CommandError("--since must not be after --until.")
        days = [since + timedelta(days=n) for n in range((until - since).days + 1)]
        counted = rollups.refresh(now=now, zone=zone, fill_in=False, also=days)
        self.stdout.write(f"Daily report figures counted for {counted} day(s).")
