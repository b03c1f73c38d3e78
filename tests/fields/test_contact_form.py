"""The contact form: the customer chooses a kind of request and fills its fields, which are
checked as everywhere else and kept on the ticket with a line in its history."""

import pytest
from django.core.cache import cache

from tests.fields.conftest import make_field
from tickets.models import EventKind, FieldKind, Ticket, TicketFieldValue, TicketFormField

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    cache.clear()


def form(**overrides):
    data = {
        "name": "Dana Scully",
        "email": "dana@example.org",
        "subject": "Invoice is wrong",
        "description": "We were billed twice this month.",
        "urgency": "normal",
        "website": "",
    }
    data.update(overrides)
    return data


def test_the_form_offers_the_kinds_of_request_and_the_chosen_ones_fields(client, desk):
    page = client.get("/support/new/").content.decode()
    assert "What kind of request is it?" in page
    assert "Billing question" in page and "Technical problem" in page
    # The first kind is chosen until the customer picks another: its fields, customer labels.
    assert 'name="field_plan"' in page and "Your plan" in page
    assert 'name="field_order_number"' in page and 'name="field_modules"' in page
    assert "Root cause" not in page and "Seats" not in page  # agents' fields
    assert page.index('name="description"') < page.index('name="field_plan"')
    assert page.index('name="field_modules"') < page.index('name="attachments"')
    page = client.get("/support/new/", {"form": desk.technical.pk}).content.decode()
    assert 'name="field_plan"' in page and 'name="field_order_number"' not in page


def test_submitting_keeps_the_values_on_the_ticket_with_the_form_in_its_history(client, desk):
    response = client.post(
        "/support/new/",
        form(
            ticket_form=desk.billing.pk, field_plan="pro", field_order_number="AB-1234",
            field_modules=["crm", "reports"],
        ),
    )  # fmt: skip
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.product is not None and ticket.product.name == "Ledger"  # the form's product
    rows = TicketFieldValue.objects.filter(ticket=ticket).order_by("field__position", "value_text")
    assert [(r.field.key, r.value_text) for r in rows] == [
        ("plan", "pro"), ("order_number", "AB-1234"), ("modules", "crm"), ("modules", "reports"),
    ]  # fmt: skip
    event = ticket.events.get(kind=EventKind.FIELDS_CHANGED)
    assert event.data["form"] == "Billing question"
    assert event.data["changes"][0] == {"key": "plan", "from": None, "to": "pro", "label": "Plan"}
    assert [change["key"] for change in event.data["changes"]] == [
        "plan", "order_number", "modules"
    ]  # fmt: skip
    assert event.actor is None and event.actor_label == "The customer, in the contact form"


def test_wrong_or_missing_values_are_explained_and_nothing_is_stored(client, desk):
    response = client.post(
        "/support/new/",
        form(ticket_form=desk.billing.pk, field_plan="gold", field_order_number="1234"),
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Please correct 2 things" in page
    assert "Like AB-1234." in page
    assert "Choose one of basic, pro, enterprise, not &#x27;gold&#x27;." in page
    assert not Ticket.objects.exists() and not TicketFieldValue.objects.exists()
    response = client.post("/support/new/", form(ticket_form=desk.billing.pk, field_plan="pro"))
    assert "Order number" in response.content.decode() and not Ticket.objects.exists()


def test_a_customer_cannot_fill_fields_of_another_form_or_agents_fields(client, desk):
    response = client.post(
        "/support/new/",
        form(ticket_form=desk.technical.pk, field_plan="basic", field_root_cause="bug",
             field_order_number="ZZ-0000"),
    )  # fmt: skip
    assert response.status_code == 302
    values = TicketFieldValue.objects.values_list("field__key", "value_text")
    assert list(values) == [("plan", "basic")]


def test_without_forms_the_contact_form_is_as_before(client, db):
    page = client.get("/support/new/").content.decode()
    assert "What kind of request" not in page and "field_" not in page
    assert client.post("/support/new/", form()).status_code == 302
    assert Ticket.objects.count() == 1


def test_a_nul_character_in_a_text_field_is_explained_not_a_server_error(client, desk):
    # PostgreSQL cannot store NUL: the value was accepted and the request ended in a crash.
    serial = make_field("serial", FieldKind.TEXT, "Serial", customer_editable=True, position=8)
    TicketFormField.objects.create(form=desk.technical, field=serial, position=1)
    response = client.post(
        "/support/new/", form(ticket_form=desk.technical.pk, field_serial="SN\x00-42")
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Please correct 1 thing" in page and "Null characters are not allowed." in page
    assert "We were billed twice this month." in page  # what they wrote is kept
    assert not Ticket.objects.exists() and not TicketFieldValue.objects.exists()


def test_a_german_customer_reads_why_a_value_is_wrong_in_german(client, desk):
    response = client.post(
        "/support/new/",
        form(ticket_form=desk.billing.pk, field_plan="gold", field_order_number="AB-1234"),
        HTTP_ACCEPT_LANGUAGE="de",
    )
    page = response.content.decode()
    assert "Wählen Sie eines von basic, pro, enterprise, nicht &#x27;gold&#x27;." in page
    assert "Choose one of" not in page and not Ticket.objects.exists()
