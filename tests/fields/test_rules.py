"""Triggers and automations ask about custom fields as "field:<key>"."""

from typing import Any

import pytest

from tickets.automation import dispatch, rules
from tickets.automation.manage import trigger_save
from tickets.fields.services import ticket_set_fields
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _rules(celery_eager: Any) -> None:
    dispatch.forget_rules_in_use()


def test_a_trigger_acts_on_tickets_whose_field_holds(
    desk, agent, open_ticket, django_capture_on_commit_callbacks
):
    trigger_save(
        trigger=None,
        name="Enterprise to urgent",
        events=["ticket.tags_changed"],
        conditions={
            "all": [
                {"field": "field:plan", "op": "is", "value": "enterprise"},
                {"field": "field:seats", "op": "above", "value": "100"},
            ]
        },
        actions=[{"type": "set_priority", "value": "urgent"}],
        actor=None,
    )
    big, small = open_ticket(), open_ticket()
    ticket_set_fields(ticket=big, values={"plan": "enterprise", "seats": 500}, actor=agent)
    ticket_set_fields(ticket=small, values={"plan": "enterprise", "seats": 20}, actor=agent)
    from tickets import services

    with django_capture_on_commit_callbacks(execute=True):
        for ticket in (big, small):
            services.ticket_set_tags(ticket=ticket, names=["renewal"], actor=agent)
    priorities = dict(Ticket.objects.values_list("pk", "priority"))
    assert (priorities[big.pk], priorities[small.pk]) == ("urgent", "normal")


def test_field_conditions_are_checked_and_hold_as_written():
    checked = rules.check_conditions(
        {"all": [{"field": "field:modules", "op": "contains_all", "value": ["crm", "billing"]}]}
    )
    assert checked["all"][0]["value"] == ["crm", "billing"]
    with pytest.raises(rules.RuleError, match="unknown field"):
        rules.check_conditions({"all": [{"field": "field:Bad Key", "op": "is", "value": "x"}]})
    with pytest.raises(rules.RuleError, match="takes"):
        rules.check_conditions(
            {"all": [{"field": "field:plan", "op": "starts_with", "value": "x"}]}
        )

    def holds(op: str, value: Any, actual: list[str]) -> bool:
        condition = {"field": "field:k", "op": op, "value": value}
        return rules.holds({"all": [condition]}, {"field:k": actual})

    assert holds("is", "Pro", ["pro"]) and not holds("is", "pro", [])
    assert holds("is", "12.50", ["12.5"]) and holds("is_not", "basic", ["pro"])
    assert holds("contains_any", ["crm", "hr"], ["crm"]) and not holds(
        "contains_all", ["crm", "hr"], ["crm"]
    )
    assert holds("contains_none", ["hr"], ["crm"]) and holds("is_empty", None, [])
    assert holds("above", "2027-01-01", ["2027-02-01"]) and holds("below", "10", ["9.5"])
    assert rules.describe_condition({"field": "field:plan", "op": "is", "value": "pro"}) == (
        "Field plan is pro"
    )


def test_the_rule_page_offers_custom_fields(desk, admin_user, client):
    client.force_login(admin_user)
    page = client.get("/agent/rules/triggers/new/").content.decode()
    assert '<option value="field:plan"' in page and "Field: Plan" in page


def test_a_value_that_is_not_a_number_compares_as_text(
    desk, agent, open_ticket, django_capture_on_commit_callbacks
):
    """ "NaN" reads as a number that cannot be compared: a value a customer typed (or a rule's
    own) compares as text, rather than failing the rules' task for the ticket's events."""
    from tests.fields.conftest import make_field
    from tickets import services
    from tickets.models import FieldKind

    make_field("licence", FieldKind.TEXT, "Licence", customer_editable=True, position=9)
    trigger_save(
        trigger=None,
        name="Big licences",
        events=["ticket.tags_changed"],
        conditions={"all": [{"field": "field:licence", "op": "above", "value": "1000"}]},
        actions=[{"type": "add_tags", "value": ["big"]}],
        actor=None,
    )
    trigger_save(
        trigger=None,
        name="Odd rule",
        events=["ticket.tags_changed"],
        conditions={"all": [{"field": "field:seats", "op": "below", "value": "NaN"}]},
        actions=[{"type": "set_priority", "value": "high"}],
        actor=None,
    )
    odd, big = open_ticket(), open_ticket()
    ticket_set_fields(ticket=odd, values={"licence": "NaN", "seats": 5}, actor=agent)
    ticket_set_fields(ticket=big, values={"licence": "2000", "seats": 5}, actor=agent)

    with django_capture_on_commit_callbacks(execute=True):
        for ticket in (odd, big):
            services.ticket_set_tags(ticket=ticket, names=["renewal"], actor=agent)

    tags = {t.pk: set(t.tags.values_list("name", flat=True)) for t in (odd, big)}
    # As text, "NaN" sorts after "1000" (and "5" before "NaN"): the rules hold, and act.
    assert tags == {odd.pk: {"renewal", "big"}, big.pk: {"renewal", "big"}}
    assert set(Ticket.objects.values_list("priority", flat=True)) == {"high"}
