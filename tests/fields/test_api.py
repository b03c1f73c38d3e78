"""The API reads and writes custom fields, checked as at every other door."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tickets.models import EventKind

pytestmark = pytest.mark.django_db


def test_a_ticket_has_its_fields_by_key_and_patch_sets_them(desk, agent_api, open_ticket):
    ticket = open_ticket()
    body = agent_api.get(f"/api/v1/tickets/{ticket.pk}/").json()
    assert body["custom_fields"] == {
        "plan": None, "order_number": None, "seats": None, "renewal": None, "modules": [],
        "vip": False, "root_cause": None,
    }  # fmt: skip
    response = agent_api.patch(
        f"/api/v1/tickets/{ticket.pk}/",
        {"custom_fields": {"plan": "pro", "seats": 12.5, "renewal": "2027-01-02",
                           "modules": ["reports"], "vip": True, "order_number": "XY-0001"}},
        format="json",
    )  # fmt: skip
    assert response.status_code == 200, response.json()
    assert response.json()["custom_fields"] == {
        "plan": "pro", "order_number": "XY-0001", "seats": 12.5, "renewal": "2027-01-02",
        "modules": ["reports"], "vip": True, "root_cause": None,
    }  # fmt: skip
    assert ticket.events.filter(kind=EventKind.FIELDS_CHANGED).count() == 1
    response = agent_api.patch(
        f"/api/v1/tickets/{ticket.pk}/", {"custom_fields": {"plan": None}}, format="json"
    )
    assert response.json()["custom_fields"]["plan"] is None
    assert response.json()["custom_fields"]["seats"] == 12.5  # the others are kept


def test_wrong_values_are_refused_each_by_name_and_nothing_is_written(desk, agent_api, open_ticket):
    ticket = open_ticket()
    response = agent_api.patch(
        f"/api/v1/tickets/{ticket.pk}/",
        {"custom_fields": {"plan": "gold", "seats": 0, "nope": 1}, "priority": "high"},
        format="json",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_field"
    assert set(error["fields"]) == {
        "custom_fields.plan", "custom_fields.seats", "custom_fields.nope"
    }  # fmt: skip
    assert error["fields"]["custom_fields.seats"] == ["Seats: give at least 1."]
    ticket.refresh_from_db()
    assert ticket.priority == "normal"  # all or nothing
    assert not ticket.events.filter(kind=EventKind.FIELDS_CHANGED).exists()


def test_the_list_gives_every_tickets_fields_at_a_constant_cost(
    desk, agent, agent_api, open_ticket
):
    from tickets.fields.services import ticket_set_fields

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = agent_api.get("/api/v1/tickets/")
        assert response.status_code == 200
        return len(captured)

    for _ in range(2):
        ticket_set_fields(ticket=open_ticket(), values={"plan": "basic"}, actor=agent)
    few = queries()
    for _ in range(6):
        ticket_set_fields(ticket=open_ticket(), values={"modules": ["crm"]}, actor=agent)
    assert queries() == few
    rows = agent_api.get("/api/v1/tickets/").json()["results"]
    assert sorted(str(r["custom_fields"]["plan"]) for r in rows).count("basic") == 2


def test_a_ticket_opened_through_the_api_takes_its_fields_or_nothing(desk, agent_api):
    from tickets.models import Ticket

    body = {
        "requester": {"email": "ops@example.com", "name": "Ops"},
        "subject": "Seats",
        "text": "We need more seats.",
    }
    refused = agent_api.post(
        "/api/v1/tickets/", {**body, "custom_fields": {"seats": -3}}, format="json"
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"] == {"custom_fields.seats": ["Seats: give at least 1."]}
    assert not Ticket.objects.exists()
    created = agent_api.post(
        "/api/v1/tickets/", {**body, "custom_fields": {"seats": 30, "plan": "team"}}, format="json"
    )
    assert created.status_code == 400  # "team" is no choice of this desk
    created = agent_api.post(
        "/api/v1/tickets/", {**body, "custom_fields": {"seats": 30, "plan": "pro"}}, format="json"
    )
    assert created.status_code == 201
    assert created.json()["custom_fields"]["seats"] == 30
    assert created.json()["custom_fields"]["plan"] == "pro"


def test_the_ticket_list_filters_by_a_field_as_the_queue_does(desk, agent_api, open_ticket):
    pro = open_ticket(sender="pro@example.com")
    big = open_ticket(sender="big@example.com")
    open_ticket(sender="none@example.com")
    for ticket, values in ((pro, {"plan": "pro", "seats": 5}), (big, {"seats": 400})):
        response = agent_api.patch(
            f"/api/v1/tickets/{ticket.pk}/", {"custom_fields": values}, format="json"
        )
        assert response.status_code == 200

    def listed(**params):
        response = agent_api.get("/api/v1/tickets/", params)
        assert response.status_code == 200, response.content
        return {t["id"] for t in response.json()["results"]}

    assert listed(cf="plan", cf_value="pro") == {pro.pk}
    assert listed(cf="seats", cf_min="100") == {big.pk}
    assert listed(cf="seats", cf_op="set") == {pro.pk, big.pk}
    assert pro.pk not in listed(cf="plan", cf_op="not_set")
    refused = agent_api.get("/api/v1/tickets/", {"cf": "plan", "cf_value": "gold"})
    assert refused.status_code == 400 and "gold" in str(refused.json())
    unknown = agent_api.get("/api/v1/tickets/", {"cf": "nope", "cf_op": "set"})
    assert unknown.status_code == 400
