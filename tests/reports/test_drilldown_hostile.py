"""The tickets behind a report's number, asked with odd parameters: a page far past the
last, a parameter holding a NUL character, numbers no column holds. Each is an empty page
or a clear 400, never a server error."""

import pytest
from django.test import Client

from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead_client(db: None) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(LeadFactory(username="lead"))
    return client


def test_a_page_far_past_the_last_is_empty(lead_client, open_ticket):
    open_ticket()

    response = lead_client.get(
        "/agent/reports/tickets/", {"metric": "created", "page": "9223372036854775807"}
    )

    assert response.status_code == 200
    assert response.context["total"] == 1 and not response.context["tickets"]


@pytest.mark.parametrize(
    ("metric", "params", "said"),
    [
        ("sla_met", {"kind": "first\x00response"}, "kind holds a NUL character."),
        ("escalated", {"level": "1", "reason": "sla\x00"}, "reason holds a NUL character."),
        ("replied", {"by": "٣"}, "by must be a number."),
        ("created", {"page": "²"}, "page must be a number."),
        ("created", {"page": "99999999999999999999999"}, "page must be a number."),
        ("created", {"agent": "٣"}, "agent must be a number."),
    ],
)
def test_an_odd_parameter_is_a_clear_400(lead_client, metric, params, said):
    response = lead_client.get("/agent/reports/tickets/", {"metric": metric, **params})

    assert response.status_code == 400
    assert said in response.content.decode()
