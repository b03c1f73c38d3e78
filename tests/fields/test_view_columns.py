"""Custom fields as a view's columns: shown as agents read them, sorted by (empty values
first when ascending) over keyset pages, at the same cost per page; a field made inactive
leaves the view working without its column."""

import re
from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import LeadFactory
from tests.fields.conftest import make_field
from tickets.fields.services import ticket_set_fields
from tickets.models import FieldKind, SavedView, TicketField
from tickets.saved_views import available_columns

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead_client() -> Client:
    client = Client()
    client.force_login(LeadFactory(username="lena", tiers=[1]))
    return client


def make_view(client: Client, columns: list[str], sort: str = "") -> SavedView:
    data: dict[str, Any] = {
        "name": "Accounts",
        "sharing": "everyone",
        "queue": "any",
        "columns": columns,
        "sort": sort,
    }
    data.update({f"order_{key}": str(n + 1) for n, key in enumerate(columns)})
    response = client.post("/agent/views/new/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    return SavedView.objects.get(name="Accounts")


def cells(html: str, column: str) -> list[str]:
    """Each row's cell of one column (by the header's position)."""
    table = html.split('id="queue-table"')[1]
    index = re.findall(r'data-column="([^"]+)"', table).index(column) + 1  # after the tick
    rows = re.findall(r'<tr data-ticket="\d+">(.*?)</tr>', table, re.S)
    return [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[index] for row in rows]


def test_the_editor_offers_each_active_field_as_a_column(desk, lead_client):
    html = lead_client.get("/agent/views/new/").content.decode()
    for key, label in (("plan", "Plan"), ("seats", "Seats"), ("renewal", "Renewal date")):
        assert f'value="field:{key}"' in html
        assert f"Position of {label}" in html
    assert "Seats, descending" in html


def test_a_view_shows_field_values_as_agents_read_them(desk, agent, open_ticket, lead_client):
    ticket = open_ticket()
    ticket_set_fields(
        ticket=ticket,
        values={"plan": "pro", "seats": 12, "modules": ["crm", "billing"], "vip": True},
        actor=agent,
    )
    open_ticket()  # nothing set
    columns = ["reference", "field:plan", "field:seats", "field:modules", "field:vip"]
    view = make_view(lead_client, columns)
    html = lead_client.get(f"/agent/views/{view.pk}/").content.decode()
    assert ">Plan<" in html and ">Modules<" in html
    assert sorted(cells(html, "field:plan")) == ["-", "Pro"]
    assert sorted(cells(html, "field:seats")) == ["-", "12"]
    assert sorted(cells(html, "field:modules")) == ["-", "Billing, Crm"]
    assert sorted(cells(html, "field:vip")) == ["No", "Yes"]


@pytest.mark.parametrize("sort", ["field:seats", "-field:seats", "field:renewal", "-field:plan"])
def test_sorting_by_a_field_walks_every_ticket_once_in_order(
    sort, desk, agent, open_ticket, lead_client
):
    expected_value = {}
    plans = ["basic", "pro", "enterprise"]
    for i in range(57):
        ticket = open_ticket()
        values: dict[str, Any] = {}
        if i % 4:  # every fourth left empty: they sort first, ascending
            values = {
                "seats": (i * 37) % 11 + 1,  # many ties: broken by id
                "renewal": date(2027, 1 + i % 12, 1).isoformat(),
                "plan": plans[i % 3],
            }
            ticket_set_fields(ticket=ticket, values=values, actor=agent)
        expected_value[ticket.pk] = values
    key = sort.lstrip("-").removeprefix("field:")
    view = make_view(lead_client, ["reference", f"field:{key}"], sort=sort)

    seen, pages = [], 0
    url = f"/agent/views/{view.pk}/"
    while url:
        html = lead_client.get(url).content.decode()
        pages += 1
        seen += [int(n) for n in re.findall(r'<span class="ref">HD-(\d+)</span>', html)]
        found = re.search(r'rel="next" href="\?([^"]+)"', html)
        url = f"/agent/views/{view.pk}/?{found.group(1).replace('&amp;', '&')}" if found else ""

    assert pages == 2 and sorted(seen) == sorted(expected_value) and len(seen) == 57
    empty = {"seats": -1, "renewal": "", "plan": ""}[key]

    def value(pk: int) -> Any:
        return expected_value[pk].get(key, empty)

    assert seen == sorted(seen, key=lambda pk: (value(pk), pk), reverse=sort.startswith("-"))


def test_a_page_with_field_columns_costs_the_same_for_1_or_60_tickets(
    desk, agent, open_ticket, lead_client
):
    view = make_view(lead_client, ["reference", "field:plan", "field:modules"], "-field:plan")
    url = f"/agent/views/{view.pk}/"
    ticket = open_ticket()
    ticket_set_fields(ticket=ticket, values={"plan": "pro"}, actor=agent)
    lead_client.get(url)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert lead_client.get(url).status_code == 200
        return len(captured)

    one = queries()
    for i in range(59):
        ticket = open_ticket()
        ticket_set_fields(ticket=ticket, values={"modules": ["crm"][: i % 2]}, actor=agent)
    lead_client.get(url)
    assert queries() == one


def test_a_field_made_inactive_leaves_the_view_without_its_column(
    desk, agent, open_ticket, lead_client
):
    open_ticket()
    view = make_view(lead_client, ["reference", "field:seats"], sort="field:seats")
    TicketField.objects.filter(key="seats").update(active=False)
    TicketField.objects.get(key="plan").save()  # an admin's change: the fields are read again
    response = lead_client.get(f"/agent/views/{view.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-column="field:seats"' not in html and "HD-" in html


def test_an_unknown_field_column_is_refused_with_a_clear_error(desk, lead_client):
    response = lead_client.post(
        "/agent/views/new/",
        {"name": "Accounts", "sharing": "personal", "queue": "any", "columns": ["field:nope"]},
    )
    assert response.status_code == 400
    assert "field:nope is not one of the available choices" in response.content.decode()
    assert not SavedView.objects.exists()


def test_a_view_sorts_by_a_field_with_a_long_key_and_shows_every_field_column(
    desk, agent, open_ticket, lead_client
):
    """A field's key may be 40 characters: sorting by it, the other way round, is kept
    (the sort was cut at 20 and the database refused the view: a server error)."""
    key = "contract_renewal_quarter_of_the_customer"
    assert len(key) == 40
    make_field(key, FieldKind.NUMBER, "Renewal quarter")
    for n in range(24):  # a desk with many fields, every one shown
        make_field(f"extra_field_number_{n:02}_with_a_long_key", FieldKind.TEXT, f"Extra {n}")
    TicketField.objects.get(key="plan").save()  # an admin's change: the fields are read again
    for quarter in (2, 4):
        ticket_set_fields(ticket=open_ticket(), values={key: quarter}, actor=agent)
    columns = ["reference", f"field:{key}", *(c for c in available_columns() if "extra" in c)]
    view = make_view(lead_client, columns, sort=f"-field:{key}")
    assert (view.sort, view.columns.split(",")) == (f"-field:{key}", columns)
    response = lead_client.get(f"/agent/views/{view.pk}/")
    assert response.status_code == 200
    assert cells(response.content.decode(), f"field:{key}") == ["4", "2"]
