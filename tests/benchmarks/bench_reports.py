"""The reports on the `reports` data set (1,000,000 tickets over the last year at scale 1;
tests/benchmarks/data.py, build_reports), issue 23: "each report page over 1,000,000
tickets and a year of history <= 300 ms p50".

Measured through Django's test Client, signed in as an admin, on the real middleware,
views and templates (DEBUG off), each door over two periods: the default (the last 30
days, no parameters: `_30d`) and a year by week (`?since=<364 days ago>&bucket=week`:
`_year`):

- report_api_<report>_<period>: /api/v1/reports/<report>/ (JSON) for overview,
  responsiveness, sla, satisfaction, tiers and agents;
- report_page_<report>_<period>: /agent/reports/<report>/ (the workspace's pages), the same
  reports, and report_page_tickets_<period>: the drill-down /agent/reports/tickets/ behind
  a number (?metric=created).

Whole past days are read from the daily counts (tickets.reporting.rollups): before the doors
the run counts every day of the last two years afresh (report_rollup_count_all, as
`manage.py rollup_reports` does) and times the scheduled task after a change to 1,000
tickets of one past day (report_rollup_refresh). BENCH_REPORTS_FROM=tickets measures the
doors with no day counted instead: every figure from the tickets, as before the counts.

Every door must answer 200. Each metric carries the number of SQL statements of one request
(`queries`), and the data set's age: it is built once and kept, relative to the day it was
built, so the last 30 days thin out as it ages (drop the database to rebuild it).
"""

import json
import os
import time
import warnings
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

from tests.benchmarks import data
from tests.benchmarks.bench_queue import _metric, _queries, _timed
from tests.benchmarks.harness import Context, Metric

REPEAT = 20
# Fewer samples of a door slower than this (ms), so that `make bench` stays within its 20
# minutes: a year's period, whose p50 is far from the target anyway.
SLOW_MS = 500
SLOW_REPEAT = 7
TARGET_MS = 300
REPORTS = ("overview", "responsiveness", "sla", "satisfaction", "tiers", "agents")


def run(ctx: Context) -> Iterator[Metric]:
    from django.conf import settings
    from django.test.utils import override_settings

    # As bench_queue: plain static URLs (no manifest without collectstatic).
    plain_static = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # The API's per-user rate (240 a minute) would answer 429 within a few doors; the
    # throttle still runs (its cache round trip is part of a request), at a rate never met.
    framework: dict[str, Any] = settings.REST_FRAMEWORK
    rates = {**framework["DEFAULT_THROTTLE_RATES"], "user": "1000000/minute"}
    api = {**framework, "DEFAULT_THROTTLE_RATES": rates}
    warnings.filterwarnings("ignore", "No directory at", UserWarning)
    with (
        data.own_database(ctx, "reports", data.build_reports),
        override_settings(STORAGES=plain_static, REST_FRAMEWORK=api),
    ):
        yield from _measure(ctx)


def _doors() -> list[tuple[str, str]]:
    """(metric name stem, URL without the period)."""
    doors = [(f"report_api_{name}", f"/api/v1/reports/{name}/") for name in REPORTS]
    doors += [(f"report_page_{name}", f"/agent/reports/{name}/") for name in REPORTS]
    doors.append(("report_page_tickets", "/agent/reports/tickets/?metric=created"))
    return doors


def _with(url: str, query: str) -> str:
    if not query:
        return url
    return f"{url}{'&' if '?' in url else '?'}{query}"


def _measure(ctx: Context) -> Iterator[Metric]:
    from django.contrib.auth.models import User
    from django.core.cache import cache
    from django.test import Client
    from django.utils import timezone

    from tickets import queues
    from tickets.models import TicketMetrics

    cache.delete(queues._DESK_COUNTS_KEY)  # counts another database left in the shared cache
    yield from _daily_counts(ctx, from_tickets=os.environ.get("BENCH_REPORTS_FROM") == "tickets")
    admin = User.objects.get(username=data.BENCH_AGENT)
    client = Client()
    client.force_login(admin)
    today = timezone.localdate()
    newest = TicketMetrics.objects.order_by("-created_at").values_list("created_at", flat=True)
    age_days = (timezone.now() - newest[0]).days if newest else None
    if age_days:
        ctx.log(f"the data set's newest ticket is {age_days} days old")
    since_year = today - timedelta(days=364)
    periods = {
        "30d": ("", today - timedelta(days=29)),
        "year": (f"since={since_year.isoformat()}&bucket=week", since_year),
    }
    common = {
        "tickets": TicketMetrics.objects.count(),
        "data_age_days": age_days,
        "scale": ctx.scale,
    }
    for stem, url in _doors():
        for period, (query, since) in periods.items():
            full = _with(url, query)
            name = f"{stem}_{period}"
            started = time.perf_counter()
            response = client.get(full)
            first_ms = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, (full, response.status_code)
            _check(full, response)
            repeat = REPEAT if first_ms < SLOW_MS else SLOW_REPEAT
            samples = _timed(_getter(client, full), repeat=repeat, warmup=2)
            yield _metric(
                name,
                samples,
                TARGET_MS,
                queries=_queries(_getter(client, full)),
                url=full,
                since=since.isoformat(),
                first_ms=round(first_ms, 3),
                bytes=len(response.content),
                **common,
            )


def _daily_counts(ctx: Context, *, from_tickets: bool) -> Iterator[Metric]:
    """Count every day afresh (timed), then time the task after a change to one past day's
    tickets; or, from_tickets, leave no day counted."""
    from django.db import connection
    from django.utils import timezone

    from tickets.models import RollupDay, RollupDirty, TicketMetrics
    from tickets.reporting import rollups

    if from_tickets:
        RollupDay.objects.all().delete()
        ctx.log("no day counted: every figure from the tickets")
        return
    now = timezone.now()
    zone = timezone.get_default_timezone()
    today = timezone.localdate(now)
    days = [today - timedelta(days=n) for n in range(1, rollups.KEPT_DAYS + 1)]
    RollupDirty.objects.all().delete()
    started = time.perf_counter()
    rollups.count_days(days, zone=zone, now=now)
    took = (time.perf_counter() - started) * 1000
    yield Metric("report_rollup_count_all", took, "ms", len(days), {"scale": ctx.scale})
    with connection.cursor() as cursor:  # as autovacuum does after a table's first rows
        cursor.execute("ANALYZE tickets_dailyticketcount, tickets_dailytargetcount")
    # A change to 1,000 tickets of one past day (their priority, and back): the trigger
    # marks the day, the task counts it again.
    day = today - timedelta(days=100)
    start = rollups._start(day, zone)
    kept = list(
        TicketMetrics.objects.filter(
            created_at__gte=start, created_at__lt=start + timedelta(days=1)
        )
        .order_by("pk")
        .values_list("pk", "priority")[:1000]
    )
    ids = [pk for pk, _ in kept]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE tickets_ticketmetrics SET priority = 'urgent' WHERE ticket_id = ANY(%s)", [ids]
        )
        cursor.execute(  # and back: the data set stays as built
            "UPDATE tickets_ticketmetrics m SET priority = v.priority"
            " FROM unnest(%s::bigint[], %s::text[]) AS v(id, priority) WHERE m.ticket_id = v.id",
            [ids, [priority for _, priority in kept]],
        )
    marks = RollupDirty.objects.count()
    started = time.perf_counter()
    counted = rollups.refresh(now=now, zone=zone)
    took = (time.perf_counter() - started) * 1000
    yield Metric(
        "report_rollup_refresh", took, "ms", counted, {"marks": marks, "tickets": len(ids)}
    )


def _getter(client: Any, url: str) -> Callable[[], Any]:
    def get() -> Any:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response

    return get


def _check(url: str, response: Any) -> None:
    """A JSON report is an object (not an error document); a page is HTML."""
    if url.startswith("/api/"):
        body = json.loads(response.content)
        assert isinstance(body, dict) and "scope" in body, (url, str(body)[:200])
