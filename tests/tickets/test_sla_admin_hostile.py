"""An admin's SLA set-up that the clocks could not count in (a warning past 100 %, a
target beyond a hundred years of the calendar's hours, an unknown time zone or holiday
country, hours that end before they start, a calendar with no hours): refused when saved,
with why, so no new ticket fails to open because of it."""

from datetime import time
from typing import Any

import pytest
from django.test import Client

from tests.conftest import browser
from tickets.models import BusinessCalendar, OpeningHours, SLAPolicy, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(admin_user: Any) -> Client:
    return browser(admin_user)


@pytest.fixture
def office(db: None) -> BusinessCalendar:
    calendar = BusinessCalendar.objects.create(name="Office", time_zone="Europe/London")
    OpeningHours.objects.create(calendar=calendar, weekday=0, start=time(9), end=time(17))
    return calendar


def policy_form(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Gold", "position": 0, "is_active": "on", "is_default": "on",
        "first_response_minutes": 60, "resolution_minutes": 600, "warning_percent": 80,
        **overrides,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ({"warning_percent": 150}, "from 0 to 100 percent"),
        ({"resolution_minutes": 2147483647, "calendar": "office"}, "cannot be timed"),
    ],
)
def test_a_policy_whose_clocks_could_not_be_timed_is_refused(
    admin_client, office, open_ticket, typed, said
):
    typed = {k: office.pk if v == "office" else v for k, v in typed.items()}

    response = admin_client.post("/admin/tickets/slapolicy/add/", policy_form(**typed))

    assert response.status_code == 200
    assert said in response.content.decode()
    assert not SLAPolicy.objects.exists()
    assert open_ticket().sla_policy is None  # tickets still open


def calendar_form(hours: list[tuple[str, str, str]], **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Office", "time_zone": "Europe/London", "holiday_country": "",
        "holiday_subdivision": "",
        "hours-TOTAL_FORMS": len(hours), "hours-INITIAL_FORMS": 0,
        "custom_holidays-TOTAL_FORMS": 0, "custom_holidays-INITIAL_FORMS": 0,
        **overrides,
    }  # fmt: skip
    for n, (weekday, start, end) in enumerate(hours):
        data |= {f"hours-{n}-weekday": weekday, f"hours-{n}-start": start, f"hours-{n}-end": end}
    return data


@pytest.mark.parametrize(
    ("hours", "overrides", "said"),
    [
        ([("0", "09:00", "17:00")], {"time_zone": "Mars/Olympus"}, "Unknown time zone"),
        ([("0", "09:00", "17:00")], {"holiday_country": "XX"}, "No holidays known"),
        ([("0", "17:00", "09:00")], {}, "must be after its start"),
        ([("0", "09:00", "17:00"), ("0", "12:00", "18:00")], {}, "overlap"),
        ([], {}, "needs opening hours"),
    ],
)
def test_a_calendar_the_clocks_could_not_count_in_is_refused(admin_client, hours, overrides, said):
    response = admin_client.post(
        "/admin/tickets/businesscalendar/add/", calendar_form(hours, **overrides)
    )

    assert response.status_code == 200
    assert said in response.content.decode()
    assert not BusinessCalendar.objects.exists()


def test_a_calendar_open_24_7_needs_no_hours(admin_client):
    response = admin_client.post(
        "/admin/tickets/businesscalendar/add/", calendar_form([], always_open="on")
    )

    assert response.status_code == 302
    assert BusinessCalendar.objects.get().always_open


def test_a_calendar_with_its_hours_is_saved_and_times_new_tickets(admin_client, open_ticket):
    admin_client.post(
        "/admin/tickets/businesscalendar/add/",
        calendar_form([("0", "09:00", "17:00"), ("1", "09:00", "00:00")], holiday_country="GB"),
    )
    office = BusinessCalendar.objects.get()
    response = admin_client.post("/admin/tickets/slapolicy/add/", policy_form(calendar=office.pk))

    assert response.status_code == 302
    ticket = open_ticket()
    assert Ticket.objects.get(pk=ticket.pk).first_response_due_at is not None
