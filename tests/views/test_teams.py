"""Teams: leads put colleagues together across tiers on the team page, and share views with
a team; only its members (and the admins and leads who manage views) see them."""

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.conftest import browser
from tests.factories import AgentFactory, LightAgentFactory, UserFactory
from tickets.models import SavedView, Team

pytestmark = pytest.mark.django_db


@pytest.fixture
def people() -> dict[str, Any]:
    return {
        "ana": AgentFactory(username="ana", tiers=[1]),
        "bo": AgentFactory(username="bo", tiers=[2]),
        "cy": AgentFactory(username="cy", tiers=[1]),
    }


def make_team(client: Client, name: str, *members: Any) -> Any:
    return client.post(
        "/agent/team/teams/new/", {"name": name, "members": [m.pk for m in members]}, follow=True
    )


def share_with_team(client: Client, team: Team, name: str = "Billing backlog") -> Any:
    return client.post(
        "/agent/views/new/",
        {
            "name": name,
            "sharing": "team",
            "share_team": team.pk,
            "queue": "all",
            "columns": ["reference", "status"],
        },
    )


def shared_views(html: str) -> list[str]:
    found = re.search(r'<ul id="shared-views">(.*?)</ul>', html, re.S)
    return re.findall(r'>([^<>]+?) <span class="count">', found.group(1)) if found else []


def test_a_lead_makes_a_team_across_tiers_and_shares_a_view_with_it(lead, people, open_ticket):
    open_ticket(tier_level=2)
    response = make_team(browser(lead), "Billing squad", people["ana"], people["bo"])
    html = response.content.decode()
    assert "Team “Billing squad” saved." in html
    team = Team.objects.get()
    assert {m.username for m in team.members.all()} == {"ana", "bo"}
    # The team page says who is in which team.
    row = re.search(rf'<tr data-user="{people["bo"].pk}">(.*?)</tr>', html, re.S).group(1)
    assert "Billing squad" in row

    assert share_with_team(browser(lead), team).status_code == 302
    view = SavedView.objects.get()
    assert (view.sharing, view.team_id, view.tier_id) == ("team", team.pk, None)

    for member in ("ana", "bo"):  # in tier 1 and tier 2 alike
        page = browser(people[member]).get("/agent/queue/mine/").content.decode()
        assert shared_views(page) == ["Billing backlog"]
        view_page = browser(people[member]).get(f"/agent/views/{view.pk}/").content.decode()
        assert "Shared with the team Billing squad." in view_page
    outsider = browser(people["cy"])
    assert "Billing backlog" not in outsider.get("/agent/queue/mine/").content.decode()
    assert outsider.get(f"/agent/views/{view.pk}/").status_code == 404


def test_leaving_or_joining_a_team_changes_whose_sidebar_shows_its_views(lead, people):
    client = browser(lead)
    make_team(client, "Nights", people["ana"])
    team = Team.objects.get()
    share_with_team(client, team, "Night queue")
    ana, cy = browser(people["ana"]), browser(people["cy"])
    assert "Night queue" in ana.get("/agent/queue/mine/").content.decode()  # kept in the cache
    response = client.post(
        f"/agent/team/teams/{team.pk}/", {"name": "Night shift", "members": [people["cy"].pk]}
    )
    assert response.status_code == 302
    assert "Night queue" not in ana.get("/agent/queue/mine/").content.decode()
    assert "Night queue" in cy.get("/agent/queue/mine/").content.decode()
    assert Team.objects.get().name == "Night shift"


def test_removing_a_team_keeps_its_views_as_their_owners(lead, people):
    client = browser(lead)
    make_team(client, "Nights", people["ana"])
    team = Team.objects.get()
    share_with_team(client, team, "Night queue")
    html = client.post(f"/agent/team/teams/{team.pk}/delete/", follow=True).content.decode()
    assert "Team “Nights” removed" in html
    view = SavedView.objects.get()
    assert (view.sharing, view.team_id, view.owner_id) == ("personal", None, lead.pk)
    assert "Night queue" not in browser(people["ana"]).get("/agent/queue/mine/").content.decode()


@pytest.mark.parametrize("factory", [AgentFactory, LightAgentFactory])
def test_agents_and_light_agents_may_not_make_or_change_teams(factory, lead, people):
    make_team(browser(lead), "Nights", people["ana"])
    team = Team.objects.get()
    someone = browser(factory(username="someone", tiers=[1]))
    assert make_team(someone, "Mine", people["ana"]).status_code == 403
    edit = someone.post(f"/agent/team/teams/{team.pk}/", {"name": "X", "members": []})
    assert edit.status_code == 403
    assert someone.post(f"/agent/team/teams/{team.pk}/delete/").status_code == 403
    assert list(Team.objects.values_list("name", flat=True)) == ["Nights"]
    assert team.members.count() == 1
    # Nor share a view with one.
    response = share_with_team(someone, team)
    assert response.status_code == 400 and not SavedView.objects.exists()


def test_bad_input_gets_a_clear_error_and_changes_nothing(lead, people):
    client = browser(lead)
    make_team(client, "Nights", people["ana"])
    team = Team.objects.get()
    html = make_team(client, "  ", people["bo"]).content.decode()
    assert "Give the team a name" in html
    html = make_team(client, "Nights", people["bo"]).content.decode()
    assert "There is already a team called “Nights”" in html
    outsider_id = UserFactory(username="not-staff").pk  # a customer's sign-in, say
    html = client.post(
        f"/agent/team/teams/{team.pk}/",
        {"name": "Nights", "members": [people["bo"].pk, outsider_id]},
        follow=True,
    ).content.decode()
    assert "Choose members among the people on staff" in html
    assert list(Team.objects.values_list("name", flat=True)) == ["Nights"]
    assert [m.username for m in team.members.all()] == ["ana"]
    response = client.post(
        "/agent/views/new/",
        {"name": "No team", "sharing": "team", "queue": "all", "columns": ["reference"]},
    )
    assert "Choose the team to share the view with" in response.content.decode()
    assert not SavedView.objects.filter(name="No team").exists()


def test_the_team_page_costs_the_same_queries_for_1_or_6_teams(lead, people):
    client = browser(lead)
    make_team(client, "Team 0", people["ana"])
    client.get("/agent/team/")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/agent/team/").status_code == 200
        return len(captured)

    one = queries()
    for n in range(1, 6):
        make_team(client, f"Team {n}", people["ana"], people["bo"], people["cy"])
    client.get("/agent/team/")
    assert queries() == one


def test_saving_a_queues_filters_over_a_team_view_keeps_it_the_teams(lead, people):
    """The queue page's "Save these filters as" under the name of the lead's view shared
    with a team changes its filters and keeps it shared with that team (it was refused:
    "Choose the team to share the view with")."""
    client = browser(lead)
    make_team(client, "Nights", people["ana"])
    team = Team.objects.get()
    share_with_team(client, team, "Night queue")
    response = client.post(
        "/agent/views/", {"name": "Night queue", "view": "all", "query": "priority=high"}
    )
    view = SavedView.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/agent/views/{view.pk}/"
    assert (view.query, view.sharing, view.team_id) == ("view=all&priority=high", "team", team.pk)
    assert view.columns == "reference,status"
    assert "Night queue" in browser(people["ana"]).get("/agent/queue/mine/").content.decode()


def test_forged_ids_are_refused_with_a_clear_error(lead, people):
    """An id of digits int() does not read ("²") or past any id was a server error."""
    client = browser(lead)
    for members in (["²"], ["99999999999999999999"]):
        html = client.post(
            "/agent/team/teams/new/", {"name": "Nights", "members": members}, follow=True
        ).content.decode()
        assert "Choose members among the people on staff" in html
    assert not Team.objects.exists()
    for tiers in (["²"], ["99999999999999999999"]):
        html = client.post(
            f"/agent/team/{people['ana'].pk}/", {"role": "agent", "tiers": tiers}, follow=True
        ).content.decode()
        assert "Choose tiers that exist." in html
    assert [t.level for t in people["ana"].agent_profile.tiers.all()] == [1]


def test_a_team_name_holding_a_nul_character_is_refused(admin_user: Any, people: Any) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)

    response = make_team(client, "Night\x00shift", people["ana"])

    assert response.status_code == 200
    assert "Give the team a name" in response.content.decode()
    assert not Team.objects.exists()
