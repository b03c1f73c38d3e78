"""The overview report breaks tickets created and solved down by each drop-down field."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import AgentFactory
from tickets import services
from tickets.fields.services import ticket_set_fields
from tickets.roles import LEADS_GROUP

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead_client() -> Client:
    user = AgentFactory(username="lena", tiers=[1])
    user.groups.add(Group.objects.get(name=LEADS_GROUP))
    client = Client()
    client.force_login(user)
    return client


def period() -> dict[str, str]:
    today = timezone.localdate()
    return {"since": str(today - timedelta(days=2)), "until": str(today + timedelta(days=1))}


def table(page: str, title: str) -> list[tuple[str, ...]]:
    """The rows (label, created, solved) of the table titled `title`."""
    found = re.search(rf"<h2[^>]*>{re.escape(title)}</h2>(.*?)</table>", page, re.S)
    assert found, title
    rows = re.findall(r"<tr>(.*?)</tr>", found[1], re.S)
    cells = [re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S) for row in rows]
    return [tuple(re.sub(r"<[^>]+>", "", c).strip() for c in row) for row in cells if row][1:]


def test_tickets_by_plan_created_and_solved(desk, agent, open_ticket, lead_client):
    pro, pro2, basic, _none = open_ticket(), open_ticket(), open_ticket(), open_ticket()
    for ticket, plan in ((pro, "pro"), (pro2, "pro"), (basic, "basic")):
        ticket_set_fields(ticket=ticket, values={"plan": plan, "root_cause": "bug"}, actor=agent)
    services.ticket_resolve(ticket=pro, actor=agent)

    def statements() -> tuple[int, str]:
        with CaptureQueriesContext(connection) as captured:
            response = lead_client.get("/agent/reports/overview/", period())
        assert response.status_code == 200
        return len(captured), response.content.decode()

    statements()
    before, page = statements()
    assert table(page, "By Plan") == [("Pro", "2", "1"), ("Basic", "1", "0")]
    assert table(page, "By Root cause") == [("Bug", "3", "1")]
    ticket_set_fields(ticket=open_ticket(), values={"plan": "enterprise"}, actor=agent)
    statements()
    after, page = statements()
    assert ("Enterprise", "1", "0") in table(page, "By Plan")
    assert after == before
