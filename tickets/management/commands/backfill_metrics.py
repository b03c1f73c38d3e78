"""Compute the report metrics of tickets written before they existed (or of all tickets)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tickets.services.metrics_backfill import backfill_metrics


class Command(BaseCommand):
    help = (
        "Compute ticket metrics from history for tickets that have none (after upgrading), "
        "or for every ticket with --all."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--all", action="store_true", help="Recompute every ticket's metrics from history."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        done = backfill_metrics(everything=options["all"])
        self.stdout.write(f"Metrics computed for {done} ticket(s).")
