"""The built-in queues sort by any of their columns, as saved views do: a header's link
sorts by it (again: the other way round), keeps the filters, and pages walk every ticket
once; a view saved from a sorted queue keeps its sort."""

import base64
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.factories import AgentFactory
from tickets.models import SavedView, Ticket

pytestmark = pytest.mark.django_db
PRIORITY_RANK = {"low": 0, "normal": 1, "high": 2, "urgent": 3}


@pytest.fixture
def agent_client() -> Client:
    client = Client()
    client.force_login(AgentFactory(username="arne", tiers=[1]))
    return client


def header_link(html: str, column: str) -> str:
    found = re.search(rf'data-column="{column}"><a href="([^"]+)"', html)
    assert found, f"no {column} header"
    return found.group(1).replace("&amp;", "&")


def refs(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<span class="ref">HD-(\d+)</span>', html)]


def test_the_default_order_is_shown_on_its_header_and_a_click_sorts_by_priority(
    agent_client, open_ticket
):
    made = {}
    for priority in ("high", "low", "urgent", "normal"):
        ticket = open_ticket(tier_level=1)
        Ticket.objects.filter(pk=ticket.pk).update(priority=priority)
        made[ticket.pk] = priority
    html = agent_client.get("/agent/queue/all/").content.decode()
    assert 'aria-sort="ascending" data-column="due"' in html  # the next deadline first
    link = header_link(html, "priority")
    assert link == "?sort=priority"
    html = agent_client.get(f"/agent/queue/all/{link}").content.decode()
    assert [made[pk] for pk in refs(html)] == ["low", "normal", "high", "urgent"]
    assert 'aria-sort="ascending" data-column="priority"' in html
    html = agent_client.get(f"/agent/queue/all/{header_link(html, 'priority')}").content.decode()
    assert [made[pk] for pk in refs(html)] == ["urgent", "high", "normal", "low"]


def test_a_header_keeps_the_filters_and_pages_walk_every_ticket_once(agent_client, open_ticket):
    now = timezone.now()
    wanted = []
    for i in range(70):  # 58 shown: two pages
        ticket = open_ticket(tier_level=1, subject=f"Case {i}")
        channel = "web" if i % 6 else "sms"  # the filter leaves these out
        Ticket.objects.filter(pk=ticket.pk).update(
            priority=["low", "normal", "high", "urgent"][i % 4],
            sla_due_at=None if i % 5 == 0 else now + timedelta(hours=i % 3),
            channel=channel,
        )
        if channel != "sms":
            wanted.append(ticket.pk)
    html = agent_client.get("/agent/queue/all/", {"channel": ["web", "email"]}).content.decode()
    link = header_link(html, "priority")
    assert "channel=web" in link and "channel=email" in link and "sort=priority" in link
    link = header_link(agent_client.get(f"/agent/queue/all/{link}").content.decode(), "priority")
    assert "sort=-priority" in link

    seen, pages, url = [], 0, f"/agent/queue/all/{link}"
    while url:
        html = agent_client.get(url).content.decode()
        pages += 1
        seen += refs(html)
        found = re.search(r'rel="next" href="\?([^"]+)"', html)
        url = f"/agent/queue/all/?{found.group(1).replace('&amp;', '&')}" if found else ""
    assert pages == 2 and sorted(seen) == sorted(wanted) and len(seen) == len(wanted)
    priority = dict(Ticket.objects.filter(pk__in=wanted).values_list("pk", "priority"))

    def key(pk: int) -> Any:
        return (PRIORITY_RANK[priority[pk]], pk)

    assert seen == sorted(wanted, key=key, reverse=True)


def test_a_bad_sort_or_cursor_gets_a_clear_answer(agent_client, open_ticket):
    open_ticket(tier_level=1)
    response = agent_client.get("/agent/queue/all/", {"sort": "password"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    response = agent_client.get(
        "/agent/queue/all/", {"sort": "-customer", "after": "bm90LWEtY3Vyc29y"}, follow=True
    )
    assert "That page link is not valid" in response.content.decode()


def cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


@pytest.mark.parametrize(
    ("sort", "after"),
    [
        ("customer", cursor("customer", "Ann\u0000", 1)),  # text the database refuses
        ("-due", cursor("due", "2026-02-30T09:00:00+00:00", 1)),  # no such day
        ("reference", cursor("reference", 10**30, 10**30)),  # past a 64-bit id
        ("", cursor("2026-02-30T09:00:00+00:00", 1)),  # the queue's own order alike
        ("newest", cursor("2026-03-01T09:00:00+00:00", -(10**30))),
    ],
)
def test_a_forged_cursor_of_values_the_database_cannot_compare_returns_to_the_first_page(
    sort, after, agent_client, open_ticket
):
    """Each was a server error (a NUL in text, a date that does not exist, an id past the
    column's range on SQLite)."""
    ticket = open_ticket(tier_level=1)
    response = agent_client.get("/agent/queue/all/", {"sort": sort, "after": after}, follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "That page link is not valid" in html and refs(html) == [ticket.pk]


def test_a_view_saved_from_a_sorted_queue_keeps_its_sort(agent_client, open_ticket):
    open_ticket(tier_level=1)
    response = agent_client.post(
        "/agent/views/", {"name": "By customer", "view": "all", "query": "sort=-customer"}
    )
    assert response.status_code == 302
    view = SavedView.objects.get()
    assert view.sort == "-customer"
    html = agent_client.get(response["Location"]).content.decode()
    assert 'aria-sort="descending" data-column="customer"' in html
