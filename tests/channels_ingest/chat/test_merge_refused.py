"""Two chat tickets of one customer: a live chat is not merged away into a ticket that has a
chat of its own (a ticket has one chat); the other way round is offered instead."""

import pytest

from tests.conftest import _client_for
from tickets.models import ChatSession, Message
from tickets.services import chat as chats

pytestmark = pytest.mark.django_db


def test_a_live_chat_is_not_merged_into_a_ticket_with_its_own_chat(agent):
    older = chats.chat_start(name="Grace", email="grace@example.com", text="VPN", client_id="a")
    chats.chat_end(chat_id=older.pk, by="customer")
    live = chats.chat_start(name="Grace", email="grace@example.com", text="Again", client_id="b")

    answer = _client_for(agent).post(
        f"/api/v1/tickets/{live.ticket.pk}/merge/", {"into": older.ticket.pk}, format="json"
    )
    assert answer.status_code == 409
    said = str(answer.json())
    assert "chat_on_both" in said
    assert f"merge {older.ticket.reference} into {live.ticket.reference}" in said
    assert ChatSession.objects.get(pk=live.pk).ticket_id == live.ticket.pk
    assert Message.objects.filter(ticket=live.ticket).count() == 1

    # The way round: the ended chat's ticket merged into the live one.
    answer = _client_for(agent).post(
        f"/api/v1/tickets/{older.ticket.pk}/merge/", {"into": live.ticket.pk}, format="json"
    )
    assert answer.status_code == 200
    assert [m["text"] for m in chats.chat_messages(ChatSession.objects.get(pk=live.pk))] == [
        "VPN",
        "Again",
    ]
