"""Filtering the workspace's queue by a custom field, on 1,000,000 tickets (at scale 1)
with their custom field values (the `fields` data set, a database of its own).

The data set: the tickets of the `tickets` data set's shape (15 % active, the rest resolved
or closed, over three years; deadlines on the active ones), their customers, and five custom
fields: a drop-down "plan" (five choices, skewed: "enterprise" on 5 % of tickets), a number
"seats" (1-5,000), a date "renewal", a multi-select "modules" (one to three of six) and a
checkbox "vip"; about 2.9 values per ticket, in the values table (tickets.models_fields).
No messages or events: the queue page reads neither.

Measured through Django's test Client, signed in as an agent of tiers 1 and 2, on the real
middleware, views and templates (DEBUG off), first pages of /agent/queue/tier-1/ (tier 1's
open tickets, by SLA deadline: the view bench_queue measures unfiltered) and
/agent/queue/any/?sort=newest (every ticket, resolved and closed too, newest first: by
deadline that view sorts all million tickets, with or without a condition):

- fields_queue_dropdown: ?cf=plan&cf_value=enterprise (a rare value).
- fields_queue_dropdown_common: ?cf=plan&cf_value=pro (a value of a third of the tickets).
- fields_queue_number_range: ?cf=seats&cf_min=100&cf_max=500.
- fields_queue_any_dropdown: the "All tickets" view (resolved and closed too), newest
  first, by plan.
- fields_queue_any_multiselect: the "All tickets" view, newest first, by one of the modules.
- fields_baseline_tier1, fields_baseline_any: the same two pages without a condition.

Each metric carries the number of SQL queries of the request and of its second page.
Target: 50 ms p50 (issue 26).
"""

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from tests.benchmarks import data
from tests.benchmarks.bench_queue import _metric, _next_link, _queries, _timed
from tests.benchmarks.harness import Context, Metric, p50

TARGET_MS = 50
PLANS = (("free", 30), ("basic", 25), ("pro", 33), ("team", 7), ("enterprise", 5))
MODULES = ("crm", "billing", "reports", "api", "mobile", "sso")


def run(ctx: Context) -> Iterator[Metric]:
    import warnings

    from django.conf import settings
    from django.test.utils import override_settings

    plain_static = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    warnings.filterwarnings("ignore", "No directory at", UserWarning)
    with (
        data.own_database(ctx, "fields", build_fields),
        override_settings(STORAGES=plain_static),
    ):
        yield from _measure(ctx)


def _definitions() -> dict[str, Any]:
    from tickets.models import FieldChoice, FieldKind, TicketField

    def field(key: str, kind: str, label: str, choices: tuple[str, ...] = (), **rest: Any) -> Any:
        made = TicketField.objects.create(
            key=key, kind=kind, agent_label=label, position=len(choices), **rest
        )
        FieldChoice.objects.bulk_create(
            FieldChoice(field=made, value=value, label=value.title(), position=n)
            for n, value in enumerate(choices)
        )
        return made

    return {
        "plan": field("plan", FieldKind.DROPDOWN, "Plan", tuple(p for p, _ in PLANS)),
        "seats": field("seats", FieldKind.NUMBER, "Seats", min_value=1, max_value=5000),
        "renewal": field("renewal", FieldKind.DATE, "Renewal date"),
        "modules": field("modules", FieldKind.MULTISELECT, "Modules", MODULES),
        "vip": field("vip", FieldKind.CHECKBOX, "VIP"),
    }


def build_fields(ctx: Context) -> None:
    from tickets.models import Tier

    rng = random.Random(20261205)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start = now - timedelta(days=365 * data.YEARS)
    total = ctx.scaled(data.FULL_TICKETS, minimum=2000)
    agents = data.make_agents(rng)
    fields = _definitions()
    tier_ids = {tier.level: tier.pk for tier in Tier.objects.all()}
    with data.bulk_load(ctx) as load:
        customers, _, _ = data.make_customers(load, rng, total // data.TICKETS_PER_CUSTOMER, start)
        rows = data._workspace_tickets(rng, total, now, start, customers, agents)

        def tickets() -> Iterator[tuple[Any, ...]]:
            for row in rows:
                when, status = row[1], row[2]
                done = status in ("resolved", "closed")
                responded = when + timedelta(minutes=rng.randrange(5, 600))
                responded = responded if status != "new" else None
                resolved = (responded or when) + timedelta(hours=rng.randrange(1, 96))
                resolved = resolved if done else None
                closed = resolved + timedelta(days=3) if status == "closed" and resolved else None
                due = None if done else when + timedelta(minutes=rng.randrange(30, 60 * 24 * 5))
                sla = (None, None, due, due, None, None)
                yield data._ticket_row(rng, row, tier_ids, sla, responded, resolved, closed)

        load("tickets_ticket", data.TICKET_COLUMNS, tickets())
        first_value = data.next_id("tickets_ticketfieldvalue")
        load(
            "tickets_ticketfieldvalue",
            ("id", "ticket_id", "field_id", "value_text", "value_number", "value_date"),
            data._numbered(first_value, _values(rng, [row[0] for row in rows], fields, now)),
        )


def _values(
    rng: random.Random, ticket_ids: list[int], fields: dict[str, Any], now: datetime
) -> Iterator[tuple[Any, ...]]:
    plans = data.choices(rng, PLANS, len(ticket_ids))
    plan, seats, renewal = fields["plan"].pk, fields["seats"].pk, fields["renewal"].pk
    modules, vip = fields["modules"].pk, fields["vip"].pk
    for ticket_id, chosen in zip(ticket_ids, plans, strict=True):
        if rng.random() < 0.9:
            yield (ticket_id, plan, chosen, None, None)
        if rng.random() < 0.7:
            yield (ticket_id, seats, None, Decimal(int(rng.paretovariate(1.2)) % 5000 + 1), None)
        if rng.random() < 0.4:
            yield (
                ticket_id,
                renewal,
                None,
                None,
                (now + timedelta(days=rng.randrange(-400, 400))).date(),
            )
        if rng.random() < 0.5:
            for module in rng.sample(MODULES, rng.randrange(1, 4)):
                yield (ticket_id, modules, module, None, None)
        if rng.random() < 0.05:
            yield (ticket_id, vip, "true", None, None)


def _measure(ctx: Context) -> Iterator[Metric]:
    from django.contrib.auth.models import User
    from django.core.cache import cache
    from django.test import Client

    from tickets import queues
    from tickets.models import Ticket, TicketFieldValue

    cache.delete(queues._DESK_COUNTS_KEY)
    agent = User.objects.get(username=data.BENCH_AGENT)
    client = Client()
    client.force_login(agent)
    tickets = Ticket.objects.count()
    values = TicketFieldValue.objects.count()

    def get(url: str) -> Any:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response

    cases = {
        "fields_queue_dropdown": "/agent/queue/tier-1/?cf=plan&cf_value=enterprise",
        "fields_queue_dropdown_common": "/agent/queue/tier-1/?cf=plan&cf_value=pro",
        "fields_queue_number_range": "/agent/queue/tier-1/?cf=seats&cf_min=100&cf_max=500",
        "fields_queue_any_dropdown": "/agent/queue/any/?sort=newest&cf=plan&cf_value=enterprise",
        "fields_queue_any_multiselect": "/agent/queue/any/?sort=newest&cf=modules&cf_value=sso",
        # The same pages without a field condition, measured alike (the machine's load moves
        # every figure; the difference is the condition's).
        "fields_baseline_tier1": "/agent/queue/tier-1/",
        "fields_baseline_any": "/agent/queue/any/?sort=newest",
    }
    for name, url in cases.items():
        html = get(url).content.decode()
        rows = html.count('<tr data-ticket="')
        second = url.split("?")[0] + _next_link(html) if 'rel="next"' in html else url
        samples = _timed(lambda url=url: get(url))
        yield _metric(
            name,
            samples,
            TARGET_MS,
            rows=rows,
            queries=_queries(lambda url=url: get(url)),
            queries_page_2=_queries(lambda second=second: get(second)),
            p50_page_2=round(p50(_timed(lambda s=second: get(s), repeat=10)[0]), 3),
            tickets=tickets,
            field_values=values,
            scale=ctx.scale,
        )
