"""The workspace shows dates in the agent's time zone and speaks their language."""

from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.utils import translation

from tests.agent_settings.conftest import settings_form
from tickets.models import AgentProfile

pytestmark = pytest.mark.django_db


def test_dates_show_in_the_agent_s_time_zone(
    agent_client: Any, agent: Any, open_ticket: Any
) -> None:
    with time_machine.travel(datetime(2026, 7, 1, 12, 0, tzinfo=UTC), tick=False):
        ticket = open_ticket(tier_level=1)
        before = agent_client.get(f"/agent/tickets/{ticket.pk}/").content.decode()
        agent_client.post("/agent/settings/", settings_form(time_zone="Asia/Tokyo"))
        page = agent_client.get("/agent/settings/").content.decode()
        after = agent_client.get(f"/agent/tickets/{ticket.pk}/").content.decode()
    assert "1 Jul 2026 21:00</time> (Asia/Tokyo)" in page
    assert "12:00" in before and "21:00" in after


def test_the_time_zone_is_read_at_sign_in(client: Any, agent: Any) -> None:
    from tests.conftest import sign_in
    from tests.factories import PASSWORD

    AgentProfile.objects.filter(user=agent).update(time_zone="America/New_York")
    assert sign_in(client, agent.username, PASSWORD)
    page = client.get("/agent/settings/").content.decode()
    assert "(America/New_York)" in page


def test_the_workspace_speaks_the_agent_s_language(agent_client: Any) -> None:
    agent_client.post("/agent/settings/", settings_form(language="de"))
    response = agent_client.get("/agent/settings/")
    assert response["Content-Language"] == "de"
    # Django's own German translations show: activation works for any language with them.
    with translation.override("de"):
        expected = translation.gettext("This field is required.")
    assert expected != "This field is required."
    invalid = agent_client.post("/agent/settings/", settings_form(availability=None))
    assert expected in invalid.content.decode()
    # Customer pages keep the customer's language.
    assert agent_client.get("/kb/").get("Content-Language") != "de"
