"""My settings: an agent sets their availability, signatures, notifications, time zone and
language; what is wrong is refused and nothing is saved."""

from typing import Any

import pytest

from tests.agent_settings.conftest import settings_form
from tickets.models import AgentProfile

pytestmark = pytest.mark.django_db

URL = "/agent/settings/"


def test_the_menu_links_to_the_page_and_it_shows_the_saved_settings(
    agent_client: Any, agent: Any
) -> None:
    html = agent_client.get("/agent/queue/mine/").content.decode()
    assert f'href="{URL}"' in html and "My settings" in html
    AgentProfile.objects.filter(user=agent).update(sms_signature="-Al", is_available=False)
    html = agent_client.get(URL).content.decode()
    assert 'value="-Al"' in html
    assert 'value="away" id="id_availability_1" required checked' in html


def test_an_agent_saves_their_settings(agent_client: Any, agent: Any) -> None:
    response = agent_client.post(
        URL,
        settings_form(
            availability="away",
            signature="Al\nFrontline",
            sms_signature="  -Al,   Acme ",
            chat_signature="Al (chat)",
            web_signature="Al, via the web",
            email_notifications="on",
            notify_sla_app=None,  # unticked
            notify_assignment_email=None,
            time_zone="Europe/Berlin",
            language="de",
        ),
    )
    assert response.status_code == 302 and response["Location"] == URL
    profile = AgentProfile.objects.get(user=agent)
    assert profile.is_available is False
    assert profile.signature == "Al\nFrontline"
    assert profile.sms_signature == "-Al, Acme"
    assert (profile.chat_signature, profile.web_signature) == ("Al (chat)", "Al, via the web")
    assert profile.email_notifications is True
    assert profile.notification_settings == {
        "sla": {"app": False},
        "assignment": {"email": False},
    }
    assert (profile.time_zone, profile.language) == ("Europe/Berlin", "de")
    assert "Your settings are saved." in agent_client.get(URL).content.decode()


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"time_zone": "Mars/Olympus"}, "Select a valid choice"),
        ({"language": "xx"}, "Select a valid choice"),
        ({"sms_signature": "x" * 41}, "at most 40 characters"),
        ({"availability": "asleep"}, "Select a valid choice"),
    ],
)
def test_bad_settings_are_refused_and_nothing_is_saved(
    agent_client: Any, agent: Any, changes: dict[str, str], error: str
) -> None:
    response = agent_client.post(URL, settings_form(signature="New", **changes))
    assert response.status_code == 400
    assert error in response.content.decode()
    assert AgentProfile.objects.get(user=agent).signature == ""


def test_the_service_checks_what_the_form_does_not(agent: Any, tier2_agent: Any) -> None:
    from tickets.errors import InvalidInput, NotAllowed
    from tickets.services.agent_settings import AgentSettings, agent_settings_update

    with pytest.raises(InvalidInput, match="Unknown time zone"):
        agent_settings_update(agent=agent, data=AgentSettings(time_zone="Nowhere"), actor=agent)
    with pytest.raises(InvalidInput, match="Unknown notification kind"):
        agent_settings_update(
            agent=agent, data=AgentSettings(notifications={"gossip": {"app": False}}), actor=agent
        )
    with pytest.raises(NotAllowed):
        agent_settings_update(agent=agent, data=AgentSettings(signature="x"), actor=tier2_agent)
    assert AgentProfile.objects.get(user=agent).signature == ""


def test_customers_and_strangers_cannot_open_it(client: Any, customer_user: Any) -> None:
    assert client.get(URL).status_code == 302  # to sign in
    client.force_login(customer_user)
    assert client.get(URL).status_code == 403
    assert client.post(URL, settings_form()).status_code == 403


def test_the_quick_switch_on_the_chat_page(agent_client: Any, agent: Any) -> None:
    response = agent_client.post(
        "/agent/settings/availability/", {"availability": "away", "next": "/agent/chats/"}
    )
    assert response["Location"] == "/agent/chats/"
    assert AgentProfile.objects.get(user=agent).is_available is False
    html = agent_client.get("/agent/chats/").content.decode()
    assert "You are away" in html
    agent_client.post("/agent/settings/availability/", {"availability": "available"})
    assert AgentProfile.objects.get(user=agent).is_available is True
    bad = agent_client.post(
        "/agent/settings/availability/", {"availability": "away", "next": "https://evil.example/"}
    )
    assert bad["Location"] == URL
