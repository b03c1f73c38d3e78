"""Ticket data for the queue and SLA benchmarks, written with COPY.

Two data sets, each in a database of its own (`<benchmark database>_<name>_s<scale>`, created
and migrated on first use, kept between runs), so that neither pollutes the other or the
data sets of the other benchmarks in the shared database, and so a quick run at
BENCH_SCALE=0.1 does not disturb the full one:

- `tickets` (the agent workspace): 1,000,000 tickets over three years, 15 % of them still
  active (new, open, waiting on the customer, on hold) and the rest resolved or closed;
  250,000 customers with their email addresses and phone numbers; one inbound message per
  ticket and an agent's reply on every ticket that was answered; a "created" event per ticket
  and a status change on every finished one; SLA policies, clocks and deadlines on the active
  tickets; tags; 30 published knowledge-base articles and 12 canned responses; 140 agents in
  tiers 1-3; and one ticket with 200 messages and 100 events for the ticket page.
- `sla` (the SLA sweep): 1,000,000 *open* tickets with running SLA clocks (the issue's
  setting; a help desk that size keeps most of its tickets resolved, hence the separate data
  set), exactly 1,000 of them due at the sweep moment: 500 warnings, 500 breaches (their
  warning fired earlier), on two policies (24/7 for high and urgent, office hours for the
  rest), whose actions notify the tier or the assignee and escalate.

Rows are generated in Python from a fixed seed and streamed with psycopg 3's COPY; the
secondary indexes are dropped while loading and built once afterwards, and foreign keys are
not checked row by row (session_replication_role = replica): the generator writes consistent
ids itself. Deadlines and warning times come from the real SLA arithmetic (tickets.sla).
"""

import functools
import json
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from typing import Any

from tests.benchmarks.harness import Context, prepared, stopwatch

# Raised whenever the generated data change: a data set of another version is rebuilt.
DATA_VERSION = 3
FULL_TICKETS = 1_000_000
TICKETS_PER_CUSTOMER = 4
ACTIVE_SHARE = 0.15
YEARS = 3
SLA_DUE = 1000
PASSWORD = "bench-agent-password"
# Agents per tier (not scaled: a help desk's staff does not grow with its history).
AGENTS_PER_TIER = {1: 80, 2: 40, 3: 20}
BENCH_AGENT = "bench-agent"
LONG_THREAD_SUBJECT = "Long thread: invoice export fails to load"

FIRST_NAMES = (  # noqa: SIM905
    "Ada Alan Alice Amir Ana Ben Carla Chen Dana David Elena Emil Eva Farah Grace Hana "
    "Hugo Ines Ivan Jana Jon Kai Kim Lara Leo Lina Luca Maya Mia Nadia Nils Omar Paula "
    "Priya Raj Rosa Sam Sara Tom Uma Vera Yusuf Zoe"
).split()
LAST_NAMES = (  # noqa: SIM905
    "Adams Baker Becker Brown Costa Dubois Evans Fischer Garcia Green Hall Ivanova Jones "
    "Kowalski Larsen Lopez Martin Meyer Moreau Murphy Nguyen Novak Okafor Patel Rossi "
    "Santos Schmidt Silva Smith Tanaka Taylor Tremblay Walker Weber Wilson Wong Young "
    "Zhang"
).split()
PRODUCTS = (  # noqa: SIM905
    "invoice billing portal password account login export report dashboard payment "
    "subscription refund order delivery shipment mobile app sync calendar email "
    "notification integration api webhook upload download printer license installer "
    "update backup restore profile address card plan upgrade"
).split()
PROBLEMS = (  # noqa: SIM905
    "cannot open|fails to load|is missing|shows an error|is very slow|was charged twice|"
    "does not sync|keeps logging me out|is wrong|stopped working|needs changing|"
    "returns 500|cannot be found|is duplicated|times out"
).split("|")
FILLER = (  # noqa: SIM905
    "hello hi thanks please help since yesterday again today tried restarting cleared "
    "cache different browser colleague same problem screenshot attached urgent deadline "
    "customer our team version latest error message code steps reproduce expected actual "
    "behaviour could you check let me know best regards kind regards waiting reply "
    "account number reference previous ticket still happening after update morning "
    "afternoon"
).split()
TAGS = ("billing", "bug", "vip", "refund", "login", "mobile", "api", "outage", "feedback", "gdpr")
CHANNELS = (("email", 55), ("web", 15), ("sms", 10), ("phone", 10), ("chat", 8), ("api", 2))
PRIORITIES = (("low", 20), ("normal", 60), ("high", 15), ("urgent", 5))
ACTIVE_STATUSES = (("new", 15), ("open", 45), ("pending_customer", 25), ("on_hold", 15))
ACTIVE_TIERS = ((0, 3), (1, 55), (2, 30), (3, 12))
DONE_TIERS = ((0, 25), (1, 50), (2, 18), (3, 7))


def choices(rng: random.Random, weighted: Sequence[tuple[Any, int]], k: int) -> list[Any]:
    values, weights = zip(*weighted, strict=True)
    return rng.choices(values, weights=weights, k=k)


# --- Databases ---------------------------------------------------------------------------


def scale_tag(scale: float) -> str:
    return f"s{scale:g}".replace(".", "_")


def _connect(database: str) -> Any:
    """A psycopg connection of its own to `database` (autocommit), beside Django's."""
    import psycopg
    from django.db import connection

    settings = connection.settings_dict
    return psycopg.connect(
        dbname=database,
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        user=settings["USER"] or None,
        password=settings["PASSWORD"] or None,
        autocommit=True,
    )


def _has_dataset(database: str, key: str) -> bool:
    import psycopg

    try:
        with _connect(database) as conn:
            found = conn.execute(
                "SELECT 1 FROM pg_tables WHERE tablename = 'bench_dataset'"
            ).fetchone()
            return bool(
                found
                and conn.execute("SELECT 1 FROM bench_dataset WHERE key = %s", [key]).fetchone()
            )
    except psycopg.OperationalError:  # no such database yet
        return False


@contextmanager
def own_database(ctx: Context, name: str, build: Callable[[Context], None]) -> Iterator[str]:
    """Work in `<benchmark database>_<name>_s<scale>`, then return to the shared benchmark
    database. The data set is built by `build` once: a database without it (new, or left
    by an interrupted build) is dropped and created afresh first, so a build always starts
    from empty tables and may commit as it goes."""
    from django.contrib.contenttypes.models import ContentType
    from django.core.management import call_command
    from django.db import connection

    shared = connection.settings_dict["NAME"]
    name = f"{name}_v{DATA_VERSION}"
    database = f"{shared}_{name}_{scale_tag(ctx.scale)}"
    if not _has_dataset(database, f"{name}@{ctx.scale:g}"):
        ctx.log(f"creating database {database}")
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{database}"')
            cursor.execute(f'CREATE DATABASE "{database}"')
    connection.close()
    connection.settings_dict["NAME"] = database
    ContentType.objects.clear_cache()
    try:
        call_command("migrate", verbosity=0)
        prepared(name, ctx.scale, lambda: build(ctx), ctx)
        yield database
    finally:
        connection.close()
        connection.settings_dict["NAME"] = shared
        ContentType.objects.clear_cache()


# --- COPY --------------------------------------------------------------------------------

# Tables loaded in bulk; their secondary indexes are rebuilt after loading.
BULK_TABLES = (
    "tickets_customer",
    "tickets_contactpoint",
    "tickets_ticket",
    "tickets_message",
    "tickets_ticketevent",
    "tickets_slaclock",
    "tickets_slafiring",
    "tickets_ticket_tags",
    "tickets_ticketfieldvalue",
)


class _Loader:
    """COPY into tables whose secondary indexes were dropped; each table's indexes are built
    as soon as it is loaded, by two connections of their own (one per core), while the
    next tables load (text-search GIN indexes, the slowest by far, first)."""

    def __init__(self, ctx: Context, database: str, indexes: dict[str, list[str]]) -> None:
        import queue
        import threading

        self.ctx, self.database, self.waiting = ctx, database, indexes
        self.todo: queue.PriorityQueue[tuple[int, int, str]] = queue.PriorityQueue()
        self.errors: list[BaseException] = []
        self.count = 0
        self.workers = [threading.Thread(target=self._work) for _ in range(2)]
        for worker in self.workers:
            worker.start()

    def __call__(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        count = copy_rows(self.ctx, table, columns, rows)
        self._queue(table)
        return count

    def _queue(self, table: str) -> None:
        for definition in self.waiting.pop(table, []):
            self.count += 1
            self.todo.put((0 if "USING gin" in definition else 1, self.count, definition))

    def finish(self) -> None:
        for table in list(self.waiting):
            self._queue(table)
        for _ in self.workers:
            self.todo.put((2, 0, ""))  # stop
        for worker in self.workers:
            worker.join()
        if self.errors:
            raise self.errors[0]

    def _work(self) -> None:
        try:
            with _connect(self.database) as conn:
                while True:
                    _, _, definition = self.todo.get()
                    if not definition:
                        return
                    # GIN builds run faster the more of the index fits in memory.
                    memory = "1GB" if "USING gin" in definition else "256MB"
                    conn.execute(f"SET maintenance_work_mem = '{memory}'")
                    with stopwatch() as took:
                        conn.execute(definition)
                    if took["seconds"] > 5:
                        self.ctx.log(f"    {took['seconds']:.0f} s: {definition[:90]}")
        except BaseException as error:  # reported by finish()
            self.errors.append(error)
            while not self.todo.empty():  # let the other worker stop too
                self.todo.get_nowait()
            self.todo.put((2, 0, ""))


def _drop_secondary_indexes(cursor: Any, tables: Iterable[str]) -> dict[str, list[str]]:
    """Drop the tables' indexes that back no constraint; returns their definitions, by
    table, to build them again once the rows are in."""
    cursor.execute(
        """
        SELECT i.tablename, i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)
          AND NOT EXISTS (
            SELECT 1 FROM pg_constraint c
            WHERE c.conindid = (quote_ident(i.indexname))::regclass
          )
        """,
        [list(tables)],
    )
    indexes: dict[str, list[str]] = {}
    for table, name, definition in cursor.fetchall():
        cursor.execute(f'DROP INDEX "{name}"')
        indexes.setdefault(table, []).append(definition)
    return indexes


@contextmanager
def bulk_load(ctx: Context) -> Iterator[_Loader]:
    """Yields a loader (`load(table, columns, rows)`): no per-row index maintenance or
    foreign-key triggers while loading; afterwards the sequences are set past the ids
    written and the tables vacuumed and analysed."""
    from django.db import connection

    with connection.cursor() as cursor:
        indexes = _drop_secondary_indexes(cursor, BULK_TABLES)
        cursor.execute("SET session_replication_role = replica")
    loader = _Loader(ctx, connection.settings_dict["NAME"], indexes)
    try:
        yield loader
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = DEFAULT")
        with stopwatch() as took:
            loader.finish()
        ctx.log(f"  {loader.count} indexes built, the last {took['seconds']:.1f} s after loading")
        with connection.cursor() as cursor:
            for table in BULK_TABLES:
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
                )
        with stopwatch() as took, connection.cursor() as cursor:
            cursor.execute(f"VACUUM (ANALYZE) {', '.join(BULK_TABLES)}")
        ctx.log(f"  vacuumed in {took['seconds']:.1f} s")


def copy_rows(
    ctx: Context, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    from django.db import connection

    count = 0
    with stopwatch() as took, connection.cursor() as cursor:
        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        with cursor.cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
    ctx.log(f"  {table}: {count:,} rows in {took['seconds']:.1f} s")
    return count


def next_id(table: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(max(id), 0) + 1 FROM {table}")
        return int(cursor.fetchone()[0])


# --- People, policies, knowledge ---------------------------------------------------------


def make_agents(
    rng: random.Random,
    per_tier: dict[int, int] = AGENTS_PER_TIER,
    *,
    bench_agent_admin: bool = False,
    notifications: bool = True,
) -> dict[int, list[int]]:
    """Agents per tier level (some tier-2 and tier-3 agents also work tier 1), and the
    benchmark's own agent (tiers 1 and 2; also an admin, to read the reports, when
    `bench_agent_admin`). Returns user ids per tier level."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group, User

    from tickets.models import AgentProfile, Tier
    from tickets.roles import ADMINS_GROUP, AGENTS_GROUP

    tiers = {tier.level: tier for tier in Tier.objects.all()}
    password = make_password(PASSWORD)
    specs: list[tuple[str, list[int]]] = [(BENCH_AGENT, [1, 2])]
    for level, count in per_tier.items():
        for n in range(count):
            extra = [1] if level > 1 and rng.random() < 0.25 else []
            specs.append((f"agent-t{level}-{n:03d}", [level, *extra]))
    users = User.objects.bulk_create(
        User(
            username=username,
            first_name=rng.choice(FIRST_NAMES),
            last_name=rng.choice(LAST_NAMES),
            email=f"{username}@helpdesk.example",
            is_staff=True,
            password=password,
        )
        for username, _ in specs
    )
    Group.objects.get(name=AGENTS_GROUP).user_set.add(*users)
    if bench_agent_admin:
        Group.objects.get(name=ADMINS_GROUP).user_set.add(users[0])
    profiles = AgentProfile.objects.bulk_create(
        AgentProfile(user=user, email_notifications=notifications and rng.random() < 0.2)
        for user in users
    )
    through = AgentProfile.tiers.through
    through.objects.bulk_create(
        through(agentprofile_id=profile.pk, tier_id=tiers[level].pk)
        for profile, (_, levels) in zip(profiles, specs, strict=True)
        for level in levels
    )
    by_tier: dict[int, list[int]] = {level: [] for level in range(4)}
    for user, (_, levels) in zip(users, specs, strict=True):
        for level in levels:
            by_tier[level].append(user.pk)
    return by_tier


def make_policies() -> dict[str, Any]:
    """An office-hours default (London, 09-17 on weekdays, English holidays) and a 24/7
    policy for high and urgent tickets; breaches escalate, as in the project's tests."""
    from tickets.models import BusinessCalendar, OpeningHours, SLAPolicy

    office = BusinessCalendar.objects.create(
        name="London office",
        time_zone="Europe/London",
        holiday_country="GB",
        holiday_subdivision="ENG",
    )
    OpeningHours.objects.bulk_create(
        OpeningHours(calendar=office, weekday=day, start=time(9), end=time(17)) for day in range(5)
    )
    urgent = SLAPolicy.objects.create(
        name="Urgent 24/7",
        position=10,
        priorities=["high", "urgent"],
        first_response_minutes=60,
        next_response_minutes=60,
        resolution_minutes=480,
        warning_percent=80,
        warning_actions=["notify_assignee"],
        breach_actions=["notify_tier", "escalate"],
    )
    standard = SLAPolicy.objects.create(
        name="Standard",
        position=100,
        is_default=True,
        first_response_minutes=480,
        next_response_minutes=480,
        resolution_minutes=2400,
        calendar=office,
        warning_percent=80,
        warning_actions=["notify_tier"],
        breach_actions=["notify_assignee", "escalate"],
    )
    return {"urgent": urgent, "standard": standard}


def make_workspace_extras(rng: random.Random) -> dict[str, int]:
    """Tags, canned responses and a published knowledge base (the ticket page shows them)."""
    from knowledge.models import ArticleStatus, Visibility
    from knowledge.services import article_save, category_save
    from tickets.models import Macro, Tag

    tags = {tag.name: tag.pk for tag in Tag.objects.bulk_create(Tag(name=n) for n in TAGS)}
    Macro.objects.bulk_create(
        Macro(
            name=f"{product.title()} answer",
            body=f"Hello {{{{customer.first_name}}}},\n\nabout your {product}: please try "
            f"again after signing out. {{{{agent.first_name}}}}",
        )
        for product in PRODUCTS[:12]
    )
    categories = [
        category_save(category=None, name=name.title(), slug=name)
        for name in ("billing", "accounts", "orders", "integrations")
    ]
    for n, product in enumerate(PRODUCTS[:30]):
        article_save(
            article=None,
            actor=None,
            title=f"How to fix a {product} that {rng.choice(PROBLEMS)}",
            slug=f"{product}-{n}",
            category=categories[n % len(categories)],
            summary=f"What to do when the {product} misbehaves.",
            body_markdown="\n\n".join(" ".join(rng.choices(FILLER, k=40)) for _ in range(4)),
            tags=f"{product}, {rng.choice(TAGS)}",
            status=ArticleStatus.PUBLISHED,
            visibility=Visibility.PUBLIC if n % 5 else Visibility.AGENTS,
        )
    return tags


# --- SLA arithmetic on generated tickets -------------------------------------------------


@functools.lru_cache(maxsize=8)
def calendar_for(policy_id: int) -> Any:
    from tickets.models import SLAPolicy
    from tickets.services.sla_clocks import calendar_of

    return calendar_of(SLAPolicy.objects.select_related("calendar").get(pk=policy_id))


@functools.lru_cache(maxsize=500_000)
def moments(
    policy_id: int, started: datetime, target: int, percent: int
) -> tuple[datetime, datetime]:
    """(warning_at, due_at) of an unpaused clock."""
    from tickets import sla

    calendar = calendar_for(policy_id)
    due = sla.add_business_minutes(started, target, calendar)
    warning = sla.add_business_minutes(started, -(-target * percent // 100), calendar)
    return warning, due


def ten_minutes(moment: datetime) -> datetime:
    return moment.replace(minute=moment.minute - moment.minute % 10, second=0, microsecond=0)


# --- Text --------------------------------------------------------------------------------


def subject(rng: random.Random) -> str:
    return f"{rng.choice(PRODUCTS).title()} {rng.choice(PRODUCTS)} {rng.choice(PROBLEMS)}"


def body(rng: random.Random, words: int) -> str:
    return " ".join(rng.choices(FILLER + PRODUCTS, k=words)).capitalize() + "."


# --- The workspace data set --------------------------------------------------------------


def make_customers(
    load: _Loader, rng: random.Random, count: int, start: datetime
) -> tuple[list[int], dict[int, str], dict[int, str]]:
    """Customers with an email address (92 %) and a phone number (35 %); some in one of a few
    thousand organizations. Returns their ids and their addresses and numbers by id."""
    from tickets.models import Organization

    first_org = next_id("tickets_organization")
    organizations = max(10, count // 125)
    Organization.objects.bulk_create(
        Organization(name=f"{rng.choice(LAST_NAMES)} {n} Ltd") for n in range(organizations)
    )
    first = next_id("tickets_customer")
    ids = list(range(first, first + count))
    names = [f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}" for _ in ids]
    span = (datetime.now(UTC) - start).total_seconds()

    def customers() -> Iterator[tuple[Any, ...]]:
        for pk, name in zip(ids, names, strict=True):
            joined = start + timedelta(seconds=rng.random() * span)
            org = first_org + rng.randrange(organizations) if rng.random() < 0.3 else None
            yield (pk, name, joined, joined, None, None, org, "")

    load(
        "tickets_customer",
        (
            "id",
            "name",
            "created_at",
            "updated_at",
            "merged_into_id",
            "user_id",
            "organization_id",
            "language",
        ),
        customers(),
    )
    emails: dict[int, str] = {}
    phones: dict[int, str] = {}

    first_point = next_id("tickets_contactpoint")  # not inside the generator: COPY runs then

    def points() -> Iterator[tuple[Any, ...]]:
        pk = first_point
        for customer, name in zip(ids, names, strict=True):
            if rng.random() < 0.92:
                emails[customer] = f"{name.replace(' ', '.').lower()}.{customer}@mail.example"
                yield (pk, "email", emails[customer], start, customer)
                pk += 1
            if rng.random() < 0.35 or customer not in emails:
                phones[customer] = f"+1555{customer:07d}"
                yield (pk, "phone", phones[customer], start, customer)
                pk += 1

    load("tickets_contactpoint", ("id", "kind", "value", "created_at", "customer_id"), points())
    return ids, emails, phones


TICKET_COLUMNS = (  # noqa: SIM905
    "id subject channel status priority first_response_due_at next_response_due_at "
    "resolution_due_at sla_due_at first_responded_at last_message_at resolved_at "
    "closed_at created_at updated_at assignee_id customer_id merged_into_id tier_id "
    "follow_up_of_id routing_due_at sla_next_check_at sla_policy_id satisfaction"
).split()
MESSAGE_COLUMNS = (  # noqa: SIM905
    "id kind channel body_text body_html external_id delivery_status created_at "
    "author_customer_id author_user_id ticket_id delivery_error is_automatic original "
    "provider_id sender subject"
).split()
EVENT_COLUMNS = ["id", "kind", "actor_label", "data", "created_at", "actor_id", "ticket_id"]
CLOCK_COLUMNS = (  # noqa: SIM905
    "id kind cycle target_minutes started_at pauses due_at warning_at stopped_at "
    "ticket_id policy_id"
).split()


def build_tickets(ctx: Context) -> None:
    from tickets.models import Tier

    rng = random.Random(20261122)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start = now - timedelta(days=365 * YEARS)
    total = ctx.scaled(FULL_TICKETS, minimum=2000)
    agents = make_agents(rng)
    policies = make_policies()
    for policy in policies.values():
        calendar_for(policy.pk)  # read now: no query may run while a COPY does
    tags = sorted(make_workspace_extras(rng).values())
    tier_ids = {tier.level: tier.pk for tier in Tier.objects.all()}
    with bulk_load(ctx) as load:
        customers, emails, phones = make_customers(load, rng, total // TICKETS_PER_CUSTOMER, start)
        rows = _workspace_tickets(rng, total, now, start, customers, agents)
        # Messages first: their text-search index, the longest to build, builds meanwhile.
        load(
            "tickets_message",
            MESSAGE_COLUMNS,
            _messages(
                next_id("tickets_message"), random.Random(20261124), rows, emails, phones, agents
            ),
        )
        clocks: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        ticket_tags: list[tuple[int, int]] = []

        def tickets() -> Iterator[tuple[Any, ...]]:
            for row in rows:
                pk, when, status, _, priority, _, _, assignee = row
                done = status in ("resolved", "closed")
                responded = (
                    when + timedelta(minutes=rng.randrange(5, 600)) if status != "new" else None
                )
                resolved = (
                    (responded or when) + timedelta(hours=rng.randrange(1, 96)) if done else None
                )
                closed = resolved + timedelta(days=3) if status == "closed" and resolved else None
                sla: tuple[Any, ...] = (None,) * 6
                if not done:
                    sla = _active_sla(
                        rng, pk, when, status, priority, responded, now, policies, clocks
                    )
                if rng.random() < 0.2:
                    ticket_tags.extend((pk, tag) for tag in rng.sample(tags, rng.randrange(1, 3)))
                events.append((pk, when, status, responded, resolved, closed, assignee))
                yield _ticket_row(rng, row, tier_ids, sla, responded, resolved, closed)

        load("tickets_ticket", TICKET_COLUMNS, tickets())
        load("tickets_ticketevent", EVENT_COLUMNS, _events(next_id("tickets_ticketevent"), events))
        load("tickets_slaclock", CLOCK_COLUMNS, _numbered(next_id("tickets_slaclock"), clocks))
        load(
            "tickets_ticket_tags",
            ("id", "ticket_id", "tag_id"),
            _numbered(next_id("tickets_ticket_tags"), ticket_tags),
        )
    ticket_page_ticket(rng, agents, policies, now)


def _workspace_tickets(
    rng: random.Random,
    total: int,
    now: datetime,
    start: datetime,
    customers: list[int],
    agents: dict[int, list[int]],
) -> list[tuple[Any, ...]]:
    """(id, created, status, tier level, priority, channel, customer, assignee) per ticket:
    active ones mostly recent, finished ones spread over three years; ids grow with time."""
    active = int(total * ACTIVE_SHARE)
    span = (now - start).total_seconds()
    created = [
        now - timedelta(seconds=min(span, rng.expovariate(1 / (21 * 86400)))) for _ in range(active)
    ]
    created += [start + timedelta(seconds=rng.random() * span) for _ in range(total - active)]
    statuses = choices(rng, ACTIVE_STATUSES, active)
    statuses += [("closed" if rng.random() < 0.9 else "resolved") for _ in range(total - active)]
    tiers = choices(rng, ACTIVE_TIERS, active) + choices(rng, DONE_TIERS, total - active)
    priorities = choices(rng, PRIORITIES, total)
    channels = choices(rng, CHANNELS, total)
    first = next_id("tickets_ticket")
    frequent = customers[: max(1, len(customers) // 100)]  # 1 % of customers write a lot
    rows = []
    for n, index in enumerate(sorted(range(total), key=created.__getitem__)):
        status, level = statuses[index], tiers[index]
        if level == 0 and status != "new" and index < active:
            level = 1  # tier 0 hands off within minutes; what stays active is with people
        assigned = status != "new" and level > 0 and (index >= active or rng.random() < 0.75)
        rows.append(
            (
                first + n,
                created[index],
                status,
                level,
                priorities[index],
                channels[index],
                rng.choice(frequent if rng.random() < 0.1 else customers),
                rng.choice(agents[level]) if assigned else None,
            )
        )
    return rows


def _ticket_row(
    rng: random.Random,
    row: tuple[Any, ...],
    tier_ids: dict[int, int],
    sla: tuple[Any, ...],
    responded: datetime | None,
    resolved: datetime | None,
    closed: datetime | None,
) -> tuple[Any, ...]:
    pk, when, status, level, priority, channel, customer, assignee = row
    done = status in ("resolved", "closed")
    # a few finished tickets were merged into an earlier one
    merged = pk - rng.randrange(1, 50) if done and rng.random() < 0.005 and pk > 100 else None
    last = responded or when
    satisfaction = rng.choice((1, 2, 3, 4, 4, 5, 5, 5)) if done and rng.random() < 0.2 else None
    return (
        pk, subject(rng), channel, status, priority, sla[0], sla[1], sla[2], sla[3], responded,
        last, resolved, closed, when, closed or resolved or last, assignee, customer, merged,
        tier_ids[level], None, None, sla[4], sla[5], satisfaction,
    )  # fmt: skip


def _numbered(first: int, rows: Iterable[Sequence[Any]]) -> Iterator[tuple[Any, ...]]:
    """Rows with ids from `first` (read with next_id before the COPY: the connection is busy
    while it runs)."""
    pk = first
    for row in rows:
        yield (pk, *row)
        pk += 1


def _active_sla(
    rng: random.Random,
    pk: int,
    created: datetime,
    status: str,
    priority: str,
    responded: datetime | None,
    now: datetime,
    policies: dict[str, Any],
    clocks: list[tuple[Any, ...]],
) -> tuple[Any, ...]:
    """Clocks of an active ticket and its deadline columns: (first response due, next
    response due, resolution due, earliest due, next check, policy id). Moments already past
    count as fired (the sweep keeps up); a ticket waiting on the customer or on hold is paused."""
    policy = policies["urgent"] if priority in ("high", "urgent") else policies["standard"]
    started = ten_minutes(created)
    paused_at = None
    if status in ("pending_customer", "on_hold"):
        paused_at = ten_minutes(created + (now - created) * rng.uniform(0.3, 0.9))
    first_due = resolution_due = None
    checks: list[datetime] = []
    for kind, target in (
        ("first_response", policy.first_response_minutes),
        ("resolution", policy.resolution_minutes),
    ):
        warning, due = moments(policy.pk, started, target, policy.warning_percent)
        stopped = responded if kind == "first_response" else None
        pauses: list[list[str | None]] = []
        if paused_at is not None and stopped is None:
            pauses = [[paused_at.isoformat(), None]]
            # paused: no deadline, unless it was reached before the pause
            warning = warning if warning <= paused_at else None
            due = due if due <= paused_at else None
        clocks.append(
            (kind, 1, target, started, json.dumps(pauses), due, warning, stopped, pk, policy.pk)
        )
        if stopped is None:
            checks += [m for m in (warning, due) if m is not None and m > now]
            if kind == "first_response":
                first_due = due
            else:
                resolution_due = due
    dues = [d for d in (first_due, resolution_due) if d is not None]
    return (
        first_due,
        None,
        resolution_due,
        min(dues, default=None),
        min(checks, default=None),
        policy.pk,
    )


def _messages(
    first: int,
    rng: random.Random,
    rows: list[tuple[Any, ...]],
    emails: dict[int, str],
    phones: dict[int, str],
    agents: dict[int, list[int]],
) -> Iterator[tuple[Any, ...]]:
    """The customer's message, and the agent's reply on every answered ticket."""
    pk = first
    for ticket, when, status, level, _priority, channel, customer, assignee in rows:
        sender = (
            phones.get(customer, "") if channel in ("sms", "phone") else emails.get(customer, "")
        )
        external = f"<t{ticket}.in@mail.example>" if channel == "email" else None
        text = body(rng, rng.randrange(15, 60))
        yield (
            pk, "inbound", channel, text, "", external, "", when, customer, None, ticket, "",
            False, "", "", sender, "",
        )  # fmt: skip
        pk += 1
        if status != "new":
            agent = assignee or rng.choice(agents[max(1, level or 1)])
            reply_channel = channel if channel in ("email", "sms", "chat") else "email"
            out_id = f"<t{ticket}.out@helpdesk.example>" if reply_channel == "email" else None
            yield (
                pk, "outbound", reply_channel, body(rng, rng.randrange(20, 80)), "", out_id,
                "delivered", when + timedelta(minutes=30), None, agent, ticket, "", False, "",
                "", "", "",
            )  # fmt: skip
            pk += 1


def _events(first: int, events: list[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """Created, assigned and the last status change of each ticket."""
    pk = first
    for ticket, when, status, responded, resolved, closed, assignee in events:
        yield (pk, "created", "system", "{}", when, None, ticket)
        pk += 1
        if assignee is not None:
            data = json.dumps({"to": assignee})
            yield (pk, "assigned", "", data, responded or when, assignee, ticket)
            pk += 1
        if status not in ("new", "open"):
            data = json.dumps({"from": "open", "to": status})
            yield (
                pk,
                "status_changed",
                "",
                data,
                closed or resolved or responded or when,
                assignee,
                ticket,
            )
            pk += 1


def ticket_page_ticket(
    rng: random.Random, agents: dict[int, list[int]], policies: dict[str, Any], now: datetime
) -> int:
    """An open tier-1 ticket with 200 messages and 100 events, from a customer with a dozen
    earlier tickets; returns its id (also findable by its subject)."""
    from tickets.models import (
        ContactPoint,
        Customer,
        Message,
        SLAClock,
        Tag,
        Ticket,
        TicketEvent,
        Tier,
    )
    from tickets.services import sla_clocks

    customer = Customer.objects.create(name="Dora Long-Thread")
    email = "dora.long-thread@mail.example"
    ContactPoint.objects.create(customer=customer, kind="email", value=email)
    ContactPoint.objects.create(customer=customer, kind="phone", value="+14440000042")
    tier1 = Tier.objects.get(level=1)
    opened = now - timedelta(days=20)
    for n in range(12):
        Ticket.objects.create(
            subject=subject(rng), customer=customer, channel="email", status="closed",
            tier=tier1, created_at=opened - timedelta(days=30 * (n + 1)),
        )  # fmt: skip
    agent = agents[1][0]
    ticket = Ticket.objects.create(
        subject=LONG_THREAD_SUBJECT,
        customer=customer,
        channel="email",
        status="open",
        priority="normal",
        tier=tier1,
        assignee_id=agent,
        sla_policy=policies["standard"],
        created_at=opened,
        first_responded_at=opened + timedelta(hours=1),
        last_message_at=now - timedelta(hours=1),
    )
    messages = []
    for n in range(200):
        at = opened + timedelta(hours=2 * n)
        kind = ("inbound", "outbound", "outbound", "note")[n % 4] if n else "inbound"
        messages.append(
            Message(
                ticket=ticket, kind=kind, channel="email", body_text=body(rng, 80),
                sender=email if kind == "inbound" else "",
                author_customer=customer if kind == "inbound" else None,
                author_user_id=agent if kind != "inbound" else None,
                external_id=f"<long.{n}@mail.example>" if kind != "note" else None,
                delivery_status="delivered" if kind == "outbound" else "",
                created_at=at,
            )
        )  # fmt: skip
    Message.objects.bulk_create(messages)
    kinds = [
        ("created", {}),
        ("status_changed", {"from": "open", "to": "pending_customer"}),
        ("status_changed", {"from": "pending_customer", "to": "open"}),
        ("escalated", {"from": 1, "to": 2, "reason": "needs logs", "handoff_note": "see export"}),
        ("deescalated", {"from": 2, "to": 1, "reason": "fixed config", "handoff_note": "verify"}),
        ("priority_changed", {"from": "normal", "to": "high"}),
        ("tags_changed", {"added": ["billing"], "removed": []}),
        ("assigned", {"to": agent}),
        ("message_received", {}),
        ("replied", {}),
    ]
    TicketEvent.objects.bulk_create(
        TicketEvent(
            ticket=ticket,
            kind=kinds[n % len(kinds)][0],
            data=kinds[n % len(kinds)][1],
            actor_id=agent if n % 3 else None,
            actor_label="" if n % 3 else "system",
            created_at=opened + timedelta(hours=4 * n, minutes=1),
        )
        for n in range(100)
    )
    standard = policies["standard"]
    for kind, target, stopped in (
        ("first_response", standard.first_response_minutes, opened + timedelta(hours=1)),
        ("resolution", standard.resolution_minutes, None),
        ("next_response", standard.next_response_minutes, None),
    ):
        started = now - timedelta(hours=3) if kind == "next_response" else opened
        SLAClock.objects.create(
            ticket=ticket, kind=kind, policy=standard, target_minutes=target, started_at=started,
            stopped_at=stopped,
        )  # fmt: skip
    sla_clocks.refresh(ticket, now)  # due and warning times, the ticket's deadline columns
    ticket.tags.set(Tag.objects.filter(name__in=["billing", "vip"]))
    return ticket.pk


# --- The SLA data set --------------------------------------------------------------------


def sweep_anchor(now: datetime) -> datetime:
    """The sweep moment the data set is built around: the latest weekday 11:00 London time
    (inside office hours, so office-hours clocks are due then too) at least a day ago."""
    from zoneinfo import ZoneInfo

    london = ZoneInfo("Europe/London")
    day = (now - timedelta(days=1)).astimezone(london).date()
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return datetime.combine(day, time(11), tzinfo=london).astimezone(UTC)


def build_sla(ctx: Context) -> None:
    from tickets.models import Tier

    rng = random.Random(20261123)
    anchor = sweep_anchor(datetime.now(UTC))
    total = ctx.scaled(FULL_TICKETS, minimum=2 * SLA_DUE)
    agents = make_agents(rng)
    policies = make_policies()
    tier_ids = {tier.level: tier.pk for tier in Tier.objects.all()}
    with bulk_load(ctx) as load:
        customers, emails, phones = make_customers(
            load, rng, total // TICKETS_PER_CUSTOMER, anchor - timedelta(days=365 * YEARS)
        )
        first_clock = next_id("tickets_slaclock")
        tickets, clocks, firings = _sla_tickets(
            rng, total, anchor, customers, emails, agents, policies, tier_ids
        )
        # (id, created, status, level, priority, channel, customer, assignee), as _messages reads
        rows = [(t[0], t[13], t[3], None, None, t[2], t[16], t[15]) for t in tickets]
        # Messages first: their text-search index, the longest to build, builds meanwhile.
        load(
            "tickets_message",
            MESSAGE_COLUMNS,
            _messages(next_id("tickets_message"), rng, rows, emails, phones, agents),
        )
        load("tickets_ticket", TICKET_COLUMNS, tickets)
        events = [(t[0], t[13], "new", t[9], None, None, t[15]) for t in tickets]
        del tickets, rows
        load("tickets_ticketevent", EVENT_COLUMNS, _events(next_id("tickets_ticketevent"), events))
        load("tickets_slaclock", CLOCK_COLUMNS, _numbered(next_id("tickets_slaclock"), clocks))
        load(
            "tickets_slafiring",
            ("id", "clock_id", "kind", "fired_at"),
            _numbered(
                next_id("tickets_slafiring"),
                ((first_clock + index, kind, at) for index, kind, at in firings),
            ),
        )


def _sla_tickets(
    rng: random.Random,
    total: int,
    anchor: datetime,
    customers: list[int],
    emails: dict[int, str],
    agents: dict[int, list[int]],
    policies: dict[str, Any],
    tier_ids: dict[int, int],
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[int, str, datetime]]]:
    """Ticket rows, clock rows and firings (clock index, kind, when) of the SLA data set."""
    due = min(SLA_DUE, total // 2)
    first = next_id("tickets_ticket")
    clocks: list[tuple[Any, ...]] = []
    firings: list[tuple[int, str, datetime]] = []
    tickets: list[tuple[Any, ...]] = []
    levels = choices(rng, ((1, 70), (2, 20), (3, 10)), total)
    priorities = choices(rng, PRIORITIES, total)
    for n in range(total):
        pk, level, priority = first + n, levels[n], priorities[n]
        if n < due:
            priority = "urgent" if n % 2 else "normal"  # half on each policy
            level = 1 if n % 10 < 8 else 2
        policy = policies["urgent"] if priority in ("high", "urgent") else policies["standard"]
        answered = n >= due and rng.random() < 0.85
        created, responded = _sla_times(rng, n, due, anchor, policy, answered)
        customer = rng.choice(customers)
        assignee = rng.choice(agents[level]) if answered or rng.random() < 0.5 else None
        checks: list[datetime] = []
        dues: dict[str, datetime] = {}
        for kind, target in (
            ("first_response", policy.first_response_minutes),
            ("resolution", policy.resolution_minutes),
        ):
            warning, due_at = moments(policy.pk, created, target, policy.warning_percent)
            stopped = responded if kind == "first_response" else None
            clocks.append((kind, 1, target, created, "[]", due_at, warning, stopped, pk, policy.pk))
            if stopped is not None:
                continue
            dues[kind] = due_at
            for fire_kind, moment in (("warning", warning), ("breach", due_at)):
                # what was due before the anchor has fired, except what the sweep is to fire
                fired = moment <= anchor
                if n < due and kind == "first_response":
                    fired = fire_kind == "warning" and _breach_due(n)
                if fired:
                    firings.append((len(clocks) - 1, fire_kind, moment))
                else:
                    checks.append(moment)
        tickets.append(
            (
                pk, subject(rng), "email" if customer in emails else "sms",
                "open" if responded else "new", priority,
                dues.get("first_response"), None, dues.get("resolution"),
                min(dues.values(), default=None), responded, responded or created, None, None,
                created, responded or created, assignee, customer, None, tier_ids[level], None,
                None, min(checks, default=None), policy.pk, None,
            )
        )  # fmt: skip
    return tickets, clocks, firings


def _sla_times(
    rng: random.Random, n: int, due: int, anchor: datetime, policy: Any, answered: bool
) -> tuple[datetime, datetime | None]:
    """(created, first responded) of SLA ticket n. The first `due` tickets have their
    first-response warning or breach (half each, on both policies) due in the ten minutes
    before the anchor; the others' next moments all lie after it."""
    if n < due:
        target = policy.first_response_minutes
        minutes = target if _breach_due(n) else -(-target * policy.warning_percent // 100)
        moment = anchor - timedelta(minutes=rng.randrange(0, 10), seconds=rng.randrange(60))
        return _started_for(policy, moment, minutes), None
    if answered:
        # answered within the last few working days: resolution is far off
        created = anchor - timedelta(
            hours=rng.uniform(0.5, 20 if policy.calendar_id is None else 60)
        )
        created = ten_minutes(created)
        if policy.calendar_id is None:
            created = max(created, ten_minutes(anchor - timedelta(hours=6)))
        return created, created + timedelta(minutes=rng.randrange(5, 50))
    # waiting for a first response, recent enough that no warning is due yet
    window = 40 if policy.calendar_id is None else 300
    created = ten_minutes(anchor - timedelta(minutes=rng.uniform(0, window)))
    warning, _ = moments(policy.pk, created, policy.first_response_minutes, policy.warning_percent)
    if warning <= anchor:
        created = ten_minutes(anchor)
    return created, None


def _breach_due(n: int) -> bool:
    return n % 4 in (1, 2)


def _started_for(policy: Any, moment: datetime, minutes: int) -> datetime:
    """The start (to the second) from which `minutes` of the policy's time end at `moment`."""
    from tickets import sla

    calendar = calendar_for(policy.pk)
    low, high = moment - timedelta(days=14), moment
    while (high - low) > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if sla.add_business_minutes(middle, minutes, calendar) < moment:
            low = middle
        else:
            high = middle
    return high.replace(microsecond=0)


def sla_sweep_moment() -> datetime:
    """The moment at which exactly SLA_DUE tickets are due (the 1,000th next check)."""
    from tickets.models import Ticket

    checks = Ticket.objects.filter(sla_next_check_at__isnull=False).order_by("sla_next_check_at")
    count = min(SLA_DUE, checks.count())
    moment = checks.values_list("sla_next_check_at", flat=True)[count - 1]
    return moment


# --- The reports data set ----------------------------------------------------------------
#
# `reports` (the reports, issue 23): 1,000,000 tickets over the last 365 days, each with its
# metrics row (TicketMetrics) as the services keep it; about 1.9 agent replies per ticket
# (each with its wait) and the customer messages they answered; first-response and
# resolution SLA clocks; tier moves and their events; ratings and their "rated" events. 30
# agents in tiers 1-3 and the benchmark's agent, who is also an admin (reads the reports);
# 20 organizations. Written by PostgreSQL itself (INSERT ... SELECT over one planning table
# drawn with random() from a fixed seed), with the secondary indexes built afterwards.
#
# Shapes: channels email 50 %, web 20, chat 12, SMS 8, phone 8, API 2; priorities low 20 %,
# normal 60, high 15, urgent 5; first tier 0 (self-service, answered by the knowledge base
# unless escalated) 5 %, tier 1 83, tier 2 9, tier 3 3; first replies (log-normal, by
# priority) on ~95 %; ~90 % solved, ~5 % of those reopened; ~15 % moved between tiers (a
# quarter of those moved back, some escalated twice); ~20 % of the solved rated, mostly 4-5;
# ~10 % of the SLA targets breached. Business minutes are calendar minutes times a per-ticket
# share (24/7 policy: all of them), and deadlines follow from the same share, so that a
# target is breached exactly when its business minutes exceed it.

REPORT_AGENTS_PER_TIER = {1: 16, 2: 9, 3: 5}
REPORT_ORGANIZATIONS = 20
REPORT_DAYS = 365
REPORT_TABLES = (
    "tickets_customer",
    "tickets_contactpoint",
    "tickets_ticket",
    "tickets_ticketmetrics",
    "tickets_message",
    "tickets_ticketevent",
    "tickets_slaclock",
    "tickets_tiermove",
)
REPORT_COMMENTS = {
    "good": (
        "Quick and friendly, thank you!",
        "Solved on the first try.",
        "Great help, very clear explanation.",
        "Thanks for sorting this out so fast.",
        "Excellent support as always.",
    ),
    "neutral": (
        "Took a while but it works now.",
        "OK in the end.",
        "Had to explain the problem twice.",
    ),
    "bad": (
        "Nobody answered for days.",
        "The problem is still there.",
        "I was passed around between teams.",
        "Too slow, we lost a day of work.",
    ),
}
REPORT_REASONS = {
    "up": ("Needs engineering", "Billing specialist needed", "Reproduced: defect", "Needs logs"),
    "down": ("Workaround found", "Fixed: verify with the customer", "Back to frontline"),
}


@contextmanager
def sql_load(ctx: Context, tables: Sequence[str]) -> Iterator[Callable[..., int]]:
    """As bulk_load, for tables written by INSERT ... SELECT: yields `run(table, sql,
    params)`, which runs the statement (no index maintenance, no foreign-key triggers) and
    then has the table's secondary indexes built in the background, two at a time."""
    from django.db import connection

    with connection.cursor() as cursor:
        indexes = _drop_secondary_indexes(cursor, tables)
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("SET work_mem = '256MB'")
    loader = _Loader(ctx, connection.settings_dict["NAME"], indexes)

    def run(table: str | None, sql: str, params: dict[str, Any] | None = None) -> int:
        with stopwatch() as took, connection.cursor() as cursor:
            cursor.execute(sql, params)
            count = cursor.rowcount
        if table or count > 1:  # not the settings and DDL
            ctx.log(f"  {table or 'bench_report_plan'}: {count:,} rows in {took['seconds']:.1f} s")
        if table:
            loader._queue(table)
        return count

    try:
        yield run
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = DEFAULT")
            cursor.execute("RESET work_mem")
        with stopwatch() as took:
            loader.finish()
        ctx.log(f"  {loader.count} indexes built, the last {took['seconds']:.1f} s after loading")
        with connection.cursor() as cursor:
            for table in tables:
                if table == "tickets_ticketmetrics":  # its key is the ticket's
                    continue
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
                )
        with stopwatch() as took, connection.cursor() as cursor:
            cursor.execute(f"VACUUM (ANALYZE) {', '.join(tables)}")
        ctx.log(f"  vacuumed in {took['seconds']:.1f} s")


def build_reports(ctx: Context) -> None:
    from tickets.models import Organization, Tier

    rng = random.Random(20261205)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    total = ctx.scaled(FULL_TICKETS, minimum=2000)
    agents = make_agents(rng, REPORT_AGENTS_PER_TIER, bench_agent_admin=True, notifications=False)
    policies = make_policies()
    tier_ids = {tier.level: tier.pk for tier in Tier.objects.all()}
    organizations = Organization.objects.bulk_create(
        Organization(name=f"{name} {kind}", created_at=now - timedelta(days=REPORT_DAYS + 30))
        for name, kind in zip(
            LAST_NAMES[:REPORT_ORGANIZATIONS],
            ("Ltd", "GmbH", "Inc", "SA", "BV") * REPORT_ORGANIZATIONS,
            strict=False,
        )
    )
    params: dict[str, Any] = {
        "now": now,
        "total": total,
        "days": REPORT_DAYS,
        "first_ticket": next_id("tickets_ticket"),
        "first_customer": next_id("tickets_customer"),
        "customers": max(100, total // TICKETS_PER_CUSTOMER),
        "organizations": [o.pk for o in organizations],
        "first_names": list(FIRST_NAMES),
        "last_names": list(LAST_NAMES),
        "products": list(PRODUCTS),
        "problems": list(PROBLEMS),
        "t1": agents[1],
        "t2": agents[2],
        "t3": agents[3],
        "tier_ids": [tier_ids[level] for level in range(4)],
        "urgent_policy": policies["urgent"].pk,
        "standard_policy": policies["standard"].pk,
        "good": list(REPORT_COMMENTS["good"]),
        "neutral": list(REPORT_COMMENTS["neutral"]),
        "bad": list(REPORT_COMMENTS["bad"]),
        "up": list(REPORT_REASONS["up"]),
        "down": list(REPORT_REASONS["down"]),
        "bodies": [
            " ".join(random.Random(n).choices(FILLER + PRODUCTS, k=25 + n)).capitalize() + "."
            for n in range(40)
        ],
    }
    with sql_load(ctx, REPORT_TABLES) as run:
        run(None, "SELECT setseed(0.20261205)")  # reproducible draws
        run("tickets_customer", _REPORT_CUSTOMERS, params)
        run("tickets_contactpoint", _REPORT_CONTACTS, params)
        run(None, "DROP TABLE IF EXISTS bench_report_plan")
        run(None, _REPORT_PLAN, params)
        run(None, "ANALYZE bench_report_plan")
        run("tickets_ticket", _REPORT_TICKETS, params)
        run("tickets_ticketmetrics", _REPORT_METRICS, params)
        run("tickets_tiermove", _REPORT_TIER_MOVES, params)
        run("tickets_slaclock", _REPORT_CLOCKS, params)
        run("tickets_ticketevent", _REPORT_EVENTS, params)
        run("tickets_message", _REPORT_MESSAGES, params)
        run(None, "DROP TABLE bench_report_plan")


def _pick(array: str, share: str) -> str:
    """SQL: an element of the array parameter `array` at `share` (in [0, 1)) of its length;
    a skewed share (a power of a draw) favours the first ones: a few agents, organizations
    and customers do more than the others."""
    kind = "int" if array in ("t1", "t2", "t3", "organizations") else "text"
    values = f"%({array})s::{kind}[]"
    return f"({values})[1 + floor(cardinality({values}) * {share})::int]"


_REPORT_CUSTOMERS = f"""
INSERT INTO tickets_customer (id, name, created_at, updated_at, merged_into_id, user_id,
                              organization_id, language)
SELECT %(first_customer)s + g - 1,
       {_pick("first_names", "random()")} || ' ' || {_pick("last_names", "random()")},
       %(now)s::timestamptz - interval '400 days', %(now)s::timestamptz - interval '400 days',
       NULL, NULL,
       CASE WHEN random() < 0.65 THEN {_pick("organizations", "power(random(), 2)")} END,
       ''
FROM generate_series(1, %(customers)s) g
"""

_REPORT_CONTACTS = """
INSERT INTO tickets_contactpoint (kind, value, created_at, customer_id, undeliverable,
                                  undeliverable_reason)
SELECT 'email', 'customer.' || c.id || '@mail.example', c.created_at, c.id, '', ''
FROM tickets_customer c ORDER BY c.id
"""

# One row per ticket: every draw, and what follows from them. Columns named as in
# TicketMetrics where they are the same thing.
_REPORT_PLAN = f"""
CREATE UNLOGGED TABLE bench_report_plan AS
WITH raw AS (
    SELECT CASE WHEN c0 > %(now)s::timestamptz THEN c0 - interval '1 day' ELSE c0 END AS created,
           u_channel, u_priority, u_tier, u_customer, u_reply, u_solve, u_status, u_reopen,
           u_move, u_move2, u_person, u_rating, u_rated, u_comment, u_biz, u_pause, u_agent,
           u_agent2, u_replies, u_merge, z_reply, z_solve
    FROM (
        SELECT date_trunc('day', %(now)s::timestamptz)
                   - floor(random() * %(days)s) * interval '1 day'
                   + CASE WHEN random() < 0.8
                          THEN interval '7 hours' + random() * interval '11 hours'
                          ELSE random() * interval '24 hours' END AS c0,
               random() AS u_channel, random() AS u_priority, random() AS u_tier,
               random() AS u_customer, random() AS u_reply, random() AS u_solve,
               random() AS u_status, random() AS u_reopen, random() AS u_move,
               random() AS u_move2, random() AS u_person, random() AS u_rating,
               random() AS u_rated, random() AS u_comment, random() AS u_biz,
               random() AS u_pause, random() AS u_agent, random() AS u_agent2,
               random() AS u_replies, random() AS u_merge,
               sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS z_reply,
               sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS z_solve
        FROM generate_series(1, %(total)s)
    ) drawn
), ordered AS (
    SELECT (%(first_ticket)s - 1 + row_number() OVER (ORDER BY created))::bigint AS id, raw.*
    FROM raw
)
SELECT o.id, o.created, d.*, t.*, s.*, mv.*, m2.*,
       CASE WHEN d.self_service AND mv.tier_level = 0 THEN NULL
            WHEN s.solved_at IS NULL AND s.first_reply_at IS NULL THEN NULL
            ELSE CASE greatest(mv.tier_level, 1)
                 WHEN 1 THEN {_pick("t1", "power(o.u_agent, 1.4)")}
                 WHEN 2 THEN {_pick("t2", "power(o.u_agent, 1.4)")}
                 ELSE {_pick("t3", "power(o.u_agent, 1.4)")} END
       END AS assignee_id,
       CASE WHEN s.first_reply_at IS NOT NULL THEN
            CASE greatest(d.first_tier, 1)
                 WHEN 1 THEN {_pick("t1", "power(o.u_agent2, 1.4)")}
                 WHEN 2 THEN {_pick("t2", "power(o.u_agent2, 1.4)")}
                 ELSE {_pick("t3", "power(o.u_agent2, 1.4)")} END
       END AS first_reply_by_id,
       CASE WHEN s.first_reply_at IS NULL THEN 0
            ELSE 1 + (o.u_replies < 0.6)::int + (o.u_replies < 0.25)::int
                 + (o.u_replies < 0.08)::int + s.reopens END AS replies,
       c.organization_id,
       CASE WHEN s.solved_at IS NOT NULL AND o.u_merge < 0.003 AND o.id > %(first_ticket)s + 100
            THEN o.id - 1 - floor(o.u_merge * 20000)::int END AS merged_into_id,
       CASE WHEN s.solved_at IS NOT NULL AND o.u_merge >= 0.003 AND o.u_rating < 0.2 THEN
            CASE WHEN o.u_rating < 0.016 THEN 1 WHEN o.u_rating < 0.028 THEN 2
                 WHEN o.u_rating < 0.048 THEN 3 WHEN o.u_rating < 0.088 THEN 4 ELSE 5 END
       END AS rating,
       greatest(s.solved_at, least(%(now)s::timestamptz - interval '1 minute',
                s.solved_at + (10 + o.u_rated * 4320) * interval '1 minute')) AS rated_at,
       o.u_comment, o.u_person, o.u_pause
FROM ordered o
JOIN tickets_customer c ON c.id = %(first_customer)s
     + floor(%(customers)s * power(o.u_customer, 1.3))::int
CROSS JOIN LATERAL (
    SELECT CASE WHEN o.u_channel < 0.50 THEN 'email' WHEN o.u_channel < 0.70 THEN 'web'
                WHEN o.u_channel < 0.82 THEN 'chat' WHEN o.u_channel < 0.90 THEN 'sms'
                WHEN o.u_channel < 0.98 THEN 'phone' ELSE 'api' END AS channel,
           CASE WHEN o.u_priority < 0.20 THEN 'low' WHEN o.u_priority < 0.80 THEN 'normal'
                WHEN o.u_priority < 0.95 THEN 'high' ELSE 'urgent' END AS priority,
           CASE WHEN o.u_tier < 0.05 THEN 0 WHEN o.u_tier < 0.88 THEN 1
                WHEN o.u_tier < 0.97 THEN 2 ELSE 3 END AS first_tier,
           c.id AS customer_id,
           o.u_tier < 0.05 AND o.u_move >= 0.15 AS self_service,
           o.u_move < 0.15 AS moved,
           CASE WHEN o.u_priority >= 0.80 THEN %(urgent_policy)s ELSE %(standard_policy)s END
               AS sla_policy_id,
           CASE WHEN o.u_priority >= 0.80 THEN 1.0 ELSE 0.25 + 0.35 * o.u_biz END AS f,
           CASE WHEN o.u_priority >= 0.80 THEN 60 ELSE 480 END AS fr_target,
           CASE WHEN o.u_priority >= 0.80 THEN 480 ELSE 2400 END AS res_target
) d
CROSS JOIN LATERAL (
    SELECT least(43200, greatest(1, round(exp(ln(
               CASE d.priority WHEN 'urgent' THEN 20 WHEN 'high' THEN 25 WHEN 'normal' THEN 120
                    ELSE 240 END) + o.z_reply))))::int AS fr_min,
           NOT d.self_service AND o.u_reply < 0.99 AS has_reply,
           CASE WHEN d.self_service THEN greatest(2, round(exp(ln(30) + o.z_solve)))
                ELSE greatest(5, round(exp(ln(
                    CASE d.priority WHEN 'urgent' THEN 180 WHEN 'high' THEN 240
                         WHEN 'normal' THEN 1200 ELSE 2200 END) + 0.9 * o.z_solve)))
           END::int AS after_reply_min
) t
CROSS JOIN LATERAL (
    SELECT s0.*,
           CASE WHEN s0.solved_at IS NOT NULL AND s0.first_reply_at IS NOT NULL
                     AND o.u_reopen < 0.05 THEN 1 + (o.u_reopen < 0.008)::int ELSE 0
           END AS reopens,
           coalesce(s0.solved_at, %(now)s::timestamptz) AS life_end,
           CASE WHEN s0.solved_at IS NOT NULL THEN
                     CASE WHEN s0.solved_at < %(now)s::timestamptz - interval '4 days'
                          THEN 'closed' ELSE 'resolved' END
                WHEN s0.first_reply_at IS NULL THEN 'new'
                WHEN o.u_status < 0.4 THEN 'open'
                WHEN o.u_status < 0.8 THEN 'pending_customer'
                ELSE 'on_hold' END AS status
    FROM (
        SELECT CASE WHEN t.has_reply
                         AND o.created + t.fr_min * interval '1 minute' < %(now)s::timestamptz
                    THEN o.created + t.fr_min * interval '1 minute' END AS first_reply_at,
               CASE WHEN o.u_solve >= 0.08 AND (t.has_reply OR d.self_service OR o.u_solve > 0.5)
                         AND o.created + ((t.has_reply)::int * t.fr_min + t.after_reply_min)
                             * interval '1 minute' < %(now)s::timestamptz
                    THEN o.created + ((t.has_reply)::int * t.fr_min + t.after_reply_min)
                         * interval '1 minute' END AS solved_at
    ) s0
) s
CROSS JOIN LATERAL (
    SELECT mv0.*,
           coalesce(mv0.to2, mv0.to1, d.first_tier) AS tier_level,
           coalesce(mv0.at2, mv0.at1, o.created) AS tier_since,
           (coalesce(mv0.to1 > d.first_tier, false))::int
               + (coalesce(mv0.to2 > mv0.to1, false))::int AS escalations,
           (coalesce(mv0.to1 < d.first_tier, false))::int
               + (coalesce(mv0.to2 < mv0.to1, false))::int AS deescalations
    FROM (
        SELECT mv1.to1, mv1.a1, o.created + (s.life_end - o.created) * mv1.a1 AS at1,
               mv2.to2, mv2.a2, o.created + (s.life_end - o.created) * mv2.a2 AS at2
        FROM (
            SELECT CASE WHEN d.moved THEN CASE WHEN d.first_tier = 3 THEN 2
                                                ELSE d.first_tier + 1 END END AS to1,
                   CASE WHEN d.moved THEN 0.02 + 0.45 * o.u_move / 0.15 END AS a1
        ) mv1
        CROSS JOIN LATERAL (
            SELECT CASE WHEN d.moved AND o.u_move2 < 0.35 THEN
                        CASE WHEN o.u_move2 < 0.25 OR mv1.to1 = 3 OR mv1.to1 < d.first_tier
                             THEN d.first_tier ELSE mv1.to1 + 1 END END AS to2,
                   CASE WHEN d.moved AND o.u_move2 < 0.35
                        THEN mv1.a1 + (1 - mv1.a1) * (0.2 + 0.6 * o.u_move2 / 0.35) END AS a2
        ) mv2
    ) mv0
) mv
CROSS JOIN LATERAL (
    SELECT CASE WHEN s.first_reply_at IS NOT NULL THEN t.fr_min END AS first_reply_minutes,
           CASE WHEN s.first_reply_at IS NOT NULL THEN round(t.fr_min * d.f)::int
           END AS first_reply_business_minutes,
           CASE WHEN s.reopens > 0
                THEN s.first_reply_at + (s.solved_at - s.first_reply_at) * (0.3 + 8 * o.u_reopen)
                ELSE s.solved_at END AS first_solved_at,
           CASE WHEN s.solved_at IS NOT NULL
                THEN round(extract(epoch FROM s.solved_at - o.created) / 60)::int
           END AS resolution_minutes,
           CASE WHEN s.solved_at IS NOT NULL
                THEN round(extract(epoch FROM s.solved_at - o.created) / 60 * d.f)::int
           END AS resolution_business_minutes,
           round(extract(epoch FROM s.life_end - o.created) / 60 * d.f)::int AS life_business,
           s.status IN ('pending_customer', 'on_hold') AS paused,
           CASE WHEN s.status IN ('pending_customer', 'on_hold')
                THEN least(%(now)s::timestamptz - interval '1 minute',
                           s.first_reply_at + (5 + o.u_pause * 600) * interval '1 minute')
           END AS paused_since,
           o.created + d.fr_target / d.f * interval '1 minute' AS fr_due,
           o.created + d.res_target / d.f * interval '1 minute' AS res_due
) m2
"""

# status_since (what automations count from) is the last change, as migration 0026 sets it
# on tickets written before it: a data set built before it and migrated has the same.
_REPORT_TICKETS = f"""
INSERT INTO tickets_ticket (
    id, subject, channel, status, priority, first_response_due_at, next_response_due_at,
    resolution_due_at, sla_due_at, first_responded_at, awaiting_reply_since, last_message_at,
    resolved_at, closed_at, created_at, updated_at, assignee_id, customer_id, merged_into_id,
    tier_id, follow_up_of_id, routing_due_at, sla_next_check_at, sla_policy_id, satisfaction,
    status_since)
SELECT p.id,
       initcap({_pick("products", "p.u_comment")}) || ' ' || {_pick("products", "p.u_pause")}
           || ' ' || {_pick("problems", "p.u_person")},
       p.channel, p.status, p.priority,
       x.fr_running, NULL, x.res_running, least(x.fr_running, x.res_running),
       p.first_reply_at,
       CASE p.status WHEN 'new' THEN p.created
                     WHEN 'open' THEN p.first_reply_at
                         + (%(now)s::timestamptz - p.first_reply_at) * 0.7 END,
       greatest(p.created, p.first_reply_at, p.solved_at),
       p.solved_at,
       CASE WHEN p.status = 'closed' THEN p.solved_at + interval '4 days' END,
       p.created,
       x.updated, p.assignee_id, p.customer_id, p.merged_into_id,
       (%(tier_ids)s::int[])[p.tier_level + 1], NULL, NULL, NULL, p.sla_policy_id, p.rating,
       x.updated
FROM bench_report_plan p
CROSS JOIN LATERAL (
    SELECT greatest(p.created, p.first_reply_at, p.solved_at, p.tier_since,
                    CASE WHEN p.rating IS NOT NULL THEN p.rated_at END) AS updated,
           CASE WHEN p.first_reply_at IS NULL AND p.solved_at IS NULL THEN p.fr_due END
               AS fr_running,
           CASE WHEN p.solved_at IS NULL AND (NOT p.paused OR p.res_due <= p.paused_since)
                THEN p.res_due END AS res_running
) x
ORDER BY p.id
"""

_REPORT_METRICS = """
INSERT INTO tickets_ticketmetrics (
    ticket_id, created_at, channel, priority, tier_level, organization_id, assignee_id, merged,
    first_tier, replies, first_reply_at, first_reply_minutes, first_reply_business_minutes,
    first_reply_by_id, solved_at, first_solved_at, resolution_minutes,
    resolution_business_minutes, solved_tier, reopens, waiting_minutes, on_hold_minutes,
    paused_since, escalations, deescalations, tier_since, tier0_minutes, tier1_minutes,
    tier2_minutes, tier3_minutes, rating, rated_at)
SELECT p.id, p.created, p.channel, p.priority, p.tier_level, p.organization_id, p.assignee_id,
       p.merged_into_id IS NOT NULL, p.first_tier, p.replies, p.first_reply_at,
       p.first_reply_minutes, p.first_reply_business_minutes, p.first_reply_by_id, p.solved_at,
       p.first_solved_at, p.resolution_minutes, p.resolution_business_minutes,
       CASE WHEN p.solved_at IS NOT NULL THEN p.tier_level END, p.reopens,
       CASE WHEN p.u_pause < 0.35 THEN round(p.life_business * 0.7 * p.u_pause)::int ELSE 0 END,
       CASE WHEN p.u_pause > 0.9 THEN round(p.life_business * (p.u_pause - 0.9))::int ELSE 0 END,
       p.paused_since, p.escalations, p.deescalations, p.tier_since,
       round(p.life_business * w.w0)::int, round(p.life_business * w.w1)::int,
       round(p.life_business * w.w2)::int, round(p.life_business * w.w3)::int,
       p.rating, CASE WHEN p.rating IS NOT NULL THEN p.rated_at END
FROM bench_report_plan p
CROSS JOIN LATERAL (
    SELECT coalesce(p.a1, 1) AS b1, coalesce(p.a2, 1) AS b2
) b
CROSS JOIN LATERAL (
    SELECT
      b.b1 * (p.first_tier = 0)::int + (b.b2 - b.b1) * coalesce(p.to1 = 0, false)::int
          + (1 - b.b2) * coalesce(p.to2 = 0, false)::int AS w0,
      b.b1 * (p.first_tier = 1)::int + (b.b2 - b.b1) * coalesce(p.to1 = 1, false)::int
          + (1 - b.b2) * coalesce(p.to2 = 1, false)::int AS w1,
      b.b1 * (p.first_tier = 2)::int + (b.b2 - b.b1) * coalesce(p.to1 = 2, false)::int
          + (1 - b.b2) * coalesce(p.to2 = 2, false)::int AS w2,
      b.b1 * (p.first_tier = 3)::int + (b.b2 - b.b1) * coalesce(p.to1 = 3, false)::int
          + (1 - b.b2) * coalesce(p.to2 = 3, false)::int AS w3
) w
ORDER BY p.id
"""

_REPORT_MOVES = f"""
SELECT p.id AS ticket_id, p.at1 AS at, p.first_tier AS from_level, p.to1 AS to_level,
       p.first_tier > 0 AND p.u_person < 0.8 AS by_person,
       CASE WHEN p.to1 > p.first_tier
            THEN CASE WHEN p.first_tier = 0 THEN 'No self-service answer accepted'
                      ELSE {_pick("up", "p.u_person")} END
            ELSE {_pick("down", "p.u_person")} END AS reason,
       p.assignee_id
FROM bench_report_plan p WHERE p.to1 IS NOT NULL
UNION ALL
SELECT p.id, p.at2, p.to1, p.to2, p.u_person < 0.9,
       CASE WHEN p.to2 > p.to1 THEN {_pick("up", "p.u_pause")}
            ELSE {_pick("down", "p.u_pause")} END,
       p.assignee_id
FROM bench_report_plan p WHERE p.to2 IS NOT NULL
"""

_REPORT_TIER_MOVES = f"""
INSERT INTO tickets_tiermove (ticket_id, at, from_level, to_level, reason, by_person)
SELECT ticket_id, at, from_level, to_level, reason, by_person
FROM ({_REPORT_MOVES}) moves
ORDER BY at
"""

_REPORT_CLOCKS = """
INSERT INTO tickets_slaclock (kind, cycle, target_minutes, started_at, pauses, due_at,
                              warning_at, stopped_at, ticket_id, policy_id, breached)
SELECT kind, 1, target, p.created, pauses, due, warning, stopped, p.id, p.sla_policy_id,
       CASE WHEN stopped IS NOT NULL THEN stopped > due0 ELSE due0 < %(now)s::timestamptz AND
                 (NOT running_paused OR due0 <= p.paused_since) END
FROM bench_report_plan p
CROSS JOIN LATERAL (
    SELECT 'first_response' AS kind, p.fr_target AS target, p.fr_due AS due0,
           coalesce(p.first_reply_at, p.solved_at) AS stopped, false AS running_paused
    UNION ALL
    SELECT 'resolution', p.res_target, p.res_due, p.solved_at,
           p.solved_at IS NULL AND p.paused
) c
CROSS JOIN LATERAL (
    SELECT CASE WHEN c.running_paused AND c.due0 > p.paused_since THEN NULL ELSE c.due0 END
               AS due,
           CASE WHEN c.running_paused AND c.due0 > p.paused_since THEN NULL
                ELSE p.created + (c.due0 - p.created) * 0.8 END AS warning,
           CASE WHEN c.running_paused
                THEN jsonb_build_array(jsonb_build_array(
                    to_char(p.paused_since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS+00:00'),
                    NULL))
                ELSE '[]'::jsonb END AS pauses
) x
ORDER BY p.created, p.id, c.kind
"""

_REPORT_EVENTS = f"""
INSERT INTO tickets_ticketevent (kind, actor_label, data, created_at, actor_id, ticket_id)
SELECT kind, label, data, at, actor, ticket FROM (
    SELECT 'created' AS kind, 'system' AS label, '{{}}'::jsonb AS data, p.created AS at,
           NULL::int AS actor, p.id AS ticket
    FROM bench_report_plan p
    UNION ALL
    SELECT CASE WHEN m.to_level > m.from_level THEN 'escalated' ELSE 'deescalated' END,
           CASE WHEN m.by_person THEN '' ELSE 'routing' END,
           jsonb_build_object('from', m.from_level, 'to', m.to_level, 'reason', m.reason,
                              'handoff_note', 'See the thread; customer informed.'),
           m.at, CASE WHEN m.by_person THEN m.assignee_id END, m.ticket_id
    FROM ({_REPORT_MOVES}) m
    UNION ALL
    SELECT 'rated', 'customer (rating link)',
           jsonb_build_object('rating', p.rating, 'comment',
               CASE WHEN p.rating <= 2 AND p.u_comment < 0.7
                    THEN {_pick("bad", "p.u_comment / 0.7")}
                    WHEN p.rating = 3 AND p.u_comment < 0.4
                    THEN {_pick("neutral", "p.u_comment / 0.4")}
                    WHEN p.rating >= 4 AND p.u_comment < 0.3
                    THEN {_pick("good", "p.u_comment / 0.3")}
                    ELSE '' END),
           p.rated_at, NULL, p.id
    FROM bench_report_plan p WHERE p.rating IS NOT NULL
) events
ORDER BY at
"""

# The customer's first message; each agent reply (the first with the first wait, 85 % of
# the later ones answering a customer who wrote again, with that message before it).
_REPORT_MESSAGES = f"""
INSERT INTO tickets_message (
    kind, channel, body_text, body_html, external_id, delivery_status, created_at,
    author_customer_id, author_user_id, ticket_id, delivery_error, is_automatic, original,
    provider_id, sender, subject, waited_minutes, waited_business_minutes, first_reply,
    form_key)
WITH replies AS MATERIALIZED (
    SELECT r.*,
           CASE WHEN r.k = 1 THEN r.fr_min
                WHEN r.u < 0.85 THEN greatest(1, round(r.gap * (0.2 + 0.7 * r.u2)))::int
           END AS waited
    FROM (
        SELECT p.id, p.channel, p.customer_id, p.f, k, random() AS u, random() AS u2,
               p.first_reply_minutes AS fr_min,
               CASE WHEN k = 1 THEN p.first_reply_at
                    ELSE p.first_reply_at + (p.life_end - p.first_reply_at)
                         * ((k - 1)::float / p.replies) END AS at,
               extract(epoch FROM p.life_end - p.first_reply_at) / 60 / p.replies AS gap,
               CASE WHEN k = 1 THEN p.first_reply_by_id
                    ELSE coalesce(p.assignee_id, p.first_reply_by_id) END AS author
        FROM bench_report_plan p CROSS JOIN LATERAL generate_series(1, p.replies) k
        WHERE p.first_reply_at IS NOT NULL
    ) r
)
SELECT kind, channel, body, '', NULL, status, at, customer, author, ticket, '', false, '', '',
       sender, '', waited, waited_business, first_reply, ''
FROM (
    SELECT 'inbound' AS kind, p.channel, {_pick("bodies", "p.u_comment")} AS body,
           '' AS status, p.created AS at, p.customer_id AS customer, NULL::int AS author,
           p.id AS ticket,
           CASE WHEN p.channel IN ('sms', 'phone') THEN '+1555' || lpad(p.customer_id::text, 7, '0')
                ELSE 'customer.' || p.customer_id || '@mail.example' END AS sender,
           NULL::int AS waited, NULL::int AS waited_business, false AS first_reply
    FROM bench_report_plan p
    UNION ALL
    SELECT 'inbound', r.channel, {_pick("bodies", "r.u2")}, '',
           r.at - r.waited * interval '1 minute', r.customer_id, NULL, r.id,
           'customer.' || r.customer_id || '@mail.example', NULL, NULL, false
    FROM replies r WHERE r.k > 1 AND r.waited IS NOT NULL
    UNION ALL
    SELECT 'outbound',
           CASE WHEN r.channel IN ('email', 'sms', 'chat') THEN r.channel ELSE 'email' END,
           {_pick("bodies", "r.u")}, 'delivered', r.at, NULL, r.author, r.id, '',
           r.waited, round(r.waited * r.f)::int, r.k = 1
    FROM replies r
) messages
ORDER BY at
"""
