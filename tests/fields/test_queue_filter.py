"""The workspace's queues filter by a custom field: a value (a drop-down's, one of a
multi-select's), a range of numbers or dates, set or empty; at the same cost per page."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tickets.fields.services import ticket_set_fields
from tickets.workspace import sidebar

pytestmark = pytest.mark.django_db


def refs(client, **params) -> list[str]:
    response = client.get("/agent/queue/any/", params)
    assert response.status_code == 200, response.content.decode()[:2000]
    page = response.content.decode()
    return sorted(ref for ref in _references(page))


def _references(page: str) -> list[str]:
    import re

    return re.findall(r'<span class="ref">([^<]+)</span>', page)


@pytest.fixture
def tickets(desk, agent, open_ticket):
    made = {}
    for name, values in {
        "a": {"plan": "pro", "seats": 10, "renewal": "2027-01-10", "modules": ["crm"]},
        "b": {"plan": "pro", "seats": 200, "modules": ["crm", "billing"], "vip": True},
        "c": {"plan": "basic", "seats": 50, "renewal": "2027-06-01"},
        "d": {},
    }.items():
        ticket = open_ticket()
        if values:
            ticket_set_fields(ticket=ticket, values=values, actor=agent)
        made[name] = ticket.reference
    return made


def test_filter_by_a_drop_down_a_multi_select_choice_and_a_checkbox(agent_client, tickets):
    t = tickets
    assert refs(agent_client, cf="plan", cf_value="pro") == sorted([t["a"], t["b"]])
    assert refs(agent_client, cf="modules", cf_value="billing") == [t["b"]]
    assert refs(agent_client, cf="modules", cf_value="crm") == sorted([t["a"], t["b"]])
    assert refs(agent_client, cf="vip", cf_value="true") == [t["b"]]


def test_filter_by_number_and_date_ranges_and_by_being_set(agent_client, tickets):
    t = tickets
    assert refs(agent_client, cf="seats", cf_min="20", cf_max="100") == [t["c"]]
    assert refs(agent_client, cf="seats", cf_min="50") == sorted([t["b"], t["c"]])
    assert refs(agent_client, cf="renewal", cf_max="2027-03-01") == [t["a"]]
    assert refs(agent_client, cf="renewal", cf_op="set") == sorted([t["a"], t["c"]])
    assert refs(agent_client, cf="plan", cf_op="not_set") == [t["d"]]


def test_a_condition_that_cannot_hold_is_explained(agent_client, tickets):
    response = agent_client.get("/agent/queue/any/", {"cf": "plan", "cf_value": "gold"})
    assert response.status_code == 400
    assert "Plan: &#x27;gold&#x27; is not one of its choices." in response.content.decode()
    response = agent_client.get(
        "/agent/queue/any/", {"cf": "plan", "cf_op": "between", "cf_min": "1"}
    )
    assert "only numbers and dates have a range" in response.content.decode()
    response = agent_client.get("/agent/queue/any/", {"cf": "seats", "cf_min": "many"})
    assert "give a number" in response.content.decode()
    assert agent_client.get("/agent/queue/any/", {"cf": "nope"}).status_code == 400


def test_the_queue_shows_each_tickets_fields_at_the_same_cost(
    desk, agent, agent_client, open_ticket
):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = agent_client.get("/agent/queue/any/", {"cf": "plan", "cf_op": "set"})
            assert response.status_code == 200
        return len(captured)

    for _ in range(3):
        ticket_set_fields(ticket=open_ticket(), values={"plan": "pro"}, actor=agent)
    sidebar.agent_setup(agent)
    few = queries()
    for _ in range(12):
        ticket_set_fields(
            ticket=open_ticket(), values={"plan": "basic", "modules": ["crm"]}, actor=agent
        )
    assert queries() == few
    page = agent_client.get("/agent/queue/any/").content.decode()
    assert page.count('<span class="custom-field">Plan: Basic</span>') == 12
    assert page.count('<span class="custom-field">Modules: Crm</span>') == 12
