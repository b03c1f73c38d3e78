"""API v1 customers: listing, creating, contact points and merging."""

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.factories import OrganizationFactory
from tests.tickets.api_helpers import db_snapshot as _db_snapshot
from tests.tickets.api_helpers import error_of as _error
from tests.tickets.api_helpers import ids_of as _ids
from tickets import services
from tickets.fields.selectors import active_fields
from tickets.models import ContactPoint, Customer, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

CUSTOMERS = "/api/v1/customers/"


def _contacts(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["kind"], c["value"]) for c in body["contact_points"]]


def _customer(name: str, *contacts: tuple[str, str], **extra: Any) -> Customer:
    return services.customer_create(name=name, contacts=list(contacts), **extra)


# --- Listing ------------------------------------------------------------------------------------


@pytest.fixture
def ada() -> Customer:
    return _customer(
        "Ada Lovelace",
        ("email", "ada@engines.example"),
        ("phone", "+442071234567"),
        organization=OrganizationFactory(name="Analytical Engines"),
    )


@pytest.fixture
def grace() -> Customer:
    return _customer("Grace Hopper", ("email", "grace@navy.example"))


def test_list_shows_customers_with_contact_points(
    agent_api: APIClient, ada: Customer, grace: Customer
) -> None:
    response = agent_api.get(CUSTOMERS)

    assert _ids(response) == [grace.pk, ada.pk]
    row = response.json()["results"][1]
    assert row["name"] == "Ada Lovelace"
    assert row["organization"] == "Analytical Engines"
    assert _contacts(row) == [("email", "ada@engines.example"), ("phone", "+442071234567")]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        pytest.param("lovelace", ["ada"], id="name"),
        pytest.param("GRACE@navy", ["grace"], id="email-any-case"),
        pytest.param(".example", ["grace", "ada"], id="both"),
        pytest.param("2071234567", ["ada"], id="phone-digits"),
        pytest.param("nobody", [], id="none"),
    ],
)
def test_list_filters_by_q(
    agent_api: APIClient, ada: Customer, grace: Customer, q: str, expected: list[str]
) -> None:
    customers = {"ada": ada, "grace": grace}

    response = agent_api.get(CUSTOMERS, {"q": q})

    assert _ids(response) == [customers[name].pk for name in expected]


def test_list_hides_merged_customers(
    agent_api: APIClient, ada: Customer, grace: Customer, agent: Any
) -> None:
    services.customer_merge(source=grace, target=ada, actor=agent)

    assert _ids(agent_api.get(CUSTOMERS)) == [ada.pk]


def test_list_with_too_long_q_is_400(agent_api: APIClient) -> None:
    response = agent_api.get(CUSTOMERS, {"q": "x" * 201})

    assert response.status_code == 400
    assert list(_error(response)["fields"]) == ["q"]


def test_list_costs_the_same_queries_for_5_or_30_customers(agent_api: APIClient) -> None:
    organizations = [OrganizationFactory(), OrganizationFactory(), None]

    def create(first: int, last: int) -> None:
        for n in range(first, last):
            _customer(
                f"Customer {n}",
                ("email", f"c{n}@example.com"),
                ("phone", f"+1415555{n:04d}"),
                organization=organizations[n % 3],
            )

    def count() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            response = agent_api.get(CUSTOMERS)
        return len(queries.captured_queries), len(_ids(response))

    create(0, 5)
    count()  # warm-up
    few, few_rows = count()
    create(5, 30)

    many, many_rows = count()

    assert (few_rows, many_rows) == (5, 30)
    assert many == few


# --- Creating -----------------------------------------------------------------------------------


def test_create_with_email_and_phone(agent_api: APIClient) -> None:
    response = agent_api.post(
        CUSTOMERS,
        {"name": " Ada Lovelace ", "email": "Ada@Engines.example", "phone": "(415) 555-0123"},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    customer = Customer.objects.get()
    assert body["id"] == customer.pk
    assert body["name"] == "Ada Lovelace"
    assert _contacts(body) == [("email", "ada@engines.example"), ("phone", "+14155550123")]
    assert body["tickets"] == []
    assert body["merged_into"] is None
    assert set(customer.contact_points.values_list("kind", "value")) == {
        ("email", "ada@engines.example"),
        ("phone", "+14155550123"),
    }


@pytest.mark.parametrize(
    ("data", "contact"),
    [
        ({"email": "only@example.com"}, ("email", "only@example.com")),
        ({"phone": "+44 20 7123 4567"}, ("phone", "+442071234567")),
    ],
)
def test_create_with_one_contact(
    agent_api: APIClient, data: dict[str, str], contact: tuple[str, str]
) -> None:
    response = agent_api.post(CUSTOMERS, data, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["name"] == ""
    assert _contacts(response.json()) == [contact]


@pytest.mark.parametrize(
    ("data", "code", "fields"),
    [
        pytest.param({"name": "Nobody"}, "invalid", ["non_field_errors"], id="no-contact"),
        pytest.param({"email": "not-an-email"}, "invalid", ["email"], id="bad-email"),
        pytest.param({"phone": "12"}, "invalid_phone", None, id="short-phone"),
        pytest.param(
            {"email": "ok@example.com", "phone": "call me"}, "invalid_phone", None, id="bad-phone"
        ),
    ],
)
def test_create_with_invalid_input_is_400_and_writes_nothing(
    agent_api: APIClient, data: dict[str, str], code: str, fields: list[str] | None
) -> None:
    before = _db_snapshot()

    response = agent_api.post(CUSTOMERS, data, format="json")

    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == code
    assert (sorted(error["fields"]) if "fields" in error else None) == fields
    assert _db_snapshot() == before


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({"email": "ADA@engines.example"}, id="email"),
        pytest.param({"email": "new@example.com", "phone": "+44 20 7123 4567"}, id="phone"),
    ],
)
def test_create_with_another_customers_contact_is_409_and_writes_nothing(
    agent_api: APIClient, ada: Customer, data: dict[str, str]
) -> None:
    before = _db_snapshot()

    response = agent_api.post(CUSTOMERS, {"name": "Impostor", **data}, format="json")

    assert response.status_code == 409
    error = _error(response)
    assert error["code"] == "contact_taken"
    assert f"customer {ada.pk}" in error["message"]
    assert _db_snapshot() == before


# --- Detail -------------------------------------------------------------------------------------


def test_detail_has_contact_points_and_every_ticket(
    agent_api: APIClient, ada: Customer, open_ticket: Callable[..., Ticket], agent: Any
) -> None:
    first = open_ticket(sender="ada@engines.example", subject="First")
    second = open_ticket(sender="ada@engines.example", subject="Second", tier_level=2)
    services.ticket_assign(ticket=first, assignee=agent, actor=None)
    open_ticket(subject="Someone else's")

    response = agent_api.get(f"{CUSTOMERS}{ada.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["name"], body["organization"]) == (
        ada.pk,
        "Ada Lovelace",
        "Analytical Engines",
    )
    assert _contacts(body) == [("email", "ada@engines.example"), ("phone", "+442071234567")]
    assert [t["id"] for t in body["tickets"]] == [second.pk, first.pk]
    assert [(t["subject"], t["tier"]) for t in body["tickets"]] == [("Second", 2), ("First", 1)]
    assert body["tickets"][1]["assignee"]["id"] == agent.pk
    assert body["tickets"][0]["customer"] == {"id": ada.pk, "name": "Ada Lovelace"}


def test_a_customer_and_their_tickets_give_their_latest_tickets_at_a_fixed_cost(
    agent_api: APIClient, ada: Customer, open_ticket: Callable[..., Ticket]
) -> None:
    def get(url: str) -> tuple[int, dict[str, Any]]:
        with CaptureQueriesContext(connection) as captured:
            response = agent_api.get(url)
        assert response.status_code == 200
        return len(captured), response.json()

    first = open_ticket(sender="ada@engines.example", subject="First")
    active_fields()  # custom field definitions, kept per process: read on first use only
    few = (get(f"{CUSTOMERS}{ada.pk}/")[0], get(f"/api/v1/tickets/{first.pk}/")[0])
    tickets = [first] + [
        open_ticket(sender="ada@engines.example", subject=f"Alert {n}") for n in range(51)
    ]
    latest = [t.pk for t in reversed(tickets)]

    cost, customer = get(f"{CUSTOMERS}{ada.pk}/")
    assert [t["id"] for t in customer["tickets"]] == latest[:50]
    detail_cost, detail = get(f"/api/v1/tickets/{first.pk}/")
    assert [t["id"] for t in detail["customer_tickets"]] == latest[:50]  # the others
    assert (cost, detail_cost) == few
    newest = get(f"/api/v1/tickets/{latest[0]}/")[1]
    assert [t["id"] for t in newest["customer_tickets"]] == latest[1:51]  # never itself
    # All of them, page by page.
    first_page = get(f"/api/v1/tickets/?customer={ada.pk}")[1]
    rest = agent_api.get(first_page["next"]).json()
    listed = [t["id"] for t in first_page["results"] + rest["results"]]
    assert sorted(listed) == sorted(t.pk for t in tickets)


# --- Contact points -----------------------------------------------------------------------------


def _add_contact(client: APIClient, customer: Customer, kind: str, value: str) -> Any:
    return client.post(
        f"{CUSTOMERS}{customer.pk}/contact-points/", {"kind": kind, "value": value}, format="json"
    )


@pytest.mark.parametrize(
    ("kind", "value", "stored"),
    [
        ("phone", "(415) 555-0123", "+14155550123"),
        ("email", " Grace.H@Example.com ", "grace.h@example.com"),
    ],
)
def test_add_contact_point(
    agent_api: APIClient, grace: Customer, kind: str, value: str, stored: str
) -> None:
    response = _add_contact(agent_api, grace, kind, value)

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["value"]) == (kind, stored)
    assert ContactPoint.objects.get(pk=body["id"]).customer == grace
    detail = agent_api.get(f"{CUSTOMERS}{grace.pk}/").json()
    assert (kind, stored) in _contacts(detail)


@pytest.mark.parametrize(
    ("kind", "value", "code"),
    [
        ("phone", "12", "invalid_phone"),
        ("phone", "not a number", "invalid_phone"),
        ("email", "grace at navy", "invalid_email"),
    ],
)
def test_add_invalid_contact_point_is_400_and_writes_nothing(
    agent_api: APIClient, grace: Customer, kind: str, value: str, code: str
) -> None:
    before = _db_snapshot()

    response = _add_contact(agent_api, grace, kind, value)

    assert response.status_code == 400
    assert _error(response)["code"] == code
    assert _db_snapshot() == before


@pytest.mark.parametrize(("kind", "fields"), [("chat", ["kind"]), ("fax", ["kind"])])
def test_add_contact_point_of_an_unsupported_kind_is_400(
    agent_api: APIClient, grace: Customer, kind: str, fields: list[str]
) -> None:
    response = _add_contact(agent_api, grace, kind, "someone")

    assert response.status_code == 400
    assert list(_error(response)["fields"]) == fields


def test_add_another_customers_contact_point_is_409(
    agent_api: APIClient, ada: Customer, grace: Customer
) -> None:
    before = _db_snapshot()

    response = _add_contact(agent_api, grace, "email", "ada@engines.example")

    assert response.status_code == 409
    assert _error(response)["code"] == "contact_taken"
    assert _db_snapshot() == before


def test_contact_point_never_lands_on_a_merged_customer(
    agent_api: APIClient, ada: Customer, grace: Customer, agent: Any
) -> None:
    services.customer_merge(source=grace, target=ada, actor=agent)

    response = _add_contact(agent_api, grace, "email", "grace.new@example.com")

    assert response.status_code in (201, 409)
    assert not grace.contact_points.exists()


# --- Merging ------------------------------------------------------------------------------------


def _merge(client: APIClient, source: Customer, into: int) -> Any:
    return client.post(f"{CUSTOMERS}{source.pk}/merge/", {"into": into}, format="json")


def test_merge_moves_tickets_and_contact_points_to_the_target(
    agent_api: APIClient,
    ada: Customer,
    grace: Customer,
    open_ticket: Callable[..., Ticket],
    agent: Any,
) -> None:
    ticket = open_ticket(sender="grace@navy.example")
    kept = open_ticket(sender="ada@engines.example")

    response = _merge(agent_api, grace, ada.pk)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == ada.pk
    assert body["merged_into"] is None
    assert _contacts(body) == [
        ("email", "ada@engines.example"),
        ("email", "grace@navy.example"),
        ("phone", "+442071234567"),
    ]
    assert sorted(t["id"] for t in body["tickets"]) == sorted([ticket.pk, kept.pk])
    grace.refresh_from_db()
    ticket.refresh_from_db()
    assert grace.merged_into == ada
    assert ticket.customer == ada
    assert ticket.messages.get().author_customer == ada
    event = TicketEvent.objects.filter(ticket=ticket).last()
    assert (event.kind, event.actor, event.data) == (
        "customer_merged",
        agent,
        {"from_customer": grace.pk, "to_customer": ada.pk},
    )
    source = agent_api.get(f"{CUSTOMERS}{grace.pk}/").json()
    assert (source["merged_into"], source["contact_points"], source["tickets"]) == (ada.pk, [], [])


def test_merge_keeps_what_the_target_lacks(
    agent_api: APIClient, customer_user: Any, agent: Any
) -> None:
    """Name, organisation and portal account of the source fill the target's gaps."""
    source = customer_user.customer
    source.organization = OrganizationFactory(name="Portal Org")
    source.save()
    target = _customer("", ("phone", "+14155550142"))

    response = _merge(agent_api, source, target.pk)

    assert response.status_code == 200, response.content
    assert (response.json()["name"], response.json()["organization"]) == (
        source.name,
        "Portal Org",
    )
    target.refresh_from_db()
    source.refresh_from_db()
    assert target.user == customer_user
    assert source.user is None


def test_merge_into_itself_is_400(agent_api: APIClient, grace: Customer) -> None:
    before = _db_snapshot()

    response = _merge(agent_api, grace, grace.pk)

    assert response.status_code == 400
    assert _error(response)["code"] == "same_customer"
    assert _db_snapshot() == before


def test_merging_an_already_merged_customer_is_409(
    agent_api: APIClient, ada: Customer, grace: Customer, agent: Any
) -> None:
    third = _customer("Third", ("email", "third@example.com"))
    services.customer_merge(source=grace, target=ada, actor=agent)
    before = _db_snapshot()

    response = _merge(agent_api, grace, third.pk)

    assert response.status_code == 409
    assert _error(response)["code"] == "customer_merged"
    assert _db_snapshot() == before


def test_merge_into_an_unknown_customer_is_404(agent_api: APIClient, grace: Customer) -> None:
    before = _db_snapshot()

    response = _merge(agent_api, grace, 999_999)

    assert response.status_code == 404
    assert _error(response)["code"] == "not_found"
    assert _db_snapshot() == before
