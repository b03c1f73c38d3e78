"""Reading the brand costs no query while it is unchanged (kept per process)."""

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tickets.branding.services import BrandInput, brand_update

pytestmark = pytest.mark.django_db


def _queries(client: Any, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in captured.captured_queries]


@pytest.mark.parametrize("url", ["/kb/", "/support/new/", "/agent/queue/mine/"])
def test_a_page_asks_nothing_for_the_brand(client: Any, acme: Any, agent: Any, url: str) -> None:
    client.force_login(agent)
    _queries(client, url)  # the first read of this test
    again = _queries(client, url)
    assert not [sql for sql in again if "tickets_brand" in sql]


def test_the_brand_adds_no_query_to_a_page(
    client: Any, agent: Any, django_assert_num_queries: Any, logo_png: bytes
) -> None:
    client.force_login(agent)
    _queries(client, "/agent/queue/mine/")
    unbranded = len(_queries(client, "/agent/queue/mine/"))
    brand_update(data=BrandInput(company_name="Acme Support", logo=logo_png), actor=None)
    first = _queries(client, "/agent/queue/mine/")
    assert [sql for sql in first if "tickets_brand" in sql]  # read again once changed
    with django_assert_num_queries(unbranded):
        html = client.get("/agent/queue/mine/").content.decode()
    assert "Acme Support" in html
