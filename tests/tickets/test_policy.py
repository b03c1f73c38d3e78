"""Who may move, reassign, reprioritise and merge a ticket (tickets.policy), asked by every
door: the API, the ticket page, bulk actions. A tier-1 agent cannot take a tier-3 expert's
ticket down to tier 1 by any of them; the expert can, with a reason and a hand-off note."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tests.conftest import _client_for
from tests.factories import AgentFactory
from tests.tickets.api_helpers import error_of
from tickets import services, tasks
from tickets.models import EventKind, SLAPolicy, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def expert(db: None) -> Any:
    return AgentFactory(username="expert3", tiers=[3])


@pytest.fixture
def experts_ticket(open_ticket, expert) -> Ticket:
    ticket = open_ticket(tier_level=3, subject="Kernel panic on the storage cluster")
    services.ticket_assign(ticket=ticket, assignee=expert, actor=expert)
    return Ticket.objects.get(pk=ticket.pk)


@pytest.fixture
def agent_client(client, agent) -> Any:
    client.force_login(agent)
    return client


@pytest.fixture
def standard_policy(db: None) -> SLAPolicy:
    return SLAPolicy.objects.create(
        name="Standard", is_default=True, first_response_minutes=60, resolution_minutes=480,
        warning_percent=80, breach_actions=["notify_assignee"],
    )  # fmt: skip


def _state(ticket: Ticket) -> tuple[int, int | None, str]:
    ticket.refresh_from_db()
    return ticket.tier.level, ticket.assignee_id, ticket.priority


MOVE_DOWN = {"tier": 1, "reason": "Looks simple", "handoff_note": "Try a restart."}


def test_api_refuses_a_tier_move_by_an_agent_outside_the_tier(agent_api, experts_ticket, expert):
    before = _state(experts_ticket)
    response = agent_api.post(
        f"/api/v1/tickets/{experts_ticket.pk}/tier/", MOVE_DOWN, format="json"
    )
    assert response.status_code == 403
    assert error_of(response)["code"] == "not_your_tier"
    assert _state(experts_ticket) == before == (3, expert.pk, "normal")


def test_api_refuses_priority_and_assignee_changes_outside_the_tier(
    agent_api, agent, experts_ticket
):
    url = f"/api/v1/tickets/{experts_ticket.pk}/"
    before = _state(experts_ticket)
    for change in ({"priority": "low"}, {"assignee": None}):
        response = agent_api.patch(url, change, format="json")
        assert response.status_code == 403, change
    assert _state(experts_ticket) == before


def test_the_expert_de_escalates_through_the_api_and_the_admin_may_too(
    experts_ticket, expert, admin_user
):
    expert_api = _client_for(expert)
    url = f"/api/v1/tickets/{experts_ticket.pk}/tier/"
    response = expert_api.post(url, {**MOVE_DOWN, "tier": 2}, format="json")
    assert response.status_code == 200
    assert response.json()["events"][-1]["kind"] == "deescalated"
    response = _client_for(admin_user).post(url, MOVE_DOWN, format="json")
    assert response.status_code == 200 and response.json()["tier"] == 1


def test_nobody_moves_a_ticket_back_to_self_service(admin_api, open_ticket):
    ticket = open_ticket(tier_level=1)
    response = admin_api.post(
        f"/api/v1/tickets/{ticket.pk}/tier/",
        {"tier": 0, "reason": "r", "handoff_note": "n"},
        format="json",
    )
    assert response.status_code in (400, 403)
    assert _state(ticket)[0] == 1


# --- The ticket page ----------------------------------------------------------------------


def _page(client, ticket: Ticket) -> str:
    response = client.get(f"/agent/tickets/{ticket.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_expert_de_escalates_on_the_ticket_page(client, expert, experts_ticket):
    client.force_login(expert)
    html = _page(client, experts_ticket)
    assert 'id="tier-move"' in html
    assert "Tier 1 (de-escalate)" in html and "Tier 2 (de-escalate)" in html
    response = client.post(
        f"/agent/tickets/{experts_ticket.pk}/tier/",
        {"tier": 2, "reason": "Hardware is fine", "handoff_note": "Check the driver version."},
        follow=True,
    )
    assert "De-escalated to tier 2." in response.content.decode()
    event = TicketEvent.objects.filter(ticket=experts_ticket).latest("pk")
    assert (event.kind, event.data["handoff_note"]) == (
        EventKind.DEESCALATED,
        "Check the driver version.",
    )


def test_a_tier_1_agent_sees_no_controls_it_cannot_use_and_the_post_is_refused(
    agent_client, experts_ticket, expert
):
    html = _page(agent_client, experts_ticket)
    assert 'id="tier-move"' not in html
    assert 'id="assign-me"' not in html
    assert 'id="side-priority"' not in html and 'id="side-assignee"' not in html
    assert 'id="side-readonly"' in html
    response = agent_client.post(
        f"/agent/tickets/{experts_ticket.pk}/tier/", MOVE_DOWN, follow=True
    )
    assert "is not in your tiers" in response.content.decode()
    assert _state(experts_ticket) == (3, expert.pk, "normal")


def test_a_tier_1_agent_escalates_its_own_tickets(agent_client, open_ticket):
    ticket = open_ticket(tier_level=1)
    html = _page(agent_client, ticket)
    assert "Tier 2 (escalate)" in html and "Tier 3 (escalate)" in html
    assert "(de-escalate)" not in html  # nothing below tier 1 to move to
    assert 'id="assign-me"' in html


def test_a_refused_move_comes_back_with_what_was_typed(agent_client, open_ticket):
    ticket = open_ticket(tier_level=1)
    typed = {"tier": 2, "reason": "VPN drops every 10 minutes", "handoff_note": ""}

    response = agent_client.post(f"/agent/tickets/{ticket.pk}/tier/", typed)

    html = response.content.decode()
    assert response.status_code == 400
    assert "give the target tier, a reason and a hand-off note" in html
    assert 'id="tier-move" open' in html
    assert 'value="VPN drops every 10 minutes"' in html
    assert '<option value="2" selected>' in html
    assert _state(ticket)[0] == 1


# --- Bulk actions ---------------------------------------------------------------------------


def test_bulk_move_needs_a_hand_off_note_of_its_own(agent_client, open_ticket):
    ticket = open_ticket(tier_level=1)
    response = agent_client.post(
        "/agent/bulk/",
        {"tickets": [ticket.pk], "action": "tier", "tier": 2, "reason": "Network"},
        follow=True,
    )
    assert "give a reason and a hand-off note" in response.content.decode()
    assert _state(ticket)[0] == 1
    agent_client.post(
        "/agent/bulk/",
        {"tickets": [ticket.pk], "action": "tier", "tier": 2, "reason": "Network",
         "handoff_note": "Traceroute attached."},
    )  # fmt: skip
    event = TicketEvent.objects.filter(ticket=ticket, kind=EventKind.ESCALATED).get()
    assert (event.data["reason"], event.data["handoff_note"]) == ("Network", "Traceroute attached.")


def test_bulk_move_refuses_each_ticket_outside_the_agents_tiers(
    agent_client, open_ticket, experts_ticket, expert
):
    response = agent_client.post(
        "/agent/bulk/",
        {"tickets": [experts_ticket.pk], "action": "tier", "tier": 1, "reason": "r",
         "handoff_note": "n"},
        follow=True,
    )  # fmt: skip
    assert f"{experts_ticket.reference}: Only agents of" in response.content.decode()
    assert _state(experts_ticket) == (3, expert.pk, "normal")


# --- Merging ---------------------------------------------------------------------------------


def test_bulk_merge_asks_first_then_keeps_the_chosen_ticket_and_names_both(
    agent_client, agent, open_ticket
):
    first = open_ticket(sender="ann@example.com", subject="VPN down (first mail)")
    kept = open_ticket(sender="ann@example.com", subject="VPN down")
    services.ticket_set_tags(ticket=first, names=["vpn", "outage"], actor=agent)
    services.ticket_set_tags(ticket=kept, names=["vpn"], actor=agent)
    data = {"tickets": [first.pk, kept.pk], "action": "merge", "merge_into": kept.reference}
    asked = agent_client.post("/agent/bulk/", data).content.decode()
    assert f"Merge into {kept.reference}?" in asked
    assert first.reference in asked
    assert Ticket.objects.get(pk=first.pk).merged_into_id is None  # nothing yet

    done = agent_client.post("/agent/bulk/", {**data, "confirm": "on"}, follow=True)
    assert f"Merged {first.reference} into {kept.reference}." in done.content.decode()
    first.refresh_from_db()
    assert (first.merged_into_id, first.status) == (kept.pk, "closed")
    assert sorted(kept.tags.values_list("name", flat=True)) == ["outage", "vpn"]


def test_tickets_of_two_customers_are_never_merged_at_any_door(
    agent_client, agent_api, open_ticket
):
    # Bob's thread is his to read in the portal: Ann's messages and files must not land there.
    ann = open_ticket(sender="ann@example.com", text="My invoice address is 1 Secret Road")
    bob = open_ticket(sender="bob@example.com", text="Where is my invoice?")

    response = agent_api.post(f"/api/v1/tickets/{ann.pk}/merge/", {"into": bob.pk}, format="json")
    assert response.status_code == 409
    assert error_of(response)["code"] == "different_customers"
    data = {"tickets": [ann.pk, bob.pk], "action": "merge", "merge_into": bob.reference}
    for sent in (data, {**data, "confirm": "on"}):  # refused before asking to confirm
        page = agent_client.post("/agent/bulk/", sent, follow=True).content.decode()
        assert "are from different customers: merge the customers first" in page
        assert f"Merge into {bob.reference}?" not in page

    assert Ticket.objects.get(pk=ann.pk).merged_into_id is None
    assert list(bob.messages.values_list("body_text", flat=True)) == ["Where is my invoice?"]


def test_bulk_merge_without_a_ticked_target_changes_nothing(agent_client, open_ticket):
    a, b = open_ticket(), open_ticket()
    response = agent_client.post(
        "/agent/bulk/",
        {"tickets": [a.pk, b.pk], "action": "merge", "merge_into": "HD-999999", "confirm": "on"},
        follow=True,
    )
    assert "Choose, among the ticked tickets" in response.content.decode()
    assert not Ticket.objects.filter(merged_into__isnull=False).exists()


def test_a_merged_ticket_stops_its_clocks_and_the_sweep_leaves_it_alone(
    agent_api, open_ticket, time_machine, standard_policy
):
    source, target = open_ticket(sender="ann@example.com"), open_ticket(sender="ann@example.com")
    assert source.clocks.filter(stopped_at__isnull=True).exists()
    response = agent_api.post(
        f"/api/v1/tickets/{source.pk}/merge/", {"into": target.pk}, format="json"
    )
    assert response.status_code == 200
    assert not source.clocks.filter(stopped_at__isnull=True).exists()
    time_machine.move_to(timezone.now() + timedelta(days=30))
    tasks.sla_sweep()
    fired = TicketEvent.objects.filter(
        ticket=source, kind__in=[EventKind.SLA_WARNING, EventKind.SLA_BREACH]
    )
    assert not fired.exists()


def test_merging_another_tiers_ticket_is_refused(agent_api, experts_ticket, open_ticket):
    mine = open_ticket(tier_level=1)
    response = agent_api.post(
        f"/api/v1/tickets/{experts_ticket.pk}/merge/", {"into": mine.pk}, format="json"
    )
    assert response.status_code == 403
    assert Ticket.objects.get(pk=experts_ticket.pk).merged_into_id is None


def test_closing_is_for_the_tickets_workers_and_a_merge_needs_both_tickets(
    agent_api, open_ticket, experts_ticket, client, customer_user
):
    response = agent_api.patch(
        f"/api/v1/tickets/{experts_ticket.pk}/", {"status": "closed"}, format="json"
    )
    assert response.status_code == 403
    assert Ticket.objects.get(pk=experts_ticket.pk).status != "closed"
    mine = open_ticket(tier_level=1)
    response = agent_api.post(
        f"/api/v1/tickets/{mine.pk}/merge/", {"into": experts_ticket.pk}, format="json"
    )
    assert response.status_code == 403
    assert Ticket.objects.get(pk=mine.pk).merged_into_id is None
    # Resolving is anyone's; and a self-service ticket is every agent's to close.
    assert (
        agent_api.patch(
            f"/api/v1/tickets/{experts_ticket.pk}/", {"status": "resolved"}, format="json"
        ).status_code
        == 200
    )
    waiting = open_ticket(tier_level=0)
    assert (
        agent_api.patch(
            f"/api/v1/tickets/{waiting.pk}/", {"status": "closed"}, format="json"
        ).status_code
        == 200
    )
