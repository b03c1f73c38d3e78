"""The agent's ticket page: the converged timeline and everything an agent does to a ticket."""

import re

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from knowledge import services as kb
from tests.factories import AgentFactory
from tickets import services
from tickets.fields.selectors import active_fields
from tickets.models import EventKind, Macro, Message, MessageKind, Ticket, Tier
from tickets.workspace import sidebar

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(open_ticket) -> Ticket:
    return open_ticket(
        subject="VPN disconnects every few minutes",
        text="Since Monday the VPN drops every few minutes.",
        sender="grace@example.com",
        sender_name="Grace Hopper",
    )


@pytest.fixture
def articles(db) -> dict:
    category = kb.category_save(category=None, name="Network", slug="network")

    def make(title: str, visibility: str) -> object:
        return kb.article_save(
            article=None, actor=None, title=title, slug=title.lower().replace(" ", "-"),
            category=category, body_markdown="Turn off power saving for the VPN adapter.",
            tags="vpn, disconnects", status="published", visibility=visibility,
        )  # fmt: skip

    return {
        "public": make("VPN disconnects every few minutes", "public"),
        "internal": make("VPN concentrator runbook disconnects", "agents"),
    }


def page(client, ticket: Ticket) -> str:
    response = client.get(f"/agent/tickets/{ticket.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_permissions_on_the_ticket_page(client, ticket, customer_user, agent, admin_user):
    url = f"/agent/tickets/{ticket.pk}/"
    assert client.get(url).status_code == 302
    client.force_login(customer_user)
    assert client.get(url).status_code == 403
    assert client.post(f"{url}reply/", {"text": "hi"}).status_code == 403
    assert client.post(f"{url}note/", {"text": "hi"}).status_code == 403
    for user in (agent, admin_user):
        client.force_login(user)
        assert client.get(url).status_code == 200
    assert client.get("/agent/tickets/999999/").status_code == 404


def test_timeline_shows_every_channel_and_event_in_order(agent_client, agent, ticket, inbound):
    services.ticket_add_note(ticket=ticket, actor=agent, text="Checked the logs.")
    services.ticket_log_call(
        ticket=ticket, actor=agent, direction="inbound", phone_number="+14155550100",
        duration_seconds=95, notes="Customer called about the VPN.",
    )  # fmt: skip
    services.ticket_escalate(
        ticket=ticket, reason="Needs network team", handoff_note="Logs attached; MTU?", actor=agent
    )

    html = page(agent_client, ticket)

    order = [
        "Since Monday the VPN drops",
        "Checked the logs.",
        "Customer called about the VPN.",
        "Tier 1 → tier 2: Needs network team",
        "Logs attached; MTU?",
    ]
    positions = [html.index(text) for text in order]
    assert positions == sorted(positions)
    assert "internal note" in html
    assert "grace@example.com" in html  # contact points beside the timeline
    assert "Inbound call with +14155550100, 95 s" in html
    assert "<strong>Grace Hopper</strong>" in html  # the customer wrote the first message
    assert f"<strong>{agent.get_full_name()}</strong>" in html  # the note's author
    assert f"{agent.get_full_name()} · " in html  # who escalated


def test_timeline_shows_delivery_failures_originals_and_automatic_messages(
    agent_client, agent, ticket
):
    from django.core.files.base import ContentFile

    first = ticket.messages.get()
    first.original.save("original.eml", ContentFile(b"Subject: VPN\r\n\r\nIt drops"))
    reply = services.ticket_reply(ticket=ticket, actor=agent, text="Try a cable.")
    Message.objects.filter(pk=reply.pk).update(
        delivery_status="failed", delivery_error="550 mailbox <full>"
    )
    Message.objects.create(
        ticket=ticket, kind=MessageKind.OUTBOUND, channel="email", is_automatic=True,
        body_text="We received your request.", delivery_status="delivered",
    )  # fmt: skip

    html = page(agent_client, ticket)

    assert f'<a href="/api/v1/messages/{first.pk}/original/">original</a>' in html
    assert "not delivered: 550 mailbox &lt;full&gt;</span>" in html
    assert "<strong>Help desk (automatic)</strong>" in html
    assert " · delivered" in html


def test_the_customers_other_tickets_are_listed(agent_client, ticket, open_ticket):
    other = open_ticket(sender="grace@example.com", subject="Printer", text="Jammed")
    html = page(agent_client, ticket)
    assert f"{other.reference} Printer" in html
    assert "are shown" not in html


def test_a_customer_with_many_tickets_shows_their_latest_at_the_same_cost(
    agent_client, agent, ticket, open_ticket
):
    def queries() -> tuple[int, str]:
        with CaptureQueriesContext(connection) as captured:
            html = page(agent_client, ticket)
        return len(captured), html

    sidebar.agent_setup(agent)  # read on an agent's first page only
    active_fields()  # custom field definitions, kept per process: read on first use only
    before, _ = queries()
    others = [
        open_ticket(sender="grace@example.com", subject=f"Printer {n}", text="Jammed")
        for n in range(12)
    ]
    cost, html = queries()
    history = re.search(r'<ul class="history">(.*?)</ul>', html, re.S)
    assert history
    listed = re.findall(r'href="/agent/tickets/(\d+)/"', history[1])
    assert listed == [str(t.pk) for t in reversed(others)][:10]  # the latest, not this one
    assert "The latest 10 are shown." in history[1]
    assert cost == before


def test_reply_goes_out_on_the_customers_channel(agent_client, ticket):
    response = agent_client.post(
        f"/agent/tickets/{ticket.pk}/reply/",
        {"text": "Please try a cable.", "channel": "email", "status": "pending_customer"},
    )
    assert response.status_code == 302
    reply = Message.objects.get(ticket=ticket, kind=MessageKind.OUTBOUND, is_automatic=False)
    assert (reply.body_text, reply.channel) == ("Please try a cable.", "email")
    ticket.refresh_from_db()
    assert ticket.status == "pending_customer"


def test_an_empty_reply_is_refused_and_loses_nothing_else(agent_client, ticket):
    response = agent_client.post(f"/agent/tickets/{ticket.pk}/reply/", {"text": "  "})
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()
    assert not Message.objects.filter(ticket=ticket, kind=MessageKind.OUTBOUND).exists()


def test_a_refused_reply_keeps_the_typed_text(agent_client, agent, ticket):
    services.ticket_change_status(ticket=ticket, status="closed", actor=agent)
    response = agent_client.post(
        f"/agent/tickets/{ticket.pk}/reply/", {"text": "My long careful answer", "channel": "email"}
    )
    assert response.status_code == 400
    assert "My long careful answer" in response.content.decode()


def test_notes_status_priority_assignee_and_tags(agent_client, agent, ticket):
    url = f"/agent/tickets/{ticket.pk}/"
    agent_client.post(f"{url}note/", {"text": "Internal only"})
    agent_client.post(f"{url}change/", {"field": "priority", "value": "high"})
    agent_client.post(f"{url}change/", {"field": "assignee", "value": "me"})
    agent_client.post(f"{url}change/", {"field": "tags", "value": "VPN, network"})
    agent_client.post(f"{url}change/", {"field": "status", "value": "on_hold"})

    ticket.refresh_from_db()
    assert (ticket.priority, ticket.assignee, ticket.status) == ("high", agent, "on_hold")
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["network", "vpn"]
    assert ticket.messages.filter(kind=MessageKind.NOTE, body_text="Internal only").exists()
    html = page(agent_client, ticket)
    assert "Tags: network, vpn" in html


def test_the_side_panel_shows_the_tickets_status_priority_and_its_tiers_agents(
    agent_client, agent, ticket
):
    AgentFactory(username="zed", first_name="Zoe", last_name="Zander <Z>", tiers=[1])
    AgentFactory(username="nameless", first_name="", last_name="", tiers=[1])
    AgentFactory(username="elsewhere", first_name="Tim", tiers=[2])
    AgentFactory(username="gone", first_name="Gus", tiers=[1], is_active=False)
    url = f"/agent/tickets/{ticket.pk}/"
    agent_client.post(f"{url}change/", {"field": "priority", "value": "high"})
    agent_client.post(f"{url}change/", {"field": "assignee", "value": "me"})
    agent_client.post(f"{url}change/", {"field": "status", "value": "on_hold"})

    html = page(agent_client, ticket)
    status = re.search(r'<select name="value" id="side-status">(.*?)</select>', html, re.S)
    assert status and '<option value="on_hold" selected>On hold</option>' in status[1]
    priority = re.search(r'<select name="value" id="side-priority">(.*?)</select>', html, re.S)
    assert priority and '<option value="high" selected>High</option>' in priority[1]
    assert priority[1].count("selected") == 1
    assignee = re.search(r'<select name="value" id="side-assignee">(.*?)</select>', html, re.S)
    assert assignee
    names = re.findall(r'<option value="(\d*)"( selected)?>([^<]*)</option>', assignee[1])
    # Active agents of the ticket's tier, by first name (none for "nameless"), escaped.
    tier_1 = sorted(
        User.objects.filter(username__in=["nameless", "zed", agent.username]),
        key=lambda user: (user.first_name, user.username),
    )
    shown = {"nameless": "nameless", "zed": "Zoe Zander &lt;Z&gt;"}
    assert names == [("", "", "Unassigned")] + [
        (
            str(user.pk),
            " selected" if user == agent else "",
            shown.get(user.username, user.get_full_name()),
        )
        for user in tier_1
    ]


def test_a_bad_change_is_an_error_message_not_a_crash(agent_client, ticket):
    url = f"/agent/tickets/{ticket.pk}/change/"
    response = agent_client.post(url, {"field": "tags", "value": "<script>"}, follow=True)
    assert "Tags are words" in response.content.decode()
    response = agent_client.post(url, {"field": "status", "value": "exploded"}, follow=True)
    assert response.status_code == 200
    ticket.refresh_from_db()
    assert ticket.status == "new"


def test_escalation_needs_tier_reason_and_handoff_note(agent_client, ticket):
    url = f"/agent/tickets/{ticket.pk}/tier/"
    response = agent_client.post(url, {"tier": 2, "reason": "Network"}, follow=True)
    assert "give the target tier, a reason and a hand-off note" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.tier.level == 1

    agent_client.post(url, {"tier": 2, "reason": "Network", "handoff_note": "MTU issue"})
    ticket.refresh_from_db()
    assert ticket.tier.level == 2
    event = ticket.events.get(kind=EventKind.ESCALATED)
    assert event.data["handoff_note"] == "MTU issue"


def test_macro_fills_placeholders_and_sets_status_and_tier(agent_client, agent, ticket):
    macro = Macro.objects.create(
        name="Send to network team",
        body="Hello {{ customer.first_name }}, {{ ticket.reference }} goes to our network team.",
        set_status="on_hold",
        set_tier=Tier.objects.get(level=2),
    )
    html = page(agent_client, ticket)
    assert f"Hello Grace, {ticket.reference} goes to our network team." in html

    agent_client.post(
        f"/agent/tickets/{ticket.pk}/reply/",
        {"text": f"Hello Grace, {ticket.reference} goes to our network team.", "macro": macro.pk},
    )

    ticket.refresh_from_db()
    assert (ticket.status, ticket.tier.level) == ("on_hold", 2)
    assert ticket.events.filter(kind=EventKind.MACRO_APPLIED).exists()
    assert ticket.messages.filter(kind=MessageKind.OUTBOUND, is_automatic=False).count() == 1


def test_knowledge_base_suggestions_offer_public_links_to_insert(agent_client, ticket, articles):
    html = page(agent_client, ticket)
    # The page loads its suggestions once shown (the search is its slowest part).
    assert f'hx-get="/agent/tickets/{ticket.pk}/kb/" hx-trigger="load"' in html
    kb_panel = agent_client.get(f"/agent/tickets/{ticket.pk}/kb/").content.decode()
    assert "VPN disconnects every few minutes" in kb_panel
    assert 'data-insert="VPN disconnects every few minutes: ' in kb_panel
    assert "/kb/network/vpn-disconnects-every-few-minutes/" in kb_panel
    # Agent-only articles are suggested to the agent but never offered as a customer link.
    assert "VPN concentrator runbook disconnects" in kb_panel
    assert kb_panel.count("Insert link") == 1


def test_knowledge_base_search_box(agent_client, articles):
    html = agent_client.get("/agent/kb/", {"q": "runbook"}).content.decode()
    assert "VPN concentrator runbook disconnects" in html
    assert "No article matches" in agent_client.get("/agent/kb/", {"q": "zebra"}).content.decode()


def test_kb_search_is_for_agents_only(client, customer_user, articles):
    client.force_login(customer_user)
    assert client.get("/agent/kb/", {"q": "runbook"}).status_code == 403


def _page_budget() -> int:
    """The ticket page's statements; without Redis (the embedded default) the session is
    read from the database: one more."""
    return 17 if settings.SESSION_ENGINE == "helpdesk.sessions" else 18


def test_ticket_page_costs_the_same_queries_for_2_or_20_messages(agent_client, agent, ticket):
    captured = CaptureQueriesContext(connection)

    def queries() -> int:
        with captured:
            page(agent_client, ticket)
        return len(captured)

    services.ticket_add_note(ticket=ticket, actor=agent, text="one")
    sidebar.agent_setup(agent)  # read on an agent's first page only
    active_fields()  # custom field definitions, kept per process: read on first use only
    few = queries()
    # Read again with nothing changed, the desk's shared counts are not counted again: the
    # user with their profile, the ticket with its chat, the customer's contacts and other
    # tickets, participants, messages, files, events, the agent's counts with the next
    # ticket, clocks, the tier's agents with the ticket's followers, tags, the customer's
    # services, the products, the open problems it may be linked to, the related tickets
    # and the side conversations with their messages.
    assert queries() <= _page_budget(), "\n".join(q["sql"][:90] for q in captured)
    for n in range(9):
        services.ticket_add_note(ticket=ticket, actor=agent, text=f"note {n}")
        services.ticket_reply(ticket=ticket, actor=agent, text=f"reply {n}")
    assert queries() == few


def test_clocks_on_business_hours_cost_no_query_for_their_calendar(
    agent_client, agent, open_ticket
):
    from datetime import date, time

    from django.utils import timezone

    from tickets.models import BusinessCalendar, CustomHoliday, OpeningHours, SLAPolicy
    from tickets.services import sla_clocks

    office = BusinessCalendar.objects.create(name="Office", time_zone="Europe/Paris")
    for weekday in range(5):
        OpeningHours.objects.create(calendar=office, weekday=weekday, start=time(9), end=time(17))
    CustomHoliday.objects.create(calendar=office, date=date(2026, 12, 24), name="Closed")
    SLAPolicy.objects.create(
        name="Office hours", is_default=True, first_response_minutes=60,
        resolution_minutes=480, calendar=office,
    )  # fmt: skip
    ticket = open_ticket(subject="Timed in office hours")
    assert ticket.clocks.count() == 2
    sidebar.agent_setup(agent)
    page(agent_client, ticket)
    with CaptureQueriesContext(connection) as captured:
        html = page(agent_client, ticket)
    assert len(captured) <= _page_budget()  # as test_ticket_page_costs_the_same_queries...
    assert not [q for q in captured if "openinghours" in q["sql"] or "holiday" in q["sql"]]
    # The same deadlines as a clock read with its policy's calendar from the database.
    for clock in ticket.clocks.all():
        due = sla_clocks.explain(clock, timezone.now()).due_at
        shown = timezone.localtime(due).strftime("%a %-d %b %H:%M")
        assert f"due {shown}" in html


def _next_ticket_link(client, ticket: Ticket) -> str | None:
    found = re.search(r'id="next-ticket" href="/agent/tickets/(\d+)/"', page(client, ticket))
    return found.group(1) if found else None


def test_next_ticket_is_mine_first_then_the_unassigned_of_my_tiers(
    agent_client, agent, tier2_agent, ticket, open_ticket
):
    assert _next_ticket_link(agent_client, ticket) is None
    open_ticket(tier_level=2, subject="Someone else's tier")
    unassigned = open_ticket(subject="Nobody has it yet", priority="high")
    assert _next_ticket_link(agent_client, ticket) == str(unassigned.pk)
    mine = open_ticket(subject="Mine, less urgent", priority="low")
    services.ticket_assign(ticket=mine, assignee=agent, actor=agent)
    assert _next_ticket_link(agent_client, ticket) == str(mine.pk)
    # Never the ticket being read: the other unassigned one instead (neither has a due
    # time here, so the older first).
    assert _next_ticket_link(agent_client, mine) == str(ticket.pk)


def test_sign_in_page_and_password_reset_by_email(client, agent, celery_eager):
    assert "Sign in to the help desk" in client.get("/accounts/login/").content.decode()
    response = client.post("/accounts/login/", {"username": agent.username, "password": "x"})
    assert "did not match" in response.content.decode()
    client.post("/accounts/password_reset/", {"email": agent.email})
    assert len(mail.outbox) == 1
    link = re.search(r"http://\S+/accounts/reset/\S+/", mail.outbox[0].body).group(0)
    response = client.get(link, follow=True)
    assert "Choose a new password" in response.content.decode()


def test_a_reply_carries_attachments_by_email(
    agent_client, ticket, celery_eager, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    log = SimpleUploadedFile("vpn-config.txt", b"mtu 1400\n", content_type="text/plain")
    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(
            f"/agent/tickets/{ticket.pk}/reply/",
            {"text": "The setting to use is attached.", "channel": "email", "attachments": [log]},
        )
    assert response.status_code == 302
    reply = Message.objects.get(ticket=ticket, kind=MessageKind.OUTBOUND, is_automatic=False)
    assert [a.filename for a in reply.attachments.all()] == ["vpn-config.txt"]
    sent = mail.outbox[-1]
    assert sent.attachments[0][0] == "vpn-config.txt"
    assert "vpn-config.txt" in page(agent_client, ticket)


def test_files_cannot_go_by_sms_and_nothing_is_sent(agent_client, ticket, open_ticket):
    from django.core.files.uploadedfile import SimpleUploadedFile

    sms_ticket = open_ticket(channel="sms", sender_kind="phone", sender="+14155550123")
    response = agent_client.post(
        f"/agent/tickets/{sms_ticket.pk}/reply/",
        {"text": "See file", "channel": "sms",
         "attachments": [SimpleUploadedFile("a.txt", b"x", content_type="text/plain")]},
    )  # fmt: skip
    assert response.status_code == 400
    assert "Files can only be sent by email" in response.content.decode()
    assert "See file" in response.content.decode()
    assert not sms_ticket.messages.filter(kind=MessageKind.OUTBOUND, is_automatic=False).exists()


def test_files_larger_together_than_the_upload_limit_are_refused(agent_client, ticket, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.HELPDESK_MAX_UPLOAD_BYTES = 15
    logs = [SimpleUploadedFile(f"{n}.txt", b"x" * 8, content_type="text/plain") for n in (1, 2)]
    response = agent_client.post(
        f"/agent/tickets/{ticket.pk}/reply/",
        {"text": "Both logs attached", "channel": "email", "attachments": logs},
    )
    assert response.status_code == 400
    assert "These files together are larger than 15" in response.content.decode()
    assert "Both logs attached" in response.content.decode()
    assert not ticket.messages.filter(kind=MessageKind.OUTBOUND, is_automatic=False).exists()


def test_the_full_original_of_an_email_is_one_click_away(agent_client, ticket):
    from django.core.files.base import ContentFile

    first = ticket.messages.get(kind=MessageKind.INBOUND)
    first.original.save("original.eml", ContentFile(b"Subject: VPN\r\n\r\nraw body"), save=True)

    html = page(agent_client, ticket)
    link = f"/api/v1/messages/{first.pk}/original/"
    assert link in html
    response = agent_client.get(link)
    assert response.status_code == 200
    assert b"raw body" in b"".join(response.streaming_content)


def test_sla_clocks_show_the_time_left(agent_client, open_ticket):
    from tickets.models import SLAPolicy

    SLAPolicy.objects.create(
        name="Always", is_default=True, first_response_minutes=120, resolution_minutes=600
    )
    ticket = open_ticket()
    html = page(agent_client, ticket)
    clock = html.split("First response: <strong>running</strong>")[1].split("</p>")[0]
    assert re.search(r"\(1\xa0hour, 59\xa0minutes left\)|\(2\xa0hours left\)", clock), clock


def test_what_customers_and_agents_wrote_is_shown_as_text_never_as_markup(
    agent_client, open_ticket, agent
):
    evil = '<img src=x onerror="alert(1)">'
    ticket = open_ticket(
        subject=f"Help {evil}",
        text=f"Line one\n{evil} & more",
        sender="mallory@example.com",
        sender_name=f"Mallory {evil}",
    )
    services.ticket_add_note(ticket=ticket, actor=agent, text=f"note {evil}")
    services.ticket_escalate(
        ticket=ticket, reason=f"why {evil}", handoff_note=f"handoff {evil}", actor=agent
    )

    escaped = "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"
    ticket_page = page(agent_client, ticket)
    queue = agent_client.get("/agent/queue/all/").content.decode()
    for html in (ticket_page, queue):
        assert "<img src=x" not in html
    assert f"Help {escaped}" in queue and f"Mallory {escaped}" in queue
    for shown in (f"Line one<br>{escaped} &amp; more", f"note {escaped}", f"handoff {escaped}"):
        assert shown in ticket_page
    assert f"why {escaped}" in ticket_page


def test_canned_responses_the_agent_may_not_apply_to_this_ticket_are_not_offered(
    agent_client, agent, ticket
):
    ticket.tier = Tier.objects.get(level=2)  # not the tier-1 agent's
    ticket.save(update_fields=["tier"])
    Macro.objects.create(name="Ask for logs", body="Please send the logs.")
    Macro.objects.create(name="Mark urgent", body="On it.", set_priority="urgent")
    Macro.objects.create(name="To experts", body="Passing on.", set_tier=Tier.objects.get(level=3))
    Macro.objects.create(name="Network team", body="Ours.", set_tier=Tier.objects.get(level=2))

    html = page(agent_client, ticket)

    offered = re.findall(r'class="secondary macro"[^>]*>([^<]+)</button>', html)
    # Only what applying would do: a reply, and a tier it stays in.
    assert offered == ["Ask for logs", "Network team"]
    refused = agent_client.post(
        f"/agent/tickets/{ticket.pk}/reply/",
        {"text": "On it.", "macro": Macro.objects.get(name="Mark urgent").pk},
    )
    assert refused.status_code in (400, 403)
    ticket.refresh_from_db()
    assert ticket.priority != "urgent" and not ticket.messages.filter(body_text="On it.").exists()


def test_an_agent_of_the_tickets_tier_is_offered_every_canned_response(tier2_agent, client, ticket):
    ticket.tier = Tier.objects.get(level=2)
    ticket.save(update_fields=["tier"])
    Macro.objects.create(name="Mark urgent", body="On it.", set_priority="urgent")
    Macro.objects.create(name="To experts", body="Passing on.", set_tier=Tier.objects.get(level=3))
    client.force_login(tier2_agent)

    offered = re.findall(r'class="secondary macro"[^>]*>([^<]+)</button>', page(client, ticket))

    assert offered == ["Mark urgent", "To experts"]
