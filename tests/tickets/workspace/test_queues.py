"""The agent workspace's queues: views, filters, counts, keyset pages, bulk actions."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import AgentFactory
from tickets import services
from tickets.fields.selectors import active_fields
from tickets.models import SavedView, Ticket, TicketStatus
from tickets.workspace import sidebar

pytestmark = pytest.mark.django_db


def refs(html: str) -> list[str]:
    return re.findall(r'<span class="ref">(HD-\d+)</span>', html)


def get(client, url: str, **params) -> str:
    response = client.get(url, params)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


@pytest.mark.parametrize("url", ["/agent/", "/agent/queue/mine/", "/agent/queue/all/"])
def test_anonymous_visitors_are_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_a_form_sent_after_the_session_ended_leads_back_to_its_page_after_sign_in(client, agent):
    # The reply's address answers only to a form: signing in leads to the ticket, where
    # the browser kept the unsent text (static/js/agent.js).
    sent_from = "http://testserver/agent/tickets/7/?tab=side"
    response = client.post("/agent/tickets/7/reply/", {"text": "Hi"}, HTTP_REFERER=sent_from)
    assert response["Location"] == "/accounts/login/?next=/agent/tickets/7/%3Ftab%3Dside"
    # From elsewhere, or from no page: the workspace's start.
    for referer in ("https://evil.example/agent/tickets/7/", "http://testserver/kb/", ""):
        response = client.post("/agent/tickets/7/note/", {"text": "x"}, HTTP_REFERER=referer)
        assert response["Location"] == "/accounts/login/?next=/agent/"
    client.force_login(agent)
    assert client.get("/agent/tickets/7/reply/").status_code == 405  # why: not a page


@pytest.mark.parametrize("url", ["/agent/", "/agent/queue/mine/", "/agent/queue/tier-1/"])
def test_customers_cannot_enter_the_workspace(client, customer_user, url):
    client.force_login(customer_user)
    assert client.get(url).status_code == 403


def test_agents_and_admins_land_on_their_own_tickets(client, agent, admin_user):
    for user in (agent, admin_user):
        client.force_login(user)
        response = client.get("/agent/", follow=True)
        assert response.redirect_chain[-1][0] == "/agent/queue/mine/"
        assert "My open tickets" in response.content.decode()


def test_the_tier_queue_is_sorted_by_next_deadline_and_shows_only_that_tier(
    agent_client, make_tickets
):
    tier1 = make_tickets(3)
    make_tickets(2, tier_level=2)
    Ticket.objects.filter(pk=tier1[0].pk).update(sla_due_at=timezone.now() + timedelta(days=3))

    html = get(agent_client, "/agent/queue/tier-1/")

    assert refs(html) == [tier1[1].reference, tier1[2].reference, tier1[0].reference]


def test_unassigned_shows_only_my_tiers_and_mine_shows_my_tickets(
    agent_client, agent, make_tickets
):
    tier1 = make_tickets(2)
    tier2 = make_tickets(1, tier_level=2)
    services.ticket_assign(ticket=tier1[0], assignee=agent, actor=agent)

    assert refs(get(agent_client, "/agent/queue/unassigned/")) == [tier1[1].reference]
    assert refs(get(agent_client, "/agent/queue/mine/")) == [tier1[0].reference]
    assert tier2[0].reference in refs(get(agent_client, "/agent/queue/all/"))


def test_waiting_and_breaching_views(agent_client, make_tickets):
    soon, _later, waiting = make_tickets(3)
    Ticket.objects.filter(pk=soon.pk).update(sla_due_at=timezone.now() + timedelta(minutes=20))
    Ticket.objects.filter(pk=waiting.pk).update(status=TicketStatus.PENDING_CUSTOMER)

    assert refs(get(agent_client, "/agent/queue/breaching/")) == [soon.reference]
    assert refs(get(agent_client, "/agent/queue/waiting/")) == [waiting.reference]


def test_sidebar_counts_every_view(agent_client, agent, make_tickets):
    tickets = make_tickets(3)
    make_tickets(2, tier_level=2)
    services.ticket_assign(ticket=tickets[0], assignee=agent, actor=agent)

    html = get(agent_client, "/agent/queue/mine/")

    def count(label: str) -> str:
        return re.search(rf"{label} <span class=\"count\">(\d+)</span>", html).group(1)

    assert count("My open tickets") == "1"
    assert count("Unassigned in my tiers") == "2"
    assert count("All open") == "5"
    assert count("Tier 2 · Technical") == "2"


def test_unknown_queue_is_404(agent_client):
    assert agent_client.get("/agent/queue/nonsense/").status_code == 404


def test_keyset_pages_walk_the_whole_queue_without_overlap(agent_client, make_tickets):
    tickets = make_tickets(55)
    Ticket.objects.filter(pk__in=[t.pk for t in tickets[-3:]]).update(sla_due_at=None)

    seen: list[str] = []
    url, params = "/agent/queue/tier-1/", {}
    for _ in range(3):
        html = get(agent_client, url, **params)
        seen += refs(html)
        match = re.search(r'rel="next" href="\?after=([^"]+)"', html)
        if not match:
            break
        params = {"after": match.group(1).replace("%3D", "=")}

    assert len(seen) == 55 and len(set(seen)) == 55
    # The deadline order holds across the page boundary; no-deadline tickets come last.
    assert seen[-3:] == [t.reference for t in tickets[-3:]]
    assert seen[:52] == [t.reference for t in tickets[:52]]


def test_a_forged_cursor_returns_to_the_first_page_with_a_message(agent_client, make_tickets):
    make_tickets(1)
    response = agent_client.get("/agent/queue/tier-1/", {"after": "not-a-cursor"}, follow=True)
    assert "That page link is not valid" in response.content.decode()


def test_the_list_page_costs_the_same_queries_for_5_or_45_tickets(
    agent_client, agent, make_tickets
):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert agent_client.get("/agent/queue/all/").status_code == 200
        return len(captured)

    make_tickets(5)
    sidebar.agent_setup(agent)  # read on an agent's first page only
    active_fields()  # custom field definitions, kept per process: read on first use only
    few = queries()
    make_tickets(40, tier_level=2)
    assert queries() == few


def test_filters_by_priority_tag_and_text(agent_client, agent, make_tickets, open_ticket):
    a, b, c = make_tickets(3)
    services.ticket_change_priority(ticket=a, priority="high", actor=agent)
    services.ticket_set_tags(ticket=b, names=["vpn"], actor=agent)
    vpn = open_ticket(subject="Printer on fire", text="The toner smells")

    assert refs(get(agent_client, "/agent/queue/all/", priority="high")) == [a.reference]
    assert refs(get(agent_client, "/agent/queue/all/", tag="vpn")) == [b.reference]
    assert refs(get(agent_client, "/agent/queue/all/", q="toner")) == [vpn.reference]
    assert refs(get(agent_client, "/agent/queue/all/", q=c.reference)) == [c.reference]


def test_invalid_filters_get_a_clear_error(agent_client):
    response = agent_client.get("/agent/queue/all/", {"priority": "whenever"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_saved_views_are_per_agent(agent_client, agent, client, make_tickets):
    high, _normal = make_tickets(2)
    services.ticket_change_priority(ticket=high, priority="high", actor=agent)
    agent_client.post("/agent/views/", {"name": "Hot", "view": "all", "query": "priority=high"})
    saved = SavedView.objects.get(owner=agent)

    page = agent_client.get(f"/agent/views/{saved.pk}/", follow=True).content.decode()
    assert refs(page) == [high.reference]
    assert "Hot" in page

    other = AgentFactory(username="other")
    client.force_login(other)
    assert client.get(f"/agent/views/{saved.pk}/").status_code == 404
    assert client.post(f"/agent/views/{saved.pk}/delete/").status_code == 404


@pytest.mark.parametrize(
    "view, query, said",
    [
        ("all", "priority=whenever", "Select a valid choice"),
        ("all", "assignee=-3", "greater than or equal to 1"),
        ("no-such-queue", "priority=high", "There is no such queue"),
    ],
)
def test_filters_the_queue_page_would_refuse_are_not_saved(agent_client, agent, view, query, said):
    response = agent_client.post(
        "/agent/views/", {"name": "Odd", "view": view, "query": query}, follow=True
    )

    assert said in response.content.decode()
    assert not SavedView.objects.filter(owner=agent).exists()


def test_bulk_assign_and_status_report_each_refusal(agent_client, agent, make_tickets):
    a, b, c = make_tickets(3)
    services.ticket_change_status(ticket=c, status=TicketStatus.CLOSED, actor=agent)

    response = agent_client.post(
        "/agent/bulk/",
        {"tickets": [a.pk, b.pk], "action": "assign_me", "next": "/agent/queue/all/"},
        follow=True,
    )
    assert "Done for 2 tickets" in response.content.decode()
    assert Ticket.objects.filter(assignee=agent).count() == 2

    response = agent_client.post(
        "/agent/bulk/",
        {"tickets": [a.pk, c.pk], "action": "status", "status": "pending_customer"},
        follow=True,
    )
    html = response.content.decode()
    assert "Done for 1 ticket." in html
    assert f"{c.reference}:" in html  # closed: refused, and said so


def test_bulk_tags_priority_tier_and_merge(agent_client, make_tickets):
    a, b = make_tickets(2, sender="ann@example.com")  # one customer's: b is merged into a
    post = agent_client.post
    post("/agent/bulk/", {"tickets": [a.pk, b.pk], "action": "tag", "tags": "outage, vpn"})
    post("/agent/bulk/", {"tickets": [a.pk, b.pk], "action": "priority", "priority": "urgent"})
    merge = {"tickets": [a.pk, b.pk], "action": "merge", "merge_into": a.reference}
    post("/agent/bulk/", {**merge, "confirm": "on"})
    post(
        "/agent/bulk/",
        {"tickets": [a.pk], "action": "tier", "tier": 2, "reason": "Network",
         "handoff_note": "MTU"},
    )  # fmt: skip

    a.refresh_from_db(), b.refresh_from_db()
    assert sorted(a.tags.values_list("name", flat=True)) == ["outage", "vpn"]
    assert (a.priority, b.priority, a.tier.level) == ("urgent", "urgent", 2)
    assert b.merged_into_id == a.pk


def test_bulk_without_the_needed_value_changes_nothing(agent_client, make_tickets):
    (a,) = make_tickets(1)
    response = agent_client.post(
        "/agent/bulk/", {"tickets": [a.pk], "action": "tier", "tier": 2}, follow=True
    )
    assert "Choose the tier, and give a reason and a hand-off note" in response.content.decode()
    a.refresh_from_db()
    assert a.tier.level == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL full-text search")
def test_search_matches_word_forms_in_subjects_and_messages(agent_client, open_ticket):
    subject = open_ticket(subject="Exports fail at night", text="See logs")
    body = open_ticket(subject="Problem", text="The VPN keeps disconnecting")
    open_ticket(subject="Printer", text="Paper jam")

    assert refs(get(agent_client, "/agent/queue/all/", q="export failing")) == [subject.reference]
    assert refs(get(agent_client, "/agent/queue/all/", q="disconnects")) == [body.reference]


def test_any_ticket_is_found_whatever_its_status(agent_client, agent, open_ticket):
    """Resolved, closed and merged tickets are found in "All tickets" by reference, words,
    customer name or address; a status filter shows those statuses within any view."""
    closed = open_ticket(subject="Printer jams on tray 2", sender="zoe@example.com",
                         sender_name="Zoe Quist")  # fmt: skip
    resolved = open_ticket(subject="Password reset mail never arrives")
    kept = open_ticket(sender="ann@example.com", subject="Duplicate of the printer issue")
    merged = open_ticket(sender="ann@example.com", subject="Printer again")
    services.ticket_change_status(ticket=closed, status=TicketStatus.CLOSED, actor=agent)
    services.ticket_resolve(ticket=resolved, actor=agent)
    services.ticket_merge(source=merged, target=kept, actor=agent)

    html = get(agent_client, "/agent/queue/all/")
    assert closed.reference not in refs(html) and resolved.reference not in refs(html)
    assert "All tickets" in html  # the view is in the sidebar

    everything = "/agent/queue/any/"
    for query in (closed.reference, "jams", "Zoe", "zoe@example.com"):
        assert closed.reference in refs(get(agent_client, everything, q=query)), query
    assert merged.reference in refs(get(agent_client, everything, q=merged.reference))
    assert refs(get(agent_client, everything, status="resolved")) == [resolved.reference]
    # Within a view: tier 1's resolved tickets, not an empty page.
    assert refs(get(agent_client, "/agent/queue/tier-1/", status="resolved")) == [
        resolved.reference
    ]
