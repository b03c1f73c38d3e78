"""Each role on each door: the workspace pages and actions, bulk actions, the API, the chat
console, the Django admin and the services themselves (README, "Roles")."""

from typing import Any

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from tests.conftest import browser
from tests.factories import AdminFactory, AgentFactory, LeadFactory, LightAgentFactory
from tickets import services
from tickets.errors import NotAllowed
from tickets.models import (
    Automation,
    Macro,
    Message,
    MessageKind,
    Ticket,
    TicketEvent,
    Tier,
    Trigger,
    Webhook,
)
from tickets.roles import LIGHT_AGENTS_GROUP, role_of
from tickets.services import chat as chats

pytestmark = pytest.mark.django_db

ROLES = ("admin", "lead", "agent", "light_agent")


def person(role: str) -> Any:
    if role == "admin":
        # An admin by group, not a superuser: the group is what the role reads.
        return AdminFactory(username="ada", is_superuser=False)
    if role == "lead":
        return LeadFactory(username="lena", tiers=[1])
    if role == "agent":
        return AgentFactory(username="arne", tiers=[1])
    return LightAgentFactory(username="lia", tiers=[1])


def api(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def ticket(open_ticket) -> Ticket:
    return open_ticket(tier_level=1)


def changed(ticket: Ticket) -> list[str]:
    """What people did to the ticket (its events' kinds, but notes)."""
    kinds = TicketEvent.objects.filter(ticket=ticket, actor__isnull=False).exclude(
        kind="note_added"
    )
    return sorted(kinds.values_list("kind", flat=True))


def test_the_light_agents_group_exists_with_read_permissions_only():
    group = Group.objects.get(name=LIGHT_AGENTS_GROUP)
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert {"view_ticket", "view_message", "view_customer"} <= codenames
    assert not {c for c in codenames if not c.startswith("view_")}


@pytest.mark.parametrize("role", ROLES)
def test_role_of(role):
    assert role_of(person(role)) == role


# --- Tickets: the workspace, bulk actions and the API -----------------------------------------


@pytest.mark.parametrize(("role", "may"), [(r, r != "light_agent") for r in ROLES])
def test_replies_from_the_workspace(role, may, ticket):
    response = browser(person(role)).post(
        f"/agent/tickets/{ticket.pk}/reply/", {"text": "Try restarting", "channel": "email"}
    )
    sent = Message.objects.filter(ticket=ticket, kind=MessageKind.OUTBOUND).exists()
    assert sent is may
    if not may:
        assert response.status_code == 400
        assert "Light agents read tickets and write internal notes" in response.content.decode()


@pytest.mark.parametrize("role", ROLES)
def test_every_role_writes_internal_notes_in_the_workspace_and_the_api(role, ticket):
    user = person(role)
    browser(user).post(f"/agent/tickets/{ticket.pk}/note/", {"text": "Seen on the forum too"})
    response = api(user).post(f"/api/v1/tickets/{ticket.pk}/notes/", {"text": "And by phone"})
    assert response.status_code == 201
    notes = Message.objects.filter(ticket=ticket, kind=MessageKind.NOTE, author_user=user)
    assert notes.count() == 2


@pytest.mark.parametrize(
    ("role", "field", "value"),
    [(r, f, v) for r in ROLES for f, v in [("status", "on_hold"), ("tags", "vpn")]],
)
def test_status_and_tags_from_the_side_panel(role, field, value, ticket):
    browser(person(role)).post(
        f"/agent/tickets/{ticket.pk}/change/", {"field": field, "value": value}
    )
    expected = [] if role == "light_agent" else [f"{field}_changed"]
    assert changed(ticket) == expected


@pytest.mark.parametrize("role", ROLES)
def test_bulk_actions(role, ticket, open_ticket):
    other = open_ticket(tier_level=1)
    browser(person(role)).post(
        "/agent/bulk/",
        {"tickets": [ticket.pk, other.pk], "action": "priority", "priority": "high"},
    )
    priorities = set(Ticket.objects.filter(pk__in=[ticket.pk, other.pk]).values_list("priority"))
    assert priorities == ({("normal",)} if role == "light_agent" else {("high",)})


@pytest.mark.parametrize("role", ROLES)
def test_the_api(role, ticket):
    client = api(person(role))
    assert client.get(f"/api/v1/tickets/{ticket.pk}/").status_code == 200
    patched = client.patch(f"/api/v1/tickets/{ticket.pk}/", {"priority": "urgent"}, format="json")
    replied = client.post(f"/api/v1/tickets/{ticket.pk}/replies/", {"text": "Hello"})
    if role == "light_agent":
        assert (patched.status_code, replied.status_code) == (403, 403)
        assert changed(ticket) == []
    else:
        assert (patched.status_code, replied.status_code) == (200, 201)
        assert "priority_changed" in changed(ticket)


@pytest.mark.parametrize("role", ROLES)
def test_the_services_refuse_a_light_agent_whatever_the_door(role, ticket):
    """A new door calling the services cannot bypass the roles: the services ask."""
    user = person(role)
    colleague = AgentFactory(username="bob", tiers=[1])
    calls = [
        lambda: services.ticket_change_priority(ticket=ticket, priority="high", actor=user),
        lambda: services.ticket_change_subject(ticket=ticket, subject="Renamed", actor=user),
        lambda: services.ticket_assign(ticket=ticket, assignee=colleague, actor=user),
        lambda: services.ticket_move_tier(
            ticket=ticket, tier_level=2, reason="r", handoff_note="n", actor=user
        ),
    ]
    for call in calls:
        if role == "light_agent":
            with pytest.raises(NotAllowed):
                call()
        else:
            call()
    if role == "light_agent":
        assert changed(ticket) == []


@pytest.mark.parametrize("role", ROLES)
def test_macros_that_reply_or_change(role, ticket):
    macro = Macro.objects.create(name="Restart", body="Please restart.", set_priority="high")
    browser(person(role)).post(
        f"/agent/tickets/{ticket.pk}/reply/",
        {"text": "Please restart.", "macro": macro.pk, "channel": "email"},
    )
    assert ("macro_applied" in changed(ticket)) is (role != "light_agent")


@pytest.mark.parametrize("role", ROLES)
def test_the_ticket_page_shows_only_what_the_role_may_use(role, ticket):
    html = browser(person(role)).get(f"/agent/tickets/{ticket.pk}/").content.decode()
    assert 'id="id_note"' in html  # everyone notes
    for control in ('id="reply-form"', 'id="side-status"', 'id="side-tags"', 'id="side-about"'):
        assert (control in html) is (role != "light_agent"), control
    assert ('id="side-priority"' in html) is (role != "light_agent")


@pytest.mark.parametrize("role", ROLES)
def test_working_with_vendors_and_linking_tickets_is_for_those_who_work_tickets(
    role, ticket, open_ticket
):
    """Light agents follow tickets and read side conversations; they start none, link no
    ticket, and the page offers them neither."""
    user = person(role)
    client = api(user)
    other = open_ticket(sender="other@example.com")
    side = client.post(
        f"/api/v1/tickets/{ticket.pk}/side-conversations/",
        {"to": "vendor@supplier.example", "subject": "Spare part", "text": "Do you have one?"},
        format="json",
    )
    linked = client.post(
        f"/api/v1/tickets/{ticket.pk}/related/", {"ticket": other.pk}, format="json"
    )
    followed = client.post(f"/api/v1/tickets/{ticket.pk}/followers/", format="json")
    html = browser(user).get(f"/agent/tickets/{ticket.pk}/").content.decode()
    light = role == "light_agent"
    assert (side.status_code, linked.status_code) == ((403, 403) if light else (201, 201))
    assert followed.status_code in (200, 201, 204)
    assert ('id="side-new"' in html) is not light
    assert ('id="side-related"' in html) is not light
    if light:
        assert changed(ticket) == []


@pytest.mark.parametrize("role", ROLES)
def test_the_queue_hides_bulk_actions_from_light_agents(role, ticket):
    html = browser(person(role)).get("/agent/queue/all/").content.decode()
    assert ('id="bulk-action"' in html) is (role != "light_agent")
    assert ('name="tickets"' in html) is (role != "light_agent")


# --- Live chat (the console's actions and the socket's messages share the services) ---------


@pytest.mark.parametrize("role", ROLES)
def test_taking_a_chat(role):
    chat = chats.chat_start(name="Grace", email="grace@example.com", text="Hi", client_id="c1")
    user = person(role)
    browser(user).post(f"/agent/chats/{chat.pk}/accept/")
    chat.refresh_from_db()
    # Chats wait in tier 1: its agent and lead take them; the light agent of tier 1 does not.
    assert (chat.agent_id == user.pk) is (role in ("lead", "agent"))


def test_a_light_agent_cannot_write_in_a_chat_even_if_handed_one():
    """The console's socket sends agent messages through the reply service: refused."""
    chat = chats.chat_start(name="Grace", email="grace@example.com", text="Hi", client_id="c1")
    light = person("light_agent")
    with pytest.raises(NotAllowed):
        chats.chat_accept(chat_id=chat.pk, agent=light)
    chat.refresh_from_db()
    chat.status, chat.agent = "active", light  # as if it had been (by an old release, say)
    chat.save()
    with pytest.raises(NotAllowed):
        chats.chat_agent_message(chat_id=chat.pk, agent=light, client_id="m1", text="Hello")
    assert not Message.objects.filter(ticket=chat.ticket, author_user=light).exists()


# --- Rules, the team, reports, the Django admin ------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"), [("admin", 200), ("lead", 200), ("agent", 403), ("light_agent", 403)]
)
def test_rules_are_for_admins_and_leads(role, status):
    client = browser(person(role))
    assert client.get("/agent/rules/").status_code == status
    response = client.post(
        "/agent/rules/triggers/new/",
        {
            "save": "1",
            "name": "VIP first",
            "events": ["ticket_created"],
            "cond_field": ["priority"],
            "cond_op": ["is"],
            "cond_value": ["urgent"],
            "act_type": ["set_priority"],
            "act_value": ["high"],
        },
    )
    assert response.status_code in ((302, 400) if status == 200 else (403,))
    assert Automation.objects.count() == 0
    if status == 403:
        assert not Trigger.objects.exists()


@pytest.mark.parametrize(
    ("role", "status"), [("admin", 200), ("lead", 403), ("agent", 403), ("light_agent", 403)]
)
def test_webhooks_are_a_system_setting(role, status):
    client = browser(person(role))
    assert client.get("/agent/rules/webhooks/new/").status_code == status
    home = client.get("/agent/rules/").content.decode()
    assert ("New webhook" in home) is (role == "admin")
    posted = client.post(
        "/agent/rules/webhooks/new/", {"name": "CRM", "url": "https://crm.example.com/hook"}
    )
    if role != "admin":
        assert posted.status_code == 403
        assert not Webhook.objects.exists()


@pytest.mark.parametrize(
    ("role", "rules", "team", "reports"),
    [
        ("admin", True, True, True),
        ("lead", True, True, True),
        ("agent", False, False, False),
        ("light_agent", False, False, False),
    ],
)
def test_the_header_links_follow_the_role(role, rules, team, reports):
    html = browser(person(role)).get("/agent/queue/mine/").content.decode()
    assert ('href="/agent/rules/"' in html) is rules
    assert ('href="/agent/team/"' in html) is team
    assert ('href="/agent/reports/"' in html) is reports


@pytest.mark.parametrize(
    ("role", "status"), [("admin", 200), ("lead", 200), ("agent", 403), ("light_agent", 403)]
)
def test_the_team_page(role, status):
    user = person(role)
    colleague = AgentFactory(username="cole", tiers=[1])
    client = browser(user)
    response = client.get("/agent/team/")
    assert response.status_code == status
    if status == 200:
        html = response.content.decode()
        assert "cole" in html
        # Admins and leads get the controls for an agent.
        assert (f'id="role-{colleague.pk}"' in html) is (role in ("admin", "lead"))
    posted = client.post(f"/agent/team/{colleague.pk}/", {"role": "light_agent", "tiers": []})
    colleague = type(colleague).objects.get(pk=colleague.pk)
    if role in ("admin", "lead"):
        assert posted.status_code == 302
        assert role_of(colleague) == "light_agent"
        assert not colleague.agent_profile.tiers.exists()
    else:
        assert posted.status_code == 403
        assert role_of(colleague) == "agent"


def test_a_lead_runs_agents_but_makes_no_lead_or_admin():
    lead = person("lead")
    other_lead = LeadFactory(username="lou", tiers=[1])
    agent = AgentFactory(username="abe", tiers=[1])
    client = browser(lead)
    html = client.get("/agent/team/").content.decode()
    assert f'id="role-{agent.pk}"' in html and f'id="role-{other_lead.pk}"' not in html
    assert '<option value="admin"' not in html and '<option value="lead"' not in html

    tier = dict(Tier.objects.values_list("level", "pk"))
    first, both = [tier[1]], [tier[1], tier[2]]
    promoted = client.post(f"/agent/team/{agent.pk}/", {"role": "admin", "tiers": first})
    demoted = client.post(f"/agent/team/{other_lead.pk}/", {"role": "agent", "tiers": first})
    moved = client.post(f"/agent/team/{agent.pk}/", {"role": "agent", "tiers": both})

    assert (promoted.status_code, demoted.status_code, moved.status_code) == (403, 403, 302)
    assert role_of(type(agent).objects.get(pk=agent.pk)) == "agent"
    assert role_of(type(lead).objects.get(pk=other_lead.pk)) == "lead"
    levels = set(agent.agent_profile.tiers.values_list("level", flat=True))
    assert levels == {1, 2}


def test_an_admin_cannot_change_their_own_role(client):
    admin = person("admin")
    client.force_login(admin)
    response = client.post(f"/agent/team/{admin.pk}/", {"role": "agent"}, follow=True)
    assert "Ask another admin" in response.content.decode()
    assert role_of(type(admin).objects.get(pk=admin.pk)) == "admin"


def test_a_light_agent_made_an_agent_may_reply_at_once(admin_user, ticket):
    light = person("light_agent")
    browser(admin_user).post(f"/agent/team/{light.pk}/", {"role": "agent", "tiers": ["1"]})
    fresh = type(light).objects.get(pk=light.pk)
    html = browser(fresh).get(f"/agent/tickets/{ticket.pk}/").content.decode()
    assert 'id="reply-form"' in html


@pytest.mark.parametrize(
    ("role", "macros", "tiers"),
    [
        ("admin", 200, 200),
        ("lead", 200, 403),
        ("agent", 403, 403),
        ("light_agent", 403, 403),
    ],
)
def test_the_django_admin(role, macros, tiers):
    """Leads manage canned responses there too, but no system settings (tiers here)."""
    client = browser(person(role))
    assert client.get("/admin/tickets/macro/add/").status_code == macros
    assert client.get("/admin/tickets/tier/add/").status_code == tiers


@pytest.mark.parametrize("role", ROLES)
def test_light_agents_change_no_ticket_in_the_django_admin(role, ticket):
    client = browser(person(role))
    response = client.get(f"/admin/tickets/ticket/{ticket.pk}/change/")
    if role == "light_agent":
        # They may look (view permission) but there is no save button to use.
        assert response.status_code == 200
        assert 'name="_save"' not in response.content.decode()


@pytest.mark.parametrize("role", ROLES)
def test_problems_are_opened_by_those_who_work_tickets(role, ticket):
    from tickets.models import Problem

    client = browser(person(role))
    response = client.post(f"/agent/tickets/{ticket.pk}/problem/", {"title": "VPN is down"})
    assert response.status_code == (403 if role == "light_agent" else 302)
    assert Problem.objects.exists() is (role != "light_agent")


@pytest.mark.parametrize("role", ROLES)
def test_problem_pages_show_light_agents_no_controls_but_notes(role, ticket):
    from tickets.problems import services as problems

    problem = problems.problem_create(title="VPN is down", actor=None)
    client = browser(person(role))
    home = client.get("/agent/problems/").content.decode()
    assert ('action="/agent/problems/new/"' in home) is (role != "light_agent")
    page = client.get(f"/agent/problems/{problem.pk}/").content.decode()
    assert ('id="solve-button"' in page) is (role != "light_agent")
    assert ('id="publish-button"' in page) is (role != "light_agent")
    assert f'action="/agent/problems/{problem.pk}/note/"' in page


@pytest.mark.parametrize(
    ("role", "status"), [("admin", 200), ("lead", 200), ("agent", 403), ("light_agent", 403)]
)
def test_admins_and_leads_define_custom_fields_in_the_admin(role, status):
    client = browser(person(role))
    assert client.get("/admin/tickets/ticketfield/add/").status_code == status
    assert client.get("/admin/tickets/ticketform/").status_code == status
