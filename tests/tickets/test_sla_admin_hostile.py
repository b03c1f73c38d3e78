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


# --- A calendar in use: its policies' targets must stay within reach --------------------------


@pytest.fixture
def open_all_week(db: None) -> BusinessCalendar:
    """A calendar open around the clock every day, in use by SLA policies whose resolution
    targets (10 and 15 million minutes: 19 and 29 years of such hours) need many hours a
    week to be reached within the hundred years the clocks look ahead."""
    calendar = BusinessCalendar.objects.create(name="Round the clock", time_zone="Europe/London")
    for weekday in range(7):
        OpeningHours.objects.create(calendar=calendar, weekday=weekday, start=time(0), end=time(0))
    for name, resolution in [("Gold", 10_000_000), ("Silver", 15_000_000), ("Bronze", 600)]:
        SLAPolicy.objects.create(
            name=name, is_active=name != "Silver", is_default=name == "Gold",
            first_response_minutes=60, resolution_minutes=resolution, calendar=calendar,
        )  # fmt: skip
    return calendar


def calendar_change(calendar: BusinessCalendar, hours: list[tuple[str, str, str]], **typed: Any):
    """The calendar's change page as sent: its stored hours replaced by `hours`."""
    stored = list(calendar.hours.all())
    data = calendar_form([], **{"name": calendar.name, "time_zone": calendar.time_zone, **typed})
    data |= {"hours-TOTAL_FORMS": len(stored) + len(hours), "hours-INITIAL_FORMS": len(stored)}
    for n, row in enumerate(stored):
        data |= {
            f"hours-{n}-id": row.pk, f"hours-{n}-calendar": calendar.pk,
            f"hours-{n}-weekday": row.weekday, f"hours-{n}-start": f"{row.start:%H:%M}",
            f"hours-{n}-end": f"{row.end:%H:%M}", f"hours-{n}-DELETE": "on",
        }  # fmt: skip
    for n, (weekday, start, end) in enumerate(hours, start=len(stored)):
        data |= {f"hours-{n}-weekday": weekday, f"hours-{n}-start": start, f"hours-{n}-end": end}
    return data


def test_a_calendar_change_that_puts_its_policies_targets_out_of_reach_is_refused(
    admin_client, open_all_week, open_ticket
):
    response = admin_client.post(
        f"/admin/tickets/businesscalendar/{open_all_week.pk}/change/",
        calendar_change(open_all_week, [("0", "09:00", "10:00")], time_zone="Europe/Berlin"),
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert (
        "The SLA policies “Gold”, “Silver” count in this calendar: with these changes their "
        "targets could not be timed in it (No opening hours found within a hundred years of "
        "the start). Keep more opening hours, or first give those policies smaller targets or "
        "other calendars."
    ) in page.replace("&ldquo;", "“").replace("&rdquo;", "”")
    assert "Bronze" not in page.split("errorlist")[1]  # its targets are within reach
    # What was typed is kept on the page; nothing was saved.
    assert 'value="10:00"' in page and 'value="Europe/Berlin"' in page
    open_all_week.refresh_from_db()
    assert open_all_week.time_zone == "Europe/London"
    assert open_all_week.hours.count() == 7
    ticket = open_ticket()
    assert Ticket.objects.get(pk=ticket.pk).resolution_due_at is not None


def test_a_calendar_no_longer_open_24_7_keeps_its_policies_targets_within_reach(
    admin_client, open_all_week
):
    open_all_week.hours.exclude(weekday=0).delete()
    open_all_week.hours.update(start=time(9), end=time(10))
    BusinessCalendar.objects.filter(pk=open_all_week.pk).update(always_open=True)
    data = calendar_change(open_all_week, [("0", "09:00", "10:00")])  # always_open unticked

    response = admin_client.post(
        f"/admin/tickets/businesscalendar/{open_all_week.pk}/change/", data
    )

    assert response.status_code == 200
    assert "“Gold”, “Silver” count in this calendar" in response.content.decode().replace(
        "&ldquo;", "“"
    ).replace("&rdquo;", "”")
    assert BusinessCalendar.objects.get(pk=open_all_week.pk).always_open


def test_a_calendar_change_its_policies_can_count_in_is_saved(
    admin_client, open_all_week, open_ticket
):
    weekdays = [(str(day), "08:00", "20:00") for day in range(5)]
    response = admin_client.post(
        f"/admin/tickets/businesscalendar/{open_all_week.pk}/change/",
        calendar_change(open_all_week, weekdays, holiday_country="GB"),
    )

    assert response.status_code == 302
    assert open_all_week.hours.count() == 5
    assert Ticket.objects.get(pk=open_ticket().pk).resolution_due_at is not None


def test_the_calendars_refusal_is_said_in_the_admins_language(admin_client, open_all_week):
    response = admin_client.post(
        f"/admin/tickets/businesscalendar/{open_all_week.pk}/change/",
        calendar_change(open_all_week, [("0", "09:00", "10:00")]),
        HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9",
    )

    assert response.status_code == 200
    assert (
        "Die SLA-Richtlinien “Gold”, “Silver” rechnen mit diesem Kalender: Mit diesen "
        "Änderungen ließen sich ihre Fristen darin nicht berechnen"
    ) in response.content.decode().replace("&ldquo;", "“").replace("&rdquo;", "”")


# --- Said in the admin's language: the checks' reasons too -----------------------------------

GERMAN = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9"}


def _german(response: Any) -> str:
    assert response.status_code == 200
    return (
        response.content.decode()
        .replace("&ldquo;", "“")
        .replace("&rdquo;", "”")
        .replace("&bdquo;", "„")
    )


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ({"warning_percent": 150}, "Die Warnung ist ein Anteil der Frist, von 0 bis 100 Prozent."),
        (
            {"resolution_minutes": 2147483647, "calendar": "office"},
            "Ihre Fristen lassen sich in ihrem Kalender nicht berechnen: Keine Öffnungszeiten "
            "innerhalb von hundert Jahren ab dem Beginn gefunden.",
        ),
    ],
)
def test_a_policys_refusal_is_said_in_german(admin_client, office, typed, said):
    typed = {k: office.pk if v == "office" else v for k, v in typed.items()}

    response = admin_client.post("/admin/tickets/slapolicy/add/", policy_form(**typed), **GERMAN)

    assert said in _german(response)


@pytest.mark.parametrize(
    ("hours", "overrides", "said"),
    [
        (
            [("0", "09:00", "17:00")],
            {"time_zone": "Mars/Olympus"},
            "Die Uhren können in diesem Kalender nicht rechnen: Unbekannte Zeitzone "
            "„Mars/Olympus“.",
        ),
        (
            [("0", "09:00", "17:00")],
            {"holiday_country": "XX"},
            "Die Uhren können in diesem Kalender nicht rechnen: Für das Land „XX“ sind keine "
            "Feiertage bekannt.",
        ),
        (
            [("0", "17:00", "09:00")],
            {},
            "Das Ende der Öffnungszeit, 09:00, muss nach ihrem Beginn, 17:00, liegen",
        ),
        (
            [("0", "09:00", "17:00"), ("0", "12:00", "18:00")],
            {},
            "Die Öffnungszeiten am Montag überschneiden sich.",
        ),
        (
            [],
            {},
            "Ein Kalender, der nicht rund um die Uhr geöffnet ist, braucht Öffnungszeiten, "
            "sonst liefe keine Uhr.",
        ),
    ],
)
def test_a_calendars_refusal_is_said_in_german(admin_client, hours, overrides, said):
    response = admin_client.post(
        "/admin/tickets/businesscalendar/add/", calendar_form(hours, **overrides), **GERMAN
    )

    assert said in _german(response)


def test_why_a_calendar_in_use_is_refused_is_said_in_german(admin_client, open_all_week):
    response = admin_client.post(
        f"/admin/tickets/businesscalendar/{open_all_week.pk}/change/",
        calendar_change(open_all_week, [("0", "09:00", "10:00")]),
        **GERMAN,
    )

    assert (
        "Mit diesen Änderungen ließen sich ihre Fristen darin nicht berechnen (Keine "
        "Öffnungszeiten innerhalb von hundert Jahren ab dem Beginn gefunden)."
    ) in _german(response)
