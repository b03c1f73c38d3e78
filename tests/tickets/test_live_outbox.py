"""Live pushes from sync code go out on their event loop, a bounded number at once."""

import asyncio
from typing import Any

import pytest
from channels.layers import InMemoryChannelLayer

from tickets import live

pytestmark = pytest.mark.asyncio


class _BusyLayer(InMemoryChannelLayer):
    """Channels' in-memory layer, answering as slowly as a busy Redis, counting the sends
    in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.in_flight = self.most_at_once = 0

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        self.in_flight += 1
        self.most_at_once = max(self.most_at_once, self.in_flight)
        await asyncio.sleep(0.01)
        self.in_flight -= 1
        await super().group_send(group, message)


async def test_the_pushes_of_many_chats_wait_their_turn_and_all_arrive(monkeypatch):
    monkeypatch.setattr(live, "PUSHES_AT_ONCE", 4)
    layer = _BusyLayer()
    channels = [await layer.new_channel() for _ in range(40)]
    for number, channel in enumerate(channels):
        await layer.group_add(f"chat.{number}", channel)

    outbox = live._Outbox()
    for number in range(40):  # forty chats' messages at the same moment
        outbox.put(layer, f"chat.{number}", {"type": "chat.event", "number": number})

    for number, channel in enumerate(channels):
        received = await asyncio.wait_for(layer.receive(channel), timeout=5)
        assert received["number"] == number
    assert layer.most_at_once == 4
