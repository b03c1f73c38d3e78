from typing import Any

import pytest


@pytest.fixture
def agent_client(client: Any, agent: Any) -> Any:
    client.force_login(agent)
    return client


def settings_form(**changes: Any) -> dict[str, Any]:
    """The settings page's form as the browser posts it: defaults ticked, then `changes`."""
    from tickets.services import notification_prefs

    data: dict[str, Any] = {"availability": "available", "time_zone": "", "language": ""}
    for kind in notification_prefs.KINDS:
        for medium in notification_prefs.MEDIA:
            data[f"notify_{kind}_{medium}"] = "on"
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data
