"""Signed-in pages read their session from the cache (with Redis), the user with their
agent profile in one query, and still work while the cache is down."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.outages import own_redis

__all__ = ["own_redis"]

pytestmark = pytest.mark.django_db

QUEUE = "/agent/queue/mine/"


def _tables_read(client: Client) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(QUEUE).status_code == 200
    return [
        q["sql"].split(" FROM ", 1)[1].split(" ", 1)[0] for q in captured if " FROM " in q["sql"]
    ]


@pytest.mark.services  # the sessions come from the cache with Redis only
def test_a_signed_in_page_reads_the_session_from_the_cache_and_the_user_with_the_profile(
    client, agent
):
    client.force_login(agent)
    agent_client = client
    agent_client.get(QUEUE)
    tables = _tables_read(agent_client)
    assert '"django_session"' not in tables
    assert tables.count('"auth_user"') == 1
    assert '"tickets_agentprofile"' not in tables


def test_the_workspace_works_from_the_database_while_the_cache_is_down(
    own_redis, client, agent, open_ticket
):
    ticket = open_ticket(subject="Printer on fire")
    client.force_login(agent)
    assert client.get(QUEUE).status_code == 200
    own_redis.stop()
    assert "Printer on fire" in client.get("/agent/queue/unassigned/").content.decode()
    assert "Printer on fire" in client.get(f"/agent/tickets/{ticket.pk}/").content.decode()


def test_signing_out_ends_the_session_for_every_holder_of_its_cookie(client, agent):
    client.force_login(agent)
    thief = Client()
    thief.cookies["sessionid"] = client.cookies["sessionid"].value
    assert thief.get(QUEUE).status_code == 200
    client.post("/accounts/logout/")
    response = thief.get(QUEUE)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_a_deactivated_user_is_signed_out(client, agent):
    client.force_login(agent)
    agent_client = client
    assert agent_client.get(QUEUE).status_code == 200
    agent.is_active = False
    agent.save()
    assert agent_client.get(QUEUE).status_code == 302


def test_a_customer_without_an_agent_profile_signs_in_to_the_portal(client, customer_user):
    client.force_login(customer_user)
    assert client.get("/support/tickets/").status_code == 200
    assert client.get(QUEUE).status_code == 403
