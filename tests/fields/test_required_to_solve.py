"""A field required when solving: no person on staff resolves or closes a ticket without it,
by any door (the ticket page, a reply, the API, a bulk action, answering many at once);
the system and customers are not asked."""

import pytest
from django.utils import timezone

from tickets import services
from tickets.errors import InvalidTransition
from tickets.fields.services import ticket_set_fields
from tickets.models import EventKind, Message, MessageKind, Ticket, TicketStatus
from tickets.services.answer_many import tickets_answer_and_resolve

pytestmark = pytest.mark.django_db

REFUSAL = "before these fields are filled in: Root cause."


def status_of(ticket: Ticket) -> str:
    return Ticket.objects.values_list("status", flat=True).get(pk=ticket.pk)


def test_the_ticket_page_refuses_to_resolve_or_close_and_says_why(
    desk, agent, agent_client, open_ticket
):
    ticket = open_ticket()
    for status in ("resolved", "closed"):
        response = agent_client.post(
            f"/agent/tickets/{ticket.pk}/change/", {"field": "status", "value": status},
            follow=True,
        )  # fmt: skip
        assert REFUSAL in response.content.decode()
        assert status_of(ticket) == TicketStatus.NEW
    assert not ticket.events.filter(kind=EventKind.STATUS_CHANGED).exists()

    ticket_set_fields(ticket=ticket, values={"root_cause": "setup"}, actor=agent)
    agent_client.post(
        f"/agent/tickets/{ticket.pk}/change/", {"field": "status", "value": "resolved"}
    )
    assert status_of(ticket) == TicketStatus.RESOLVED


def test_a_reply_that_resolves_is_refused_whole_keeping_the_typed_text(
    desk, agent_client, open_ticket
):
    ticket = open_ticket()
    response = agent_client.post(
        f"/agent/tickets/{ticket.pk}/reply/",
        {"text": "Fixed it for you.", "status": "resolved", "channel": "email"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert REFUSAL in page and "Fixed it for you." in page
    assert status_of(ticket) == TicketStatus.NEW
    assert not Message.objects.filter(ticket=ticket, kind=MessageKind.OUTBOUND).exists()


def test_the_api_refuses_then_takes_the_field_and_the_status_in_one_request(
    desk, agent_api, open_ticket
):
    ticket = open_ticket()
    response = agent_api.patch(
        f"/api/v1/tickets/{ticket.pk}/", {"status": "resolved"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "fields_required"
    assert REFUSAL in response.json()["error"]["message"]
    response = agent_api.patch(
        f"/api/v1/tickets/{ticket.pk}/",
        {"status": "resolved", "custom_fields": {"root_cause": "bug"}},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["status"] == "resolved"


def test_a_bulk_status_change_skips_those_without_it_and_names_them(
    desk, agent, agent_client, open_ticket
):
    ready, missing = open_ticket(), open_ticket()
    ticket_set_fields(ticket=ready, values={"root_cause": "user"}, actor=agent)
    response = agent_client.post(
        "/agent/bulk/",
        {"tickets": [ready.pk, missing.pk], "action": "status", "status": "resolved"},
        follow=True,
    )
    page = response.content.decode()
    assert "Done for 1 ticket." in page and f"{missing.reference}:" in page
    assert (status_of(ready), status_of(missing)) == (TicketStatus.RESOLVED, TicketStatus.NEW)


def test_answering_many_at_once_leaves_those_without_it_with_the_reason(desk, agent, open_ticket):
    ready, missing = open_ticket(), open_ticket()
    ticket_set_fields(ticket=ready, values={"root_cause": "bug"}, actor=agent)
    outcome = tickets_answer_and_resolve(
        ticket_ids=[ready.pk, missing.pk], text="Fixed.", actor=agent, now=timezone.now()
    )
    assert outcome.done == [ready.pk]
    assert REFUSAL in outcome.refused[missing.pk]
    assert status_of(missing) == TicketStatus.NEW
    assert not Message.objects.filter(ticket=missing, kind=MessageKind.OUTBOUND).exists()


def test_the_system_and_merging_are_not_asked(desk, agent, open_ticket):
    ticket, other, target = (
        open_ticket(),
        open_ticket(sender="ann@example.com"),
        open_ticket(sender="ann@example.com"),
    )
    services.ticket_change_status(ticket=ticket, status=TicketStatus.RESOLVED, actor=None)
    assert status_of(ticket) == TicketStatus.RESOLVED
    services.ticket_merge(source=other, target=target, actor=agent)
    assert status_of(other) == TicketStatus.CLOSED


def test_an_inactive_field_is_not_required(desk, agent, open_ticket):
    desk.cause.active = False
    desk.cause.save()
    ticket = open_ticket()
    services.ticket_resolve(ticket=ticket, actor=agent)
    assert status_of(ticket) == TicketStatus.RESOLVED


def test_the_refusal_is_a_transition_error_naming_every_missing_field(desk, agent, open_ticket):
    desk.seats.required_to_solve = True
    desk.seats.save()
    ticket = open_ticket()
    with pytest.raises(InvalidTransition, match="Seats, Root cause"):
        services.ticket_close(ticket=ticket, actor=agent)
