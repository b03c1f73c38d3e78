"""A closed ticket is final (tickets.policy.refuse_if_closed): as its replies, priority,
subject, assignee and tier, its tags, custom fields and product stay as they were when it
closed, whichever door asks (the ticket page, a bulk action, the API, a rule); a customer
writing again opens a follow-up. Each refusal says why and writes nothing."""

import re
from typing import Any

import pytest

from tests.conftest import browser
from tests.fields.conftest import make_field
from tickets import services
from tickets.automation import dispatch
from tickets.automation.manage import trigger_save
from tickets.models import EventKind, FieldKind, Product, Ticket, TicketFieldValue

pytestmark = pytest.mark.django_db


@pytest.fixture
def closed(open_ticket, agent) -> Ticket:
    ticket = open_ticket(subject="Printer jam")
    services.ticket_set_tags(ticket=ticket, names=["printer"], actor=agent)
    services.ticket_close(ticket=ticket, actor=agent)
    return Ticket.objects.get(pk=ticket.pk)


@pytest.fixture
def seats(db: None) -> Any:
    return make_field("seats", FieldKind.NUMBER, "Seats", min_value=1, max_value=1000)


def tags(ticket: Ticket) -> list[str]:
    return sorted(ticket.tags.values_list("name", flat=True))


def events(ticket: Ticket) -> int:
    return ticket.events.count()


def test_the_api_refuses_tags_fields_and_product_on_a_closed_ticket(closed, seats, agent_api):
    product = Product.objects.create(name="Ledger")
    before = events(closed)
    for change in (
        {"tags": ["refund"]},
        {"custom_fields": {"seats": 5}},
        {"product": product.pk},
    ):
        answer = agent_api.patch(f"/api/v1/tickets/{closed.pk}/", change, format="json")
        assert answer.status_code == 409, change
        assert answer.json()["error"]["code"] == "ticket_closed"
        assert answer.json()["error"]["message"] == f"{closed.reference} is closed."
    closed.refresh_from_db()
    assert tags(closed) == ["printer"] and closed.product_id is None
    assert not TicketFieldValue.objects.filter(ticket=closed).exists()
    assert events(closed) == before


def test_the_api_sets_tags_and_fields_in_the_patch_that_closes(open_ticket, seats, agent_api):
    ticket = open_ticket()
    answer = agent_api.patch(
        f"/api/v1/tickets/{ticket.pk}/",
        {"status": "closed", "tags": ["refund"], "custom_fields": {"seats": 5}},
        format="json",
    )
    assert answer.status_code == 200, answer.json()
    assert answer.json()["status"] == "closed" and answer.json()["tags"] == ["refund"]


def test_the_ticket_page_refuses_tags_and_fields_on_a_closed_ticket(closed, seats, agent):
    page = browser(agent)
    answer = page.post(
        f"/agent/tickets/{closed.pk}/change/",
        {"field": "tags", "value": "printer, refund", "shown": "printer"},
        follow=True,
    )
    assert f"{closed.reference} is closed." in answer.content.decode()
    answer = page.post(f"/agent/tickets/{closed.pk}/fields/", {"cf-field_seats": "5"}, follow=True)
    assert f"{closed.reference} is closed." in answer.content.decode()
    assert tags(closed) == ["printer"]
    assert not TicketFieldValue.objects.filter(ticket=closed).exists()


def test_a_bulk_action_tags_the_open_tickets_and_says_which_are_closed(closed, open_ticket, agent):
    still_open = open_ticket(subject="Scanner")
    answer = browser(agent).post(
        "/agent/bulk/",
        {"tickets": [still_open.pk, closed.pk], "action": "tag", "tags": "outage"},
        follow=True,
    )
    html = answer.content.decode()
    assert "Done for 1 ticket." in html
    assert f"{closed.reference}: {closed.reference} is closed." in html
    assert tags(still_open) == ["outage"] and tags(closed) == ["printer"]


def test_a_rule_does_not_tag_a_closed_ticket_and_says_why(
    closed, celery_eager, django_capture_on_commit_callbacks
):
    dispatch.forget_rules_in_use()
    trigger_save(
        trigger=None,
        name="Unhappy customers",
        events=["ticket.rated"],
        conditions={"all": [{"field": "rating", "op": "below", "value": 3}]},
        actions=[{"type": "add_tags", "value": ["unhappy"]}],
        actor=None,
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_rate(ticket=closed, rating=1, actor=None)

    assert tags(closed) == ["printer"]
    [failed] = closed.events.filter(kind=EventKind.RULE_FAILED)
    assert failed.data["error"] == f"{closed.reference} is closed."


def test_the_ticket_page_shows_a_closed_tickets_tags_and_fields_without_editors(
    closed, seats, agent
):
    page = browser(agent).get(f"/agent/tickets/{closed.pk}/").content.decode()
    assert 'id="side-tags"' not in page and "Save fields" not in page
    [seats_input] = re.findall(r'<input[^>]*name="cf-field_seats"[^>]*>', page)
    assert " disabled" in seats_input  # shown, not edited
    assert "Closed tickets are final" in page
    assert "printer" in page


def test_the_ticket_page_shows_a_closed_tickets_priority_and_assignee_without_editors(
    open_ticket, agent
):
    # The services refuse them on a closed ticket: the page offers no editor to be refused.
    ticket = open_ticket(subject="Printer jam")
    services.ticket_assign(ticket=ticket, assignee=agent, actor=agent)
    before = browser(agent).get(f"/agent/tickets/{ticket.pk}/").content.decode()
    assert 'id="side-priority"' in before and 'id="side-assignee"' in before
    services.ticket_close(ticket=ticket, actor=agent)

    page = browser(agent).get(f"/agent/tickets/{ticket.pk}/").content.decode()

    assert 'id="side-priority"' not in page and 'id="side-assignee"' not in page
    assert 'id="assign-me"' not in page and 'id="tier-move"' not in page
    [facts] = re.findall(r'<dl class="side-facts" id="side-readonly">.*?</dl>', page)
    assert "<dt>Priority</dt><dd>Normal</dd>" in facts
    assert f"<dt>Assignee</dt><dd>{agent.get_full_name() or agent.username}</dd>" in facts
