"""The chat's start form asks the chosen kind of request's questions (custom fields), as
the contact form does: shown on the chat page, checked when the chat starts (or a message
is left), and set on the chat's ticket, over the real WebSocket door."""

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from django.utils import timezone

from tests.channels_ingest.chat.test_protocol import customer, receive_until
from tests.factories import AgentFactory
from tests.fields.conftest import Desk
from tickets.fields.selectors import values_as_text
from tickets.models import AgentProfile, EventKind, Ticket

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("websockets"),
]


def _start(desk: Desk, fields: dict[str, Any], kind: str = "start") -> dict[str, Any]:
    return {
        "type": kind, "name": "Grace Hopper", "email": "grace@example.com",
        "text": "My invoice is wrong", "client_id": "c-1", "form": str(desk.billing.pk),
        "fields": fields,
    }  # fmt: skip


def test_the_chat_page_asks_the_chosen_forms_questions(desk: Desk) -> None:
    page = Client().get("/support/chat/", {"form": desk.billing.pk, "embed": "1"})
    html = page.content.decode()
    assert "What kind of request is it?" in html and 'name="embed" value="1"' in html
    assert f'data-ticket-form="{desk.billing.pk}"' in html
    assert 'name="field_order_number"' in html and "Your plan" in html
    assert 'name="field_modules"' in html
    assert 'name="field_seats"' not in html  # agents only
    technical = Client().get("/support/chat/", {"form": desk.technical.pk}).content.decode()
    assert 'name="field_order_number"' not in technical and 'name="field_plan"' in technical


@pytest.mark.asyncio
async def test_a_chat_starts_with_the_customers_answers_on_its_ticket(desk: Desk) -> None:
    agent = await sync_to_async(AgentFactory)(username="alice")
    await sync_to_async(AgentProfile.objects.filter(user=agent).update)(last_seen_at=timezone.now())
    socket = await customer()
    await receive_until(socket, "status")

    await socket.send_json_to(
        _start(desk, {"field_plan": "pro", "field_order_number": "nope", "field_modules": []})
    )
    refused = await receive_until(socket, "error")
    assert refused["code"] == "invalid_field" and "Order number" in refused["message"]
    assert not await sync_to_async(Ticket.objects.exists)()

    fields = {"field_plan": "pro", "field_order_number": "AB-1234",
              "field_modules": ["crm", "reports"]}  # fmt: skip
    await socket.send_json_to(_start(desk, fields))
    await receive_until(socket, "session")
    await socket.disconnect()

    ticket = await sync_to_async(Ticket.objects.get)()
    values = await sync_to_async(values_as_text)(ticket.pk)
    assert values == {"plan": ["pro"], "order_number": ["AB-1234"], "modules": ["crm", "reports"]}
    event = await sync_to_async(ticket.events.get)(kind=EventKind.FIELDS_CHANGED)
    assert event.actor_label == "The customer, in the chat"


@pytest.mark.asyncio
async def test_a_message_left_when_nobody_is_online_keeps_the_answers_too(
    desk: Desk, celery_eager: Any
) -> None:
    socket = await customer()
    await receive_until(socket, "status")
    await socket.send_json_to(_start(desk, {"field_plan": "basic"}, kind="leave_message"))
    missing = await receive_until(socket, "error")
    assert missing["code"] == "invalid_field" and "Order number" in missing["message"]

    fields = {"field_plan": "basic", "field_order_number": "CD-0001"}
    await socket.send_json_to(_start(desk, fields, kind="leave_message"))
    left = await receive_until(socket, "left_message")
    await socket.disconnect()

    ticket = await sync_to_async(Ticket.objects.get)()
    assert left["reference"] == ticket.reference
    values = await sync_to_async(values_as_text)(ticket.pk)
    assert values == {"plan": ["basic"], "order_number": ["CD-0001"]}
