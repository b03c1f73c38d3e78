"""Spikes: a burst of tickets alike tells the agents at once, gathers the tickets and makes a
problem of them in one click; tickets arriving at the usual pace tell nobody."""

import time
from typing import Any

import pytest
from django.conf import settings as django_settings

from tests.factories import AgentFactory
from tickets import services
from tickets.catalog.services import service_save
from tickets.models import Notification, Product, Spike, Ticket
from tickets.problems import spikes

pytestmark = pytest.mark.django_db

BURST = [
    "My internet is down since this morning",
    "Internet down again!! nothing loads",
    "internet is DOWN in our street",
    "Is the internet down? Router shows red",
    "Our office internet went down an hour ago",
]


@pytest.fixture(autouse=True)
def _spikes_on(settings: Any) -> None:
    settings.HELPDESK_SPIKES = True


@pytest.fixture
def ingest(inbound: Any, django_capture_on_commit_callbacks: Any) -> Any:
    """A customer's email through the ingest door; what it does after commit runs."""

    def ingest_(text: str, **overrides: Any) -> Ticket:
        with django_capture_on_commit_callbacks(execute=True):
            result = services.ticket_ingest(inbound=inbound(subject=text, text=text, **overrides))
        return result.ticket

    return ingest_


@pytest.fixture
def redis_cache(settings: Any) -> None:
    """The production cache (Redis): counts go through one pipeline a ticket."""
    from django.core.cache import cache

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": django_settings.REDIS_URL,
            "KEY_PREFIX": f"test-spikes-{time.time_ns()}",
        }
    }
    yield
    cache.clear()


@pytest.mark.parametrize(
    "cache_kind", ["locmem", pytest.param("redis", marks=pytest.mark.services)]
)
def test_a_burst_of_tickets_alike_tells_the_agents(
    cache_kind: str, ingest: Any, request: Any
) -> None:
    if cache_kind == "redis":
        request.getfixturevalue("redis_cache")
    agents = [AgentFactory(username=f"agent-{n}", tiers=[1]) for n in range(2)]
    tickets = [ingest(text) for text in BURST[:4]]
    assert not Spike.objects.exists(), "four is not yet a spike"
    ingest("Unrelated: how do I change my invoice address?")

    fifth = ingest(BURST[4])

    spike = Spike.objects.get()
    assert sorted(spike.ticket_ids) == sorted([t.pk for t in tickets] + [fifth.pk])
    assert "internet" in spike.label and "down" in spike.label
    told = Notification.objects.filter(kind="spike")
    assert sorted(told.values_list("user_id", flat=True)) == sorted(a.pk for a in agents)
    assert "Spike: 5 tickets alike" in told.first().text

    sixth = ingest("internet down here too")
    spike.refresh_from_db()
    assert sixth.pk in spike.ticket_ids, "a ticket alike joins the spike under way"
    assert Spike.objects.count() == 1
    assert told.count() == 2, "the agents are not told again"


def test_a_problem_made_of_a_spike_links_its_tickets(ingest: Any, agent: Any) -> None:
    tickets = [ingest(text) for text in BURST]
    spike = Spike.objects.get()

    problem = spikes.spike_problem(spike=spike, actor=agent)

    assert problem.source == "spike"
    assert set(problem.incidents.values_list("pk", flat=True)) == {t.pk for t in tickets}
    assert spikes.spike_problem(spike=spike, actor=agent) == problem, "one click is enough"


def test_the_same_product_in_one_region_is_a_spike_whatever_the_words(ingest: Any) -> None:
    fibre = Product.objects.create(name="Fibre")
    texts = ["no tv", "billing looks odd", "cannot call out", "slow at night", "weird noise"]
    for n, text in enumerate(texts):
        sender = f"leeds{n}@example.com"
        customer = services.customer_get_or_create_for_contact(kind="email", value=sender)
        service_save(
            service=None,
            product=fibre,
            customer=customer,
            identifier=f"FB-{n:04d}",
            region="Leeds",
            actor=None,
        )
        ticket = ingest(f"{text} on line FB-{n:04d}", sender=sender)
        assert ticket.service.identifier == f"FB-{n:04d}", "recognised from the message"
    spike = Spike.objects.get()
    assert spike.label.startswith("Fibre in Leeds; Fibre")
    problem = spikes.spike_problem(spike=spike, actor=None)
    assert (problem.title, problem.product, problem.region) == (
        "Many tickets alike: Fibre in Leeds",
        fibre,
        "Leeds",
    )


def test_tickets_at_the_usual_pace_are_no_spike(ingest: Any) -> None:
    # A day of the same words, an hour apart: that is what usual looks like.
    day_ago = time.time() - 24 * 3600
    for hour in range(24):
        at = day_ago + hour * 3600 + 60
        spikes.observe(
            [spikes.Arrival(10_000 + hour, at, "internet down", "", None, "", "", None, "")],
            now=at,
        )
    # ... several an hour, every hour: five in 15 minutes is not four times that.
    for n in range(24 * 5):
        at = day_ago + (n // 5) * 3600 + (n % 5) * 60
        spikes.observe(
            [spikes.Arrival(20_000 + n, at, "internet down", "", None, "", "", None, "")],
            now=at,
        )
    for text in BURST:
        ingest(text)
    assert not Spike.objects.filter(key="w:~internet+down").exists()


def test_tickets_written_long_ago_are_not_arrivals(ingest: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    long_ago = timezone.now() - timedelta(days=3)
    for text in BURST:
        ingest(text, received_at=long_ago)
    assert not Spike.objects.exists(), "an import of old tickets is no burst"
