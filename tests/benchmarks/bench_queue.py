"""The agent workspace on the `tickets` data set (1,000,000 tickets at scale 1).

Measured through Django's test Client, signed in as an agent of tiers 1 and 2, on the real
middleware, views and templates (DEBUG off):

- queue_first_page: /agent/queue/tier-1/, the first 50 "tier 1, open, by SLA deadline".
- queue_deep_page: page 1,000 of the same view (scaled), by its `after=` keyset cursor.
- queue_counts: tickets.queues.queue_counts, the sidebar's per-view counts, all views.
- ticket_page: /agent/tickets/<id>/ of a ticket with 200 messages and 100 events.
- ticket_page_short: the same page for the latest open tier-1 ticket (a message or two).

Each metric carries the number of SQL queries of one request; the page metrics also the
queries of a cheaper case (a 2-message ticket, the second page), to show they are constant.
"""

import os
import re
import time
import warnings
from collections.abc import Iterator
from html import unescape
from typing import Any

from tests.benchmarks import data
from tests.benchmarks.harness import Context, Metric, p50, percentile

REPEAT = 30
DEEP_PAGE = 1000
# The ticket page, p50 (issue 19): a short ticket, and one of 200 messages.
SHORT_TICKET_TARGET_MS = 12
LONG_TICKET_TARGET_MS = 25


def run(ctx: Context) -> Iterator[Metric]:
    from django.conf import settings
    from django.test.utils import override_settings

    # Without DEBUG, static URLs come from the manifest that `collectstatic` writes when
    # deploying; like the tests, the benchmark does not collect and uses plain static URLs.
    plain_static = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    warnings.filterwarnings("ignore", "No directory at", UserWarning)
    with (
        data.own_database(ctx, "tickets", data.build_tickets),
        override_settings(STORAGES=plain_static),
    ):
        yield from _measure(ctx)


def _next_link(html: str) -> str:
    """The query string of the page's "Next page" link."""
    found = re.search(r'rel="next" href="([^"]+)"', html)
    assert found is not None, "no next page"
    return unescape(found.group(1))


def _queries(action: Any) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        action()
    return len(captured)


def _timed(action: Any, *, repeat: int = REPEAT, warmup: int = 3) -> tuple[list[float], float]:
    """Wall-clock samples (ms) of `action`, and the median CPU time this process spent in it
    (ms): the share of a sample that is Python, which the other benchmarks running on the
    same two cores do not inflate as much as the wall clock."""
    for _ in range(warmup):
        action()
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        action()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return walls, p50(cpus)


def _metric(name: str, timed: tuple[list[float], float], target: float, **extra: Any) -> Metric:
    samples, cpu = timed
    return Metric(
        name,
        p50(samples),
        "ms",
        len(samples),
        {
            "p90": round(percentile(samples, 0.9), 3),
            "cpu_ms_p50": round(cpu, 3),
            "target_ms": target,
            "load_1min": round(os.getloadavg()[0], 2),
            **extra,
        },
    )


def _measure(ctx: Context) -> Iterator[Metric]:
    from django.contrib.auth.models import User
    from django.core.cache import cache
    from django.test import Client
    from django.utils import timezone

    from tickets import queues, selectors
    from tickets.models import Message, Ticket

    cache.delete(queues._DESK_COUNTS_KEY)  # counts another database left in the shared cache
    agent = User.objects.get(username=data.BENCH_AGENT)
    client = Client()
    client.force_login(agent)
    tickets = Ticket.objects.count()

    def get(url: str) -> Any:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response

    # The first page.
    first = "/agent/queue/tier-1/"
    samples = _timed(lambda: get(first))
    second = first + _next_link(get(first).content.decode())

    def recounted() -> None:  # as after any ticket changed: the desk's counts computed again
        cache.delete(queues._DESK_COUNTS_KEY)
        get(first)

    yield _metric(
        "queue_first_page",
        samples,
        30,
        p50_counts_recomputed=round(p50(_timed(recounted, repeat=10)[0]), 3),
        queries=_queries(lambda: get(first)),
        queries_page_2=_queries(lambda: get(second)),
        tickets=tickets,
        scale=ctx.scale,
    )

    # Page 1,000: its cursor is the (deadline, id) of the last ticket of page 999.
    view = queues.queue_tickets(queues.QueueQuery(view="tier-1"), user=agent, now=timezone.now())
    assert view is not None
    in_view = view.count()
    page = min(ctx.scaled(DEEP_PAGE), in_view // queues.PAGE_SIZE)
    due, last_id = view.values_list("sla_due_at", "pk")[(page - 1) * queues.PAGE_SIZE - 1]
    deep = f"{first}?after={queues._encode([due.isoformat() if due else None, last_id])}"
    rows = get(deep).content.decode().count('<tr data-ticket="')
    samples = _timed(lambda: get(deep))
    yield _metric(
        "queue_deep_page",
        samples,
        40,
        page=page,
        rows=rows,
        tickets_in_view=in_view,
        queries=_queries(lambda: get(deep)),
        tickets=tickets,
        scale=ctx.scale,
    )

    # The sidebar's counts, every view.
    tiers = list(selectors.tier_list(agents=False))  # as the sidebar does

    def counts() -> dict[str, int]:
        mine = selectors.agent_tier_ids(agent)  # as the sidebar does, on a cold cache
        return queues.queue_counts(user=agent, tiers=tiers, now=timezone.now(), my_tier_ids=mine)

    samples = _timed(counts)
    yield _metric(
        "queue_counts",
        samples,
        50,
        views=len(counts()),
        queries=_queries(counts),
        tickets=tickets,
        scale=ctx.scale,
    )

    # The ticket page: 200 messages, 100 events.
    long_thread = Ticket.objects.get(subject=data.LONG_THREAD_SUBJECT)
    short = (
        Ticket.objects.filter(status="open", tier__level=1, merged_into__isnull=True)
        .exclude(pk=long_thread.pk)
        .order_by("-pk")
        .first()
    )
    assert short is not None
    url = f"/agent/tickets/{long_thread.pk}/"
    samples = _timed(lambda: get(url))
    yield _metric(
        "ticket_page",
        samples,
        LONG_TICKET_TARGET_MS,
        messages=Message.objects.filter(ticket=long_thread).count(),
        events=long_thread.events.count(),
        queries=_queries(lambda: get(url)),
        tickets=tickets,
        scale=ctx.scale,
    )
    short_url = f"/agent/tickets/{short.pk}/"
    yield _metric(
        "ticket_page_short",
        _timed(lambda: get(short_url)),
        SHORT_TICKET_TARGET_MS,
        messages=Message.objects.filter(ticket=short).count(),
        events=short.events.count(),
        queries=_queries(lambda: get(short_url)),
        tickets=tickets,
        scale=ctx.scale,
    )
