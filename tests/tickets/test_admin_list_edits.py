"""The admin lists' quick-edit columns (list_editable) obey the rules the change page obeys:
a change the change page refuses is refused in the list too, each row saying why as Django
shows a form's errors, nothing saved and what was typed still on the page."""

from typing import Any

import pytest
from django.contrib import admin
from django.test import Client, RequestFactory

from tests.conftest import browser
from tests.factories import AgentFactory
from tickets.models import (
    AgentProfile,
    CustomerNotice,
    Macro,
    SLAPolicy,
    TicketField,
    TicketForm,
    Tier,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(admin_user: Any) -> Client:
    return browser(admin_user)


def list_edit(client: Client, model: str, *rows: dict[str, Any]) -> Any:
    """The list page's Save, as the browser sends it: one form per row, with the formset's
    management form; a ticked box is "on", an unticked one is not sent."""
    data: dict[str, Any] = {
        "form-TOTAL_FORMS": len(rows), "form-INITIAL_FORMS": len(rows),
        "form-MIN_NUM_FORMS": 0, "form-MAX_NUM_FORMS": 1000, "_save": "Save",
    }  # fmt: skip
    for n, row in enumerate(rows):
        data |= {f"form-{n}-{name}": value for name, value in row.items() if value is not False}
    return client.post(f"/admin/tickets/{model}/", data)


def page_of(response: Any) -> str:
    return response.content.decode().replace("&ldquo;", "“").replace("&rdquo;", "”")


# --- SLA policies: the policy as it would be saved must be able to time its clocks -------------


def test_a_policy_the_change_page_refuses_is_not_switched_on_from_the_list(
    admin_client, open_ticket
):
    # Stored before the check existed: a warning past the target, switched off since.
    broken = SLAPolicy.objects.create(
        name="Legacy", is_active=False, is_default=True, first_response_minutes=60,
        warning_percent=150,
    )  # fmt: skip

    response = list_edit(
        admin_client, "slapolicy", {"id": broken.pk, "position": "7", "is_active": "on"}
    )

    assert response.status_code == 200
    page = page_of(response)
    assert "The warning is a share of the target, from 0 to 100 percent." in page
    assert 'class="errorlist nonfield"' in page  # on its row, as Django shows a form's errors
    assert 'name="form-0-position" value="7"' in page  # what was typed is kept
    broken.refresh_from_db()
    assert (broken.is_active, broken.position) == (False, 100)
    assert open_ticket().sla_policy is None  # new tickets still open


def test_a_policy_whose_clocks_can_be_timed_is_changed_from_the_list(admin_client):
    gold = SLAPolicy.objects.create(name="Gold", is_active=False, first_response_minutes=60)

    response = list_edit(
        admin_client, "slapolicy", {"id": gold.pk, "position": "3", "is_active": "on"}
    )

    assert response.status_code == 302
    gold.refresh_from_db()
    assert (gold.is_active, gold.position) == (True, 3)


def test_the_lists_refusal_is_said_in_the_admins_language(admin_client):
    broken = SLAPolicy.objects.create(name="Legacy", is_active=False, warning_percent=150)
    serial = TicketField.objects.create(
        key="serial", kind="text", agent_label="Serial", pattern="[A-Z", active=False
    )
    german = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9"}

    policies = admin_client.post(
        "/admin/tickets/slapolicy/",
        {
            "form-TOTAL_FORMS": 1, "form-INITIAL_FORMS": 1, "_save": "Save",
            "form-0-id": broken.pk, "form-0-position": "1", "form-0-is_active": "on",
        },
        **german,
    )  # fmt: skip
    fields = admin_client.post(
        "/admin/tickets/ticketfield/",
        {
            "form-TOTAL_FORMS": 1, "form-INITIAL_FORMS": 1, "_save": "Save",
            "form-0-id": serial.pk, "form-0-position": "1", "form-0-active": "on",
        },
        **german,
    )  # fmt: skip

    assert "Die Warnung ist ein Anteil der Frist, von 0 bis 100 Prozent." in page_of(policies)
    assert "Das ist kein regulärer Ausdruck" in page_of(fields)


# --- Custom ticket fields: the definition as it would be saved must hold -----------------------


def test_a_field_the_change_page_refuses_is_not_switched_on_from_the_list(admin_client):
    # A text field whose pattern is no regular expression (stored before the check).
    serial = TicketField.objects.create(
        key="serial", kind="text", agent_label="Serial", pattern="[A-Z", active=False
    )

    response = list_edit(
        admin_client, "ticketfield", {"id": serial.pk, "position": "4", "active": "on"}
    )

    assert response.status_code == 200
    page = page_of(response)
    assert "This is not a regular expression" in page
    assert 'name="form-0-position" value="4"' in page
    serial.refresh_from_db()
    assert (serial.active, serial.position) == (False, 0)


def test_a_sound_field_is_reordered_from_the_list(admin_client):
    seats = TicketField.objects.create(
        key="seats", kind="number", agent_label="Seats", min_value=1, max_value=500
    )

    response = list_edit(admin_client, "ticketfield", {"id": seats.pk, "position": "2"})

    assert response.status_code == 302
    seats.refresh_from_db()
    assert (seats.active, seats.position) == (False, 2)


# --- Every other quick-edit column: the model's own rules, as on the change page --------------


def _agent_row() -> tuple[type[Any], dict[str, Any], str]:
    profile = AgentFactory(username="ines", tiers=[1]).agent_profile
    return AgentProfile, {"id": profile.pk, "is_available": "on", "max_chats": "-2"}, "max_chats"


def _tier_row() -> tuple[type[Any], dict[str, Any], str]:
    tier = Tier.objects.get(level=1)
    return Tier, {"id": tier.pk, "assignment_mode": "whoever_shouts"}, "assignment_mode"


def _macro_row() -> tuple[type[Any], dict[str, Any], str]:
    macro = Macro.objects.create(name="Thanks", body="Thank you!")
    return Macro, {"id": macro.pk, "is_active": "on", "position": "-1"}, "position"


def _form_row() -> tuple[type[Any], dict[str, Any], str]:
    form = TicketForm.objects.create(name="Billing")
    return TicketForm, {"id": form.pk, "position": "-3", "active": "on"}, "position"


@pytest.mark.parametrize("row", [_agent_row, _tier_row, _macro_row, _form_row])
def test_a_value_the_change_page_refuses_is_refused_in_the_list(admin_client, row):
    model, typed, wrong = row()
    stored = model.objects.filter(pk=typed["id"])
    before = stored.values().get()

    response = list_edit(admin_client, model._meta.model_name, typed)

    assert response.status_code == 200
    page = page_of(response)
    assert "Please correct the error below." in page
    if model is not Tier:  # a drop-down has no option for what was sent
        assert f'name="form-0-{wrong}" value="{typed[wrong]}"' in page  # kept as typed
    assert f'name="form-0-{wrong}"' in page.split('class="errorlist', 1)[1]  # said on it
    assert stored.values().get() == before


def test_a_notice_is_switched_off_from_the_list(admin_client):
    notice = CustomerNotice.objects.get(kind="received")

    response = list_edit(admin_client, "customernotice", {"id": notice.pk, "enabled": False})

    assert response.status_code == 302
    assert not CustomerNotice.objects.get(pk=notice.pk).enabled


# --- The census: no quick-edit column skips its change page's check ----------------------------


def test_every_lists_quick_edits_pass_the_checks_of_its_change_form(admin_user):
    """For each admin list with quick-edit columns, the form its rows are checked with
    carries every `clean` the change page's form has (a later list_editable too)."""
    request = RequestFactory().get("/")
    request.user = admin_user
    for model, model_admin in admin.site._registry.items():
        if not model_admin.list_editable:
            continue
        checks = {
            klass
            for klass in model_admin.form.__mro__
            if "clean" in vars(klass) and not klass.__module__.startswith("django.")
        }
        listed = model_admin.get_changelist_formset(request).form
        missing = {klass.__name__ for klass in checks if not issubclass(listed, klass)}
        assert not missing, f"{model.__name__}'s list skips {missing}"
