"""Agents see and edit a ticket's fields on its page; each change is in its history."""

import pytest

from tickets.models import EventKind, TicketFieldValue

pytestmark = pytest.mark.django_db


def fields_post(**values):
    return {f"cf-field_{key}": value for key, value in values.items()}


def test_an_agent_sees_every_field_and_edits_them_with_history(desk, agent_client, open_ticket):
    ticket = open_ticket()
    page = agent_client.get(f"/agent/tickets/{ticket.pk}/").content.decode()
    assert 'id="ticket-fields"' in page
    for label in ("Plan", "Order number", "Seats", "Renewal date", "Modules", "VIP"):
        assert label in page
    assert 'Root cause <span class="help">(required to solve)</span>' in page

    response = agent_client.post(
        f"/agent/tickets/{ticket.pk}/fields/",
        fields_post(plan="pro", seats="25", renewal="2027-03-01", modules=["crm", "billing"],
                    vip="on", order_number=""),
        follow=True,
    )  # fmt: skip
    page = response.content.decode()
    assert "Fields saved." in page
    assert 'value="25"' in page and 'value="2027-03-01"' in page
    assert (
        "Fields: Plan: empty → pro; Seats: empty → 25; Renewal date: empty → 2027-03-01; "
        "Modules: empty → billing, crm; VIP: no → yes"
    ) in page  # the timeline, in the fields' order
    event = ticket.events.get(kind=EventKind.FIELDS_CHANGED)
    assert event.actor_id == response.wsgi_request.user.pk
    changes = {change.pop("key"): change for change in event.data["changes"]}
    assert changes["modules"]["to"] == ["billing", "crm"]
    assert changes["vip"] == {"from": False, "to": True, "label": "VIP"}

    # Changing one value writes only that change.
    agent_client.post(
        f"/agent/tickets/{ticket.pk}/fields/",
        fields_post(plan="enterprise", seats="25", renewal="2027-03-01",
                    modules=["crm", "billing"], vip="on"),
    )  # fmt: skip
    last = ticket.events.filter(kind=EventKind.FIELDS_CHANGED).latest("id")
    assert last.data["changes"] == [
        {"key": "plan", "from": "pro", "to": "enterprise", "label": "Plan"}
    ]


def test_a_wrong_value_is_refused_and_nothing_changes(desk, agent_client, open_ticket):
    ticket = open_ticket()
    response = agent_client.post(
        f"/agent/tickets/{ticket.pk}/fields/", fields_post(plan="pro", seats="5000")
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Give at most 1000." in page
    assert not TicketFieldValue.objects.exists()
    assert not ticket.events.filter(kind=EventKind.FIELDS_CHANGED).exists()


def test_customers_and_strangers_cannot_edit_fields(desk, client, open_ticket, customer_user):
    ticket = open_ticket()
    client.force_login(customer_user)
    response = client.post(f"/agent/tickets/{ticket.pk}/fields/", fields_post(plan="pro"))
    assert response.status_code in (302, 403)
    assert not TicketFieldValue.objects.exists()


def test_saving_fields_keeps_what_a_colleague_changed_since_the_page_was_loaded(
    desk, agent_client, agent, open_ticket
):
    import html
    import re

    from tickets.fields.services import ticket_set_fields

    ticket = open_ticket()
    ticket_set_fields(ticket=ticket, values={"plan": "basic", "seats": 5}, actor=agent)
    page = agent_client.get(f"/agent/tickets/{ticket.pk}/").content.decode()
    shown = re.search(r'name="cf-shown" value="([^"]*)"', page)
    assert shown, "the fields form does not say what it showed"
    ticket_set_fields(ticket=ticket, values={"plan": "pro"}, actor=agent)  # a colleague

    # The page still shows the basic plan; the agent changes only the seats.
    response = agent_client.post(
        f"/agent/tickets/{ticket.pk}/fields/",
        {**fields_post(plan="basic", seats="7"), "cf-shown": html.unescape(shown.group(1))},
    )

    assert response.status_code == 302
    values = {v.field.key: v for v in TicketFieldValue.objects.filter(ticket=ticket)}
    assert values["plan"].value_text == "pro"
    assert values["seats"].value_number == 7
    last = ticket.events.filter(kind=EventKind.FIELDS_CHANGED).latest("id")
    assert [change["key"] for change in last.data["changes"]] == ["seats"]
