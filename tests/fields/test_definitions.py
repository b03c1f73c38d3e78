"""What a field may be (its definition, checked in the admin) and what its values may be."""

from datetime import date
from decimal import Decimal

import pytest

from tickets.fields.values import BadValue, clean, definition_errors
from tickets.models import FieldKind, TicketField, TicketForm

pytestmark = pytest.mark.django_db


def test_a_definition_is_checked_for_its_kind():
    assert definition_errors(
        kind=FieldKind.NUMBER, min_value=Decimal(5), max_value=Decimal(1), max_length=None,
        pattern="",
    ) == {"max_value": "The maximum is below the minimum."}  # fmt: skip
    errors = definition_errors(
        kind=FieldKind.DROPDOWN, min_value=Decimal(1), max_value=None, max_length=10, pattern="x"
    )
    assert set(errors) == {"min_value", "max_length", "pattern"}
    assert (
        "not a regular expression"
        in definition_errors(
            kind=FieldKind.TEXT, min_value=None, max_value=None, max_length=None, pattern="[a-"
        )["pattern"]
    )
    assert not definition_errors(
        kind=FieldKind.TEXT, min_value=None, max_value=None, max_length=40, pattern=r"\d+"
    )


def test_values_of_every_kind_are_cleaned_or_refused_with_a_reason(desk):
    assert [r.text for r in clean(desk.plan, "pro")] == ["pro"]
    with pytest.raises(BadValue, match="choose one of basic, pro, enterprise"):
        clean(desk.plan, "gold")
    assert [r.text for r in clean(desk.modules, ["crm", "reports", "crm"])] == ["crm", "reports"]
    assert [r.text for r in clean(desk.modules, "crm,billing")] == ["crm", "billing"]
    with pytest.raises(BadValue):
        clean(desk.modules, ["crm", "hr"])
    assert clean(desk.seats, "12")[0].number == Decimal(12)
    with pytest.raises(BadValue, match="at most 1000"):
        clean(desk.seats, 1001)
    with pytest.raises(BadValue, match="at least 1"):
        clean(desk.seats, "0")
    with pytest.raises(BadValue, match="give a number"):
        clean(desk.seats, "a dozen")
    assert clean(desk.renewal, "2027-01-31")[0].day == date(2027, 1, 31)
    with pytest.raises(BadValue, match="YYYY-MM-DD"):
        clean(desk.renewal, "31/01/2027")
    assert clean(desk.order, " AB-1234 ")[0].text == "AB-1234"
    with pytest.raises(BadValue, match="Like AB-1234"):
        clean(desk.order, "1234")
    with pytest.raises(BadValue, match="at most 500"):
        clean(desk.renewal.__class__(kind=FieldKind.TEXT, agent_label="x"), "x" * 501)
    assert [r.text for r in clean(desk.vip, True)] == ["true"]
    assert clean(desk.vip, "false") == []
    assert clean(desk.plan, "") == []


def test_an_admin_defines_a_drop_down_with_its_choices_and_a_form(admin_user, client):
    client.force_login(admin_user)
    response = client.post(
        "/admin/tickets/ticketfield/add/",
        {
            "agent_label": "Region", "customer_label": "Where are you?", "key": "region",
            "kind": "dropdown", "help_text": "", "customer_editable": "on", "position": "0",
            "active": "on", "pattern": "", "pattern_message": "",
            "choices-TOTAL_FORMS": "2", "choices-INITIAL_FORMS": "0",
            "choices-0-position": "0", "choices-0-value": "eu", "choices-0-label": "Europe",
            "choices-1-position": "1", "choices-1-value": "us", "choices-1-label": "Americas",
        },
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:3000]
    region = TicketField.objects.get(key="region")
    assert [c.value for c in region.choices.all()] == ["eu", "us"]

    response = client.post(
        "/admin/tickets/ticketform/add/",
        {
            "name": "Shipping", "description": "", "position": "0", "active": "on",
            "members-TOTAL_FORMS": "1", "members-INITIAL_FORMS": "0",
            "members-0-position": "0", "members-0-field": str(region.pk),
        },
    )  # fmt: skip
    assert response.status_code == 302
    assert list(TicketForm.objects.get(name="Shipping").fields.all()) == [region]


def test_the_admin_refuses_a_drop_down_without_choices_and_a_bad_pattern(admin_user, client):
    client.force_login(admin_user)
    base = {
        "customer_label": "", "help_text": "", "position": "0", "active": "on",
        "pattern_message": "", "choices-TOTAL_FORMS": "0", "choices-INITIAL_FORMS": "0",
    }  # fmt: skip
    response = client.post(
        "/admin/tickets/ticketfield/add/",
        {**base, "agent_label": "Size", "key": "size", "kind": "dropdown", "pattern": ""},
    )
    assert response.status_code == 200
    assert "needs at least one choice" in response.content.decode()
    response = client.post(
        "/admin/tickets/ticketfield/add/",
        {**base, "agent_label": "Code", "key": "Bad-Key", "kind": "text", "pattern": "[a-"},
    )
    page = response.content.decode()
    assert "not a regular expression" in page and "Lower-case letters" in page
    assert not TicketField.objects.exists()
