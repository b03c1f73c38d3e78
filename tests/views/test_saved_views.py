"""Personal and shared views: who sees and manages them, any status, chosen columns, sort by
any shown column with keyset pages, and sidebar counts at a constant number of queries."""

import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import browser
from tests.factories import AgentFactory, LeadFactory, LightAgentFactory
from tickets import services
from tickets.models import SavedView, Ticket, Tier
from tickets.saved_views import COLUMNS

pytestmark = pytest.mark.django_db


@pytest.fixture
def tier1_agent() -> Any:
    return AgentFactory(username="arne", tiers=[1])


@pytest.fixture
def tier2_agent() -> Any:
    return AgentFactory(username="berit", tiers=[2])


def new_view(client: Client, **fields: Any) -> Any:
    data = {
        "name": "Solved in tier 1",
        "sharing": "tier",
        "share_tier": Tier.objects.get(level=1).pk,
        "queue": "any",
        "status": ["resolved", "closed"],
        "columns": ["reference", "status", "updated"],
        "order_reference": "1",
        "order_status": "3",
        "order_updated": "2",
        "sort": "-updated",
    }
    data.update(fields)
    return client.post("/agent/views/new/", data)


def sidebar_views(html: str, section: str) -> dict[str, int]:
    found = re.search(rf'<ul id="{section}">(.*?)</ul>', html, re.S)
    if found is None:
        return {}
    pairs = re.findall(r'>([^<>]+?) <span class="count">(\d+)</span>', found.group(1))
    return {name: int(n) for name, n in pairs}


def refs(html: str) -> list[str]:
    return re.findall(r'<span class="ref">(HD-\d+)</span>', html)


def solve(ticket: Ticket, agent: Any) -> None:
    services.ticket_change_status(ticket=ticket, status="resolved", actor=agent)


def test_a_lead_shares_a_view_with_a_tier_and_its_agents_see_it_with_its_count(
    lead, tier1_agent, tier2_agent, open_ticket
):
    solved = [open_ticket(tier_level=1) for _ in range(3)]
    for ticket in solved:
        solve(ticket, lead)
    open_ticket(tier_level=1)  # still open: not in the view

    response = new_view(browser(lead))
    assert response.status_code == 302
    view = SavedView.objects.get()
    assert (view.sharing, view.tier.level, view.columns, view.sort) == (
        "tier",
        1,
        "reference,updated,status",
        "-updated",
    )

    html = browser(tier1_agent).get("/agent/queue/mine/").content.decode()
    assert sidebar_views(html, "shared-views") == {"Solved in tier 1": 3}
    other = browser(tier2_agent).get("/agent/queue/mine/").content.decode()
    assert "Solved in tier 1" not in other
    assert browser(tier2_agent).get(f"/agent/views/{view.pk}/").status_code == 404

    page = browser(tier1_agent).get(f"/agent/views/{view.pk}/").content.decode()
    headers = re.findall(r'<th scope="col" aria-sort="[a-z]+" data-column="(\w+)"', page)
    assert headers == ["reference", "updated", "status"]
    # Sorted by the last update, newest first: the last solved first.
    assert refs(page) == [t.reference for t in reversed(solved)]
    # The agent may not edit it.
    assert 'id="edit-view"' not in page


@pytest.mark.parametrize(
    ("role", "may_share"), [("lead", True), ("agent", False), ("light_agent", False)]
)
def test_only_admins_and_leads_share_views(role, may_share):
    factory = {"lead": LeadFactory, "agent": AgentFactory, "light_agent": LightAgentFactory}
    user = factory[role](username="someone", tiers=[1])
    response = new_view(browser(user), sharing="everyone")
    assert SavedView.objects.filter(sharing="everyone").exists() is may_share
    if not may_share:
        assert response.status_code == 400
        # A personal view is everyone's to keep.
        new_view(browser(user), sharing="personal", name="Mine")
        assert SavedView.objects.get(name="Mine").owner == user


def test_agents_cannot_edit_or_delete_a_shared_view(lead, tier1_agent):
    new_view(browser(lead), sharing="everyone")
    view = SavedView.objects.get()
    agent = browser(tier1_agent)
    assert agent.post(f"/agent/views/{view.pk}/edit/", {"name": "Hijacked"}).status_code == 403
    assert agent.post(f"/agent/views/{view.pk}/delete/").status_code == 403
    assert SavedView.objects.get().name == "Solved in tier 1"
    # The lead edits it in the browser.
    response = browser(lead).post(
        f"/agent/views/{view.pk}/edit/",
        {
            "name": "Everything solved",
            "sharing": "everyone",
            "queue": "any",
            "status": ["resolved"],
            "columns": ["subject", "priority"],
            "sort": "priority",
        },
    )
    assert response.status_code == 302
    view.refresh_from_db()
    assert (view.name, view.columns, view.sort) == (
        "Everything solved",
        "subject,priority",
        "priority",
    )
    assert browser(lead).post(f"/agent/views/{view.pk}/delete/").status_code == 302
    assert not SavedView.objects.exists()


def test_a_personal_view_is_its_owners_alone(tier1_agent):
    other = AgentFactory(username="otto", tiers=[1])
    new_view(browser(tier1_agent), sharing="personal", name="Mine")
    view = SavedView.objects.get()
    assert browser(other).get(f"/agent/views/{view.pk}/").status_code == 404
    assert browser(other).post(f"/agent/views/{view.pk}/delete/").status_code == 404
    assert "Mine" in browser(tier1_agent).get("/agent/queue/mine/").content.decode()


def test_bad_input_gets_a_clear_error_and_saves_nothing(lead):
    response = new_view(browser(lead), sort="-priority")  # not a shown column
    assert response.status_code == 400
    assert "Sort by one of the shown columns" in response.content.decode()
    response = new_view(browser(lead), sharing="tier", share_tier="")
    assert "Choose the tier to share the view with" in response.content.decode()
    assert not SavedView.objects.exists()


def _walk(client: Client, url: str) -> tuple[list[str], int]:
    seen: list[str] = []
    pages = 0
    next_url = url
    while next_url:
        html = client.get(next_url).content.decode()
        pages += 1
        seen += refs(html)
        found = re.search(r'rel="next" href="\?([^"]+)"', html)
        next_url = f"{url.split('?')[0]}?{found.group(1).replace('&amp;', '&')}" if found else ""
    return seen, pages


@pytest.mark.parametrize("sort", ["subject", "-subject", "priority", "-assignee", "due", "-due"])
def test_sorting_by_a_column_walks_every_ticket_once_in_order(sort, lead, open_ticket):
    now = timezone.now()
    tickets = []
    for i in range(57):
        ticket = open_ticket(tier_level=1, subject=f"Case {i % 7}")
        Ticket.objects.filter(pk=ticket.pk).update(
            priority=["low", "normal", "high", "urgent"][i % 4],
            # Some without a deadline, many sharing one: ties are broken by id.
            sla_due_at=None if i % 5 == 0 else now + timedelta(hours=i % 3),
            assignee=lead if i % 2 else None,
        )
        tickets.append(ticket.pk)
    columns = ["reference", "subject", "priority", "assignee", "due"]
    new_view(browser(lead), sharing="everyone", queue="all", status=[], columns=columns, sort="")
    view = SavedView.objects.get()

    seen, pages = _walk(browser(lead), f"/agent/views/{view.pk}/?sort={sort}")

    assert pages == 2
    assert sorted(seen) == sorted(f"HD-{pk}" for pk in tickets) and len(seen) == 57
    key = sort.lstrip("-")
    rows = {t.pk: t for t in Ticket.objects.select_related("assignee").filter(pk__in=tickets)}
    order = {"low": 0, "normal": 1, "high": 2, "urgent": 3}
    far = now + timedelta(days=3650)

    def value(pk: int) -> Any:
        t = rows[pk]
        return {
            "subject": t.subject,
            "priority": order[t.priority],
            "assignee": t.assignee.username if t.assignee else "",
            "due": t.sla_due_at or far,
        }[key]

    ids = [int(ref[3:]) for ref in seen]
    expected = sorted(ids, key=lambda pk: (value(pk), pk), reverse=sort.startswith("-"))
    assert ids == expected


def test_clicking_a_header_sorts_by_it_and_again_the_other_way(lead, open_ticket):
    for subject in ("Beta", "Alpha", "Gamma"):
        open_ticket(tier_level=1, subject=subject)
    new_view(browser(lead), sharing="everyone", queue="all", status=[],
             columns=["reference", "subject"], sort="")  # fmt: skip
    view = SavedView.objects.get()
    client = browser(lead)
    page = client.get(f"/agent/views/{view.pk}/").content.decode()
    link = re.search(r'data-column="subject"><a href="([^"]+)"', page).group(1)
    assert link == "?sort=subject"
    page = client.get(f"/agent/views/{view.pk}/{link}").content.decode()
    subjects = re.findall(r"</span> (Alpha|Beta|Gamma)</a>", page)
    assert subjects == ["Alpha", "Beta", "Gamma"]
    assert 'aria-sort="ascending" data-column="subject"' in page
    link = re.search(r'data-column="subject"><a href="([^"]+)"', page).group(1)
    assert link == "?sort=-subject"
    page = client.get(f"/agent/views/{view.pk}/{link}").content.decode()
    assert re.findall(r"</span> (Alpha|Beta|Gamma)</a>", page) == ["Gamma", "Beta", "Alpha"]


def test_a_forged_cursor_returns_to_the_first_page(lead, open_ticket):
    open_ticket(tier_level=1)
    new_view(browser(lead), sharing="everyone")
    view = SavedView.objects.get()
    response = browser(lead).get(f"/agent/views/{view.pk}/", {"after": "bm90LWEtY3Vyc29y"},
                                 follow=True)  # fmt: skip
    assert "That page link is not valid" in response.content.decode()


def test_every_column_renders(lead, open_ticket):
    ticket = open_ticket(tier_level=1, subject="Printer <on> fire")
    new_view(browser(lead), sharing="everyone", queue="all", status=[],
             columns=list(COLUMNS), sort="")  # fmt: skip
    view = SavedView.objects.get()
    page = browser(lead).get(f"/agent/views/{view.pk}/").content.decode()
    assert "Printer &lt;on&gt; fire" in page
    assert "<on>" not in page
    row = re.search(rf'<tr data-ticket="{ticket.pk}">(.*?)</tr>', page, re.S).group(1)
    assert row.count("<td") == len(COLUMNS) + 1


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_a_view_page_costs_the_same_queries_for_1_or_60_tickets(lead, open_ticket):
    new_view(browser(lead), sharing="everyone", queue="all", status=[],
             columns=["reference", "customer", "assignee", "product", "updated"],
             sort="-updated")  # fmt: skip
    view = SavedView.objects.get()
    client = browser(lead)
    open_ticket(tier_level=1)
    client.get(f"/agent/views/{view.pk}/")  # the set-up is read on a first page only
    one = _queries(client, f"/agent/views/{view.pk}/")
    for _ in range(59):
        open_ticket(tier_level=2)
    client.get(f"/agent/views/{view.pk}/")  # the desk's shared counts are counted anew
    assert _queries(client, f"/agent/views/{view.pk}/") == one
    # The second page too (a keyset page: no counting past skipped rows).
    html = client.get(f"/agent/views/{view.pk}/").content.decode()
    after = re.search(r'rel="next" href="\?([^"]+)"', html).group(1).replace("&amp;", "&")
    assert _queries(client, f"/agent/views/{view.pk}/?{after}") == one


def test_the_sidebar_costs_the_same_queries_for_1_or_8_views(lead, open_ticket):
    open_ticket(tier_level=1)
    client = browser(lead)
    new_view(client, sharing="everyone", name="View 0")
    client.get("/agent/queue/mine/")
    one = _queries(client, "/agent/queue/mine/")
    for n in range(1, 7):
        new_view(client, sharing="personal" if n % 2 else "everyone", name=f"View {n}",
                 status=["new"])  # fmt: skip
    # One that searches (full-text on PostgreSQL) is counted in the same query.
    new_view(client, sharing="everyone", name="View 7", status=[], queue="all", q="Problem")
    client.get("/agent/queue/mine/")
    assert _queries(client, "/agent/queue/mine/") == one
    html = client.get("/agent/queue/mine/").content.decode()
    counts = {**sidebar_views(html, "my-views"), **sidebar_views(html, "shared-views")}
    assert len(counts) == 8
    assert counts["View 1"] == 1  # the one new ticket
    assert counts["View 7"] == 1  # its subject says "Problem number …"
    assert counts["View 0"] == 0  # nothing solved


def test_the_queue_page_offers_a_view_of_its_filters(tier1_agent):
    html = browser(tier1_agent).get("/agent/queue/all/", {"priority": "high"}).content.decode()
    link = re.search(r'href="(/agent/views/new/\?[^"]+)" id="new-view-from-filters"', html)
    form = browser(tier1_agent).get(link.group(1).replace("&amp;", "&")).content.decode()
    assert re.search(r'value="high"[^>]*checked', form)
    # Agents keep personal views only: no sharing choice but "Only me".
    assert 'value="everyone"' not in form
