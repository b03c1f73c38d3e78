"""Spikes: more tickets alike than usual in a short time, told to the agents at once.

Each new ticket is counted, after its commit, under what it shares with others:
- its telling words, read by the knowledge base's search engine (stems, synonym groups),
  as pairs ("internet" and "down"): one word alone is too common to mean one cause;
- its product, and its product in its service's region;
- its customer's organization.

Counts are kept in the cache (Redis in production: one round trip a ticket) by slot: five
minutes for the window, an hour for what is usual. A bucket spikes when its window holds
at least HELPDESK_SPIKE_MIN_TICKETS and HELPDESK_SPIKE_FACTOR times its usual count over a
window of that length in the day before. Then a Spike is recorded with the tickets
gathered and every agent is told, with a link to make a problem of it in one click;
while a bucket's spike lasts (an hour), more tickets alike join it instead of starting
another.
"""

import logging
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from itertools import combinations
from typing import Any

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from knowledge.selectors import telling_terms
from tickets import policy
from tickets.models import (
    AgentProfile,
    EventKind,
    Problem,
    Product,
    Spike,
    Ticket,
    TicketEvent,
)
from tickets.services._common import Actor, message_in_hand

logger = logging.getLogger(__name__)

SLOT_SECONDS = 300
WINDOW_SLOTS = 3  # the window: the last 15 minutes
USUAL_HOURS = 24  # what is usual: the day before the current hour
# The words a ticket is counted under, in pairs: of its subject (short: nearly all of it)
# and of its text (a long email says much besides).
SUBJECT_WORDS = 6
TEXT_WORDS = 3
MOST_WORDS = 7  # at most 21 pairs
GATHERED = 200  # tickets a spike gathers at most
SPIKE_LASTS = 3600  # seconds a bucket's spike takes in more tickets
NOTIFICATION_KIND = "spike"


@dataclass(frozen=True)
class Arrival:
    """A new ticket as the detector reads it (from what its door had in hand)."""

    ticket_id: int
    at: float  # when it was written (a timestamp)
    subject: str
    text: str
    product_id: int | None
    product_name: str
    region: str
    organization_id: int | None
    organization_name: str


def buckets(arrival: Arrival) -> dict[str, str]:
    """What the ticket is counted under: bucket key -> how people read it."""
    found: dict[str, str] = {}
    # The subject says what it is about; a long body says it again among much else.
    subject = telling_terms(arrival.subject, most=SUBJECT_WORDS)
    text = [t for t in telling_terms(arrival.text, most=TEXT_WORDS) if t not in subject]
    words = sorted([*subject, *text][:MOST_WORDS])
    for a, b in combinations(words, 2):
        found[f"w:{a}+{b}"] = f"words {_readable(a)}, {_readable(b)}"
    if arrival.product_id is not None:
        found[f"p:{arrival.product_id}"] = arrival.product_name
        if arrival.region:
            region = arrival.region.casefold()
            found[f"pr:{arrival.product_id}:{region}"] = (
                f"{arrival.product_name} in {arrival.region}"
            )
    if arrival.organization_id is not None:
        found[f"o:{arrival.organization_id}"] = arrival.organization_name
    return found


def _readable(term: str) -> str:
    return term.removeprefix("~").replace("_", " ")


# --- Hearing new tickets ---------------------------------------------------------------------


def on_events(events: list[TicketEvent]) -> None:
    """An event listener (tickets.apps): new tickets are counted once their door commits."""
    if not settings.HELPDESK_SPIKES:
        return
    created = {e.ticket_id for e in events if e.kind == EventKind.CREATED}
    if not created:
        return
    arrivals = [
        _arrival(event.ticket, message)
        for event in events
        if event.kind == EventKind.MESSAGE_RECEIVED
        and event.ticket_id in created
        and (message := message_in_hand(event)) is not None
    ]
    if arrivals:
        transaction.on_commit(partial(_observe_safely, arrivals), robust=True)


def _arrival(ticket: Ticket, message: Any) -> Arrival:
    # Read from what the door holds: the customer (with their organization's id) and the
    # service it recognised are in memory; no query.
    service = ticket.service if Ticket.service.is_cached(ticket) else None
    customer = ticket.customer
    organization = (
        customer.organization
        if customer.organization_id and type(customer).organization.is_cached(customer)
        else None
    )
    product = service.product if service is not None else None
    return Arrival(
        ticket_id=ticket.pk,
        at=ticket.created_at.timestamp(),
        subject=ticket.subject,
        text=message.body_text[:2000],
        product_id=product.pk if product else None,
        product_name=product.name if product else "",
        region=service.region if service is not None else "",
        organization_id=customer.organization_id,
        organization_name=organization.name if organization else "their organization",
    )


def _observe_safely(arrivals: list[Arrival]) -> None:
    try:
        observe(arrivals)
    except Exception:
        # A missed spike is a courtesy lost; the ticket itself is committed and answered.
        logger.exception("spike detection failed for %s tickets", len(arrivals))


def observe(arrivals: Iterable[Arrival], *, now: float | None = None) -> list[Spike]:
    """Count these new tickets and record (and tell) the spikes they make."""
    now = time.time() if now is None else now
    found = []
    for arrival in arrivals:
        if arrival.at < now - SLOT_SECONDS * WINDOW_SLOTS:
            continue  # written long ago (an import, a backfill): not arriving now
        keys = buckets(arrival)
        if not keys:
            continue
        seen = _counts().hit(list(keys), arrival.ticket_id, arrival.at)
        spike = _judge(arrival, keys, seen)
        if spike is not None:
            found.append(spike)
    return found


# --- Judging ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """A bucket's counts once this ticket is counted."""

    window: int  # tickets in the window (the last WINDOW_SLOTS slots)
    usual: float  # tickets a window usually holds (from the day before)
    ongoing: int | None  # the spike it is part of, if one is still taking tickets


def _judge(arrival: Arrival, keys: dict[str, str], seen: dict[str, Seen]) -> Spike | None:
    ongoing = next((s.ongoing for s in seen.values() if s.ongoing), None)
    if ongoing is not None:
        _join(ongoing, arrival.ticket_id)
        return None
    spiking = [
        key
        for key, counts in seen.items()
        if counts.window >= settings.HELPDESK_SPIKE_MIN_TICKETS
        and counts.window >= settings.HELPDESK_SPIKE_FACTOR * counts.usual
    ]
    if not spiking:
        return None
    # The most telling bucket names the spike (a product in a region before the product,
    # words, an organization), the others say what else the tickets share.
    spiking.sort(key=lambda key: (_SPECIFIC.index(key.split(":", 1)[0]), -seen[key].window, key))
    main = spiking[0]
    spike = _record(main, [keys[k] for k in spiking], seen[main], _counts().gathered(main))
    _counts().mark_ongoing(spiking, spike.pk)
    return spike


_SPECIFIC = ["pr", "p", "w", "o"]


def _record(key: str, labels: list[str], seen: Seen, gathered: list[int]) -> Spike:
    since = timezone.now() - timedelta(seconds=SLOT_SECONDS * WINDOW_SLOTS)
    recent = Ticket.objects.filter(pk__in=gathered, created_at__gte=since)
    ids = sorted(recent.values_list("pk", flat=True))
    with transaction.atomic():
        spike = Spike.objects.create(
            key=key[:300],
            label="; ".join(labels)[:300],
            ticket_ids=ids,
            seen=seen.window,
            usual=round(seen.usual, 2),
        )
        _tell_agents(spike, newest=max(ids, default=None))
    return spike


# A ticket joins a spike under way in one statement (no lock, no read): its id is added to
# the spike's list unless there or the list is full.
_JOIN = {
    "postgresql": "UPDATE {table} SET ticket_ids = ticket_ids || to_jsonb(%s::bigint) "
    "WHERE id = %s AND jsonb_array_length(ticket_ids) < %s "
    "AND NOT ticket_ids @> to_jsonb(%s::bigint)",
    "sqlite": "UPDATE {table} SET ticket_ids = json_insert(ticket_ids, '$[#]', %s) "
    "WHERE id = %s AND json_array_length(ticket_ids) < %s "
    "AND NOT EXISTS (SELECT 1 FROM json_each(ticket_ids) WHERE value = %s)",
}


def _join(spike_id: int, ticket_id: int) -> None:
    sql = _JOIN[connection.vendor].format(table=Spike._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(sql, [ticket_id, spike_id, GATHERED, ticket_id])


def _tell_agents(spike: Spike, *, newest: int | None) -> None:
    from tickets.services.notices import Said, notify_agents_many

    if newest is None:
        return
    staff = AgentProfile.objects.filter(user__is_active=True).values_list("user_id", flat=True)
    text = Said(
        gettext_noop(
            "Spike: %(count)s tickets alike in %(minutes)s minutes (%(label)s). Make a problem "
            "of them?"
        ),
        {
            "count": len(spike.ticket_ids),
            "minutes": WINDOW_SLOTS * SLOT_SECONDS // 60,
            "label": spike.label,
        },
    )
    notify_agents_many([(list(staff), Ticket(pk=newest), NOTIFICATION_KIND, text)])


def spike_problem(*, spike: Spike, actor: Actor, title: str = "") -> Problem:
    """Make a problem of a spike, its tickets linked (the one-click "create problem")."""
    from tickets.problems.services import TITLE_MAX, problem_create

    policy.refuse_unless_works_tickets(actor, _("open problems"))
    with transaction.atomic():
        spike = Spike.objects.select_for_update().get(pk=spike.pk)
        if spike.problem_id is not None:
            return Problem.objects.get(pk=spike.problem_id)
        tickets = list(Ticket.objects.filter(pk__in=spike.ticket_ids).select_related("service"))
        product_id, region = _product_and_region(spike, tickets)
        problem = problem_create(
            # The spike's words make the title unless the agent gave one (shortened to fit).
            title=title or f"Many tickets alike: {spike.label.split('; ')[0]}"[:TITLE_MAX],
            actor=actor,
            source="spike",
            product=Product.objects.filter(pk=product_id).first() if product_id else None,
            region=region,
            tickets=tickets,
            note=f"From a spike of {spike.seen} tickets in {WINDOW_SLOTS * SLOT_SECONDS // 60} "
            f"minutes (usually {spike.usual:g}).",
        )
        spike.problem = problem
        spike.save(update_fields=["problem"])
    return problem


def spike_dismiss(*, spike: Spike, actor: Actor) -> None:
    """The spike is nothing to act on: it leaves the list of recent spikes."""
    policy.refuse_unless_works_tickets(actor, _("dismiss spikes"))
    Spike.objects.filter(pk=spike.pk, dismissed_at__isnull=True).update(dismissed_at=timezone.now())


def _product_and_region(spike: Spike, tickets: list[Ticket]) -> tuple[int | None, str]:
    """The product a spike of one product is about, and the region most of its tickets'
    services are in (when it is of a product in a region)."""
    kind, _, rest = spike.key.partition(":")
    if kind not in ("p", "pr"):
        return None, ""
    product_id = int(rest.split(":", 1)[0])
    if kind == "p":
        return product_id, ""
    regions = Counter(t.service.region for t in tickets if t.service and t.service.region)
    return product_id, regions.most_common(1)[0][0] if regions else ""


# --- Counting ---------------------------------------------------------------------------------

# One call a ticket on Redis: for each bucket, count the ticket in its five-minute slot and
# its hour, keep its id among the bucket's latest, and answer the window's count, the day's
# before this hour and the spike under way. Keys are made in the script from each bucket's
# prefix: a single Redis server, as the desk's cache and broker are.
_HIT = """
local slot, hour, id = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local window, hours, gathered = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local slot_ttl, hour_ttl, lasts = ARGV[7], ARGV[8], ARGV[9]
local out = {}
for i, b in ipairs(KEYS) do
  local s = b .. ':s:' .. slot
  redis.call('INCR', s); redis.call('EXPIRE', s, slot_ttl)
  local h = b .. ':h:' .. hour
  redis.call('INCR', h); redis.call('EXPIRE', h, hour_ttl)
  local ids = b .. ':t'
  redis.call('LPUSH', ids, id); redis.call('LTRIM', ids, 0, gathered - 1)
  redis.call('EXPIRE', ids, lasts)
  local w = 0
  for n = 0, window - 1 do w = w + (tonumber(redis.call('GET', b .. ':s:' .. (slot - n))) or 0) end
  local d = 0
  for n = 1, hours do d = d + (tonumber(redis.call('GET', b .. ':h:' .. (hour - n))) or 0) end
  out[i] = {w, d, redis.call('GET', b .. ':on') or ''}
end
return out
"""


class _Counts:
    """Counts by bucket and slot in the cache: on Redis, one script call a ticket; on other
    caches (the embedded default's, in one process), through the cache's own calls."""

    prefix = "spike"

    def _bucket(self, key: str) -> str:
        return f"{self.prefix}:{key}"

    def hit(self, keys: list[str], ticket_id: int, now: float) -> dict[str, Seen]:
        redis = _redis()
        if redis is not None:
            return self._hit_redis(redis, keys, ticket_id, now)
        return self._hit_cache(keys, ticket_id, now)

    def _hit_redis(self, redis: Any, keys: list[str], ticket_id: int, now: float) -> dict:
        prefix = _cache_prefix()
        answers = _hit_script(
            redis,
            keys=[prefix + self._bucket(key) for key in keys],
            args=[
                int(now // SLOT_SECONDS), int(now // 3600), ticket_id, WINDOW_SLOTS,
                USUAL_HOURS, GATHERED, SLOT_SECONDS * (WINDOW_SLOTS + 1),
                3600 * (USUAL_HOURS + 2), SPIKE_LASTS,
            ],
        )  # fmt: skip
        return {
            key: _seen(int(window), int(day), ongoing.decode() if ongoing else None)
            for key, (window, day, ongoing) in zip(keys, answers, strict=True)
        }

    def _hit_cache(self, keys: list[str], ticket_id: int, now: float) -> dict[str, Seen]:
        slot, hour = int(now // SLOT_SECONDS), int(now // 3600)
        seen = {}
        for key in keys:
            bucket = self._bucket(key)
            _incr(f"{bucket}:s:{slot}", SLOT_SECONDS * (WINDOW_SLOTS + 1))
            _incr(f"{bucket}:h:{hour}", 3600 * (USUAL_HOURS + 2))
            ids_key = f"{bucket}:t"
            cache.set(ids_key, [ticket_id, *cache.get(ids_key, [])][:GATHERED], SPIKE_LASTS)
            window = [f"{bucket}:s:{slot - n}" for n in range(WINDOW_SLOTS)]
            day = [f"{bucket}:h:{hour - n}" for n in range(1, USUAL_HOURS + 1)]
            values = cache.get_many(window + day)
            seen[key] = _seen(
                sum(int(values.get(k) or 0) for k in window),
                sum(int(values.get(k) or 0) for k in day),
                cache.get(f"{bucket}:on"),
            )
        return seen

    def gathered(self, key: str) -> list[int]:
        """The latest tickets counted under a bucket, newest first (read when it spikes)."""
        redis = _redis()
        ids_key = f"{self._bucket(key)}:t"
        if redis is not None:
            return [int(i) for i in redis.lrange(_cache_prefix() + ids_key, 0, GATHERED - 1)]
        return [int(i) for i in cache.get(ids_key, [])]

    def mark_ongoing(self, keys: list[str], spike_id: int) -> None:
        redis = _redis()
        for key in keys:
            # Read by the script as a plain value: set through the client on Redis.
            name = f"{self._bucket(key)}:on"
            if redis is not None:
                redis.set(_cache_prefix() + name, spike_id, ex=SPIKE_LASTS)
            else:
                cache.set(name, spike_id, SPIKE_LASTS)


def _seen(window: int, day: int, ongoing: Any) -> Seen:
    windows_a_day = USUAL_HOURS * 3600 / (SLOT_SECONDS * WINDOW_SLOTS)
    return Seen(
        window=window,
        usual=day / windows_a_day,
        ongoing=int(ongoing) if ongoing not in (None, "") else None,
    )


def _incr(key: str, timeout: int) -> None:
    cache.add(key, 0, timeout)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout)


def _redis() -> Any:
    """The Redis client of the default cache when it is Django's Redis cache, else None."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return None
    return backend._cache.get_client(write=True)


_script_held: list[Any] = []


def _hit_script(redis: Any, *, keys: list[str], args: list[Any]) -> Any:
    """Run the counting script: by its hash, the script itself again if the server forgot
    it (redis-py's Script; registered once, run on whichever client of the pool)."""
    if not _script_held:
        _script_held.append(redis.register_script(_HIT))
    return _script_held[0](keys=keys, args=args, client=redis)


def _cache_prefix() -> str:
    # What Django's cache puts before a key (its KEY_PREFIX and version), so that the keys
    # written by the script are the cache's own, cleared with it.
    return caches["default"].make_key("")


_counts_instance = _Counts()


def _counts() -> _Counts:
    return _counts_instance
