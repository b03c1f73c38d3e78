"""The webhook payload a receiver gets is the one the OpenAPI schema documents."""

from typing import Any

import jsonschema
import pytest

from tickets import services
from tickets.automation import webhooks
from tickets.models import EventKind

pytestmark = pytest.mark.django_db


@pytest.fixture
def payload_schema(client: Any) -> dict[str, Any]:
    """The documented request body, with the components it refers to."""
    schema = client.get("/api/schema/", {"format": "json"}).json()
    assert schema["openapi"].startswith("3.1")
    hook = schema["webhooks"]["ticketEvent"]["post"]
    body = hook["requestBody"]["content"]["application/json"]["schema"]
    return {**body, "components": schema["components"]}


def test_every_kind_of_payload_matches_the_documented_schema(
    payload_schema, open_ticket, agent
) -> None:
    ticket = open_ticket(sender="ann@example.com", sender_name="Ann Lee")
    services.ticket_add_tags(ticket=ticket, names=["vip"], actor=agent)
    services.ticket_assign(ticket=ticket, assignee=agent, actor=agent)
    services.ticket_reply(ticket=ticket, actor=agent, text="Fixed.", status="resolved")
    services.ticket_rate(ticket=ticket, rating=4, comment="Quick, thanks", actor=None)

    kinds = {
        EventKind.CREATED: "ticket.created",
        EventKind.REPLIED: "ticket.agent_replied",
        EventKind.ASSIGNED: "ticket.assignee_changed",
        EventKind.STATUS_CHANGED: "ticket.status_changed",
        EventKind.RATED: "ticket.rated",
    }
    validator = jsonschema.Draft202012Validator(payload_schema)
    for kind, name in kinds.items():
        event = ticket.events.filter(kind=kind).first()
        assert event is not None, kind
        sent = webhooks.payload(name, event, ticket)
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(sent)]
        assert errors == [], (name, errors)
    assert sent["rating"] == {"score": 4, "comment": "Quick, thanks"}
    assert not list(validator.iter_errors(webhooks.payload("ticket.rule", None, ticket)))
