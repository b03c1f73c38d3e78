"""Agents log phone calls (API): on a ticket, or as a new phone ticket for the caller."""

import pytest

from tickets.models import CallLog, Channel, ContactPoint, EventKind, Ticket, TicketEvent

pytestmark = pytest.mark.django_db
CALLS = "/api/v1/calls/"


def test_inbound_call_opens_a_phone_ticket(agent_api, agent):
    response = agent_api.post(
        CALLS,
        {
            "phone_number": "(415) 555-0134",
            "direction": "inbound",
            "duration_seconds": 312,
            "notes": "Caller cannot print from the new laptop.",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    ticket = Ticket.objects.get(pk=body["id"])
    assert (ticket.channel, ticket.tier.level, ticket.status) == (Channel.PHONE, 1, "open")
    assert ticket.first_responded_at is not None
    assert ticket.customer.contact_points.get().value == "+14155550134"
    call = CallLog.objects.get()
    assert (call.direction, call.duration_seconds, call.phone_number) == (
        "inbound",
        312,
        "+14155550134",
    )
    assert call.message.author_user == agent
    assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.CALL_LOGGED).count() == 1


def test_outbound_call_on_an_existing_ticket(agent_api, open_ticket):
    ticket = open_ticket()
    response = agent_api.post(
        CALLS,
        {
            "ticket": ticket.pk,
            "phone_number": "+44 20 7946 0018",
            "direction": "outbound",
            "duration_seconds": 60,
            "notes": "Walked the customer through the reset.",
        },
        format="json",
    )
    assert response.status_code == 201
    messages = response.json()["messages"]
    assert messages[-1]["kind"] == "outbound"
    assert messages[-1]["channel"] == "phone"
    assert ContactPoint.objects.filter(customer=ticket.customer, value="+442079460018").exists()


@pytest.mark.parametrize(
    "change, field",
    [
        ({"direction": "sideways"}, "direction"),
        ({"duration_seconds": -5}, "duration_seconds"),
        ({"notes": ""}, "notes"),
    ],
)
def test_invalid_call_is_400(agent_api, change, field):
    payload = {
        "phone_number": "+14155550134",
        "direction": "inbound",
        "duration_seconds": 10,
        "notes": "x",
        **change,
    }
    response = agent_api.post(CALLS, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not Ticket.objects.exists()


def test_bad_number_is_400(agent_api):
    response = agent_api.post(
        CALLS,
        {"phone_number": "call me", "direction": "inbound", "duration_seconds": 1, "notes": "x"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_phone"


def test_call_on_closed_ticket_is_409(agent_api, open_ticket, agent):
    from tickets import services

    ticket = open_ticket()
    services.ticket_close(ticket=ticket, actor=agent)
    response = agent_api.post(
        CALLS,
        {
            "ticket": ticket.pk,
            "phone_number": "+14155550134",
            "direction": "inbound",
            "duration_seconds": 1,
            "notes": "x",
        },
        format="json",
    )
    assert response.status_code == 409


def test_customers_and_anonymous_cannot_log_calls(api, customer_api):
    payload = {"phone_number": "+14155550134", "direction": "inbound", "duration_seconds": 1}
    assert api.post(CALLS, payload, format="json").status_code == 401
    assert customer_api.post(CALLS, payload, format="json").status_code == 403
