"""The agent workspace's WebSocket: live queues, who is on a ticket, notifications.

Protocol (JSON). The client sends {"type": "watch" | "unwatch" | "typing", "ticket": id}.
The server sends:
- {"type": "ticket.changed", "ticket": id, "kind": event kind, "actor": user id or null}
- {"type": "presence", "ticket": id, "user": id, "name": str,
   "state": "viewing" | "typing" | "left"}
- {"type": "notification", "text": str, "ticket": id or null, "id": id}
- {"type": "unread", "count": n} once on connect.
"""

import time
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.auth.models import User
from django.utils import timezone

from tickets import live
from tickets.errors import DomainError
from tickets.models import AgentProfile, ChatSession, Notification, Ticket
from tickets.roles import is_staff_member
from tickets.services import chat as chats

# Incoming frames larger than this are ignored: the protocol's messages are tiny.
MAX_FRAME = 1024
TYPING_INTERVAL_SECONDS = 1.0
MAX_WATCHED = 20


@database_sync_to_async
def _allowed(user: Any) -> bool:
    return is_staff_member(user)


@database_sync_to_async
def _unread(user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


@database_sync_to_async
def _exists(ticket_id: int) -> bool:
    return Ticket.objects.filter(pk=ticket_id).exists()


@database_sync_to_async
def _seen(user: User) -> None:
    """The agent's workspace is open: they count as online for live chat."""
    AgentProfile.objects.filter(user=user).update(last_seen_at=timezone.now())


@database_sync_to_async
def _chat(chat_id: int) -> ChatSession | None:
    return ChatSession.objects.select_related("ticket").filter(pk=chat_id).first()


class AgentConsumer(AsyncJsonWebsocketConsumer):
    user: User
    watching: set[int]
    last_typing: float

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not await _allowed(user):
            await self.close(code=4403)
            return
        self.user, self.watching, self.last_typing = user, set(), 0.0
        self.chats: set[int] = set()
        await self.channel_layer.group_add(live.QUEUES, self.channel_name)
        await self.channel_layer.group_add(live.user_group(user.pk), self.channel_name)
        await self.accept()
        await _seen(user)
        await self.send_json({"type": "unread", "count": await _unread(user)})

    async def disconnect(self, code: int) -> None:
        if not hasattr(self, "watching"):
            return
        for ticket_id in list(self.watching):
            await self._unwatch(ticket_id)
        for chat_id in self.chats:
            await self.channel_layer.group_discard(live.chat_group(chat_id), self.channel_name)
        await self.channel_layer.group_discard(live.QUEUES, self.channel_name)
        await self.channel_layer.group_discard(live.user_group(self.user.pk), self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None or len(text_data) > MAX_FRAME:
            return
        try:
            content = await self.decode_json(text_data)
        except ValueError:
            return  # not JSON: ignored, like any frame outside the protocol
        await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict):
            return
        kind, ticket_id = content.get("type"), content.get("ticket")
        if kind == "ping":
            await _seen(self.user)
            await self.send_json({"type": "pong"})
            return
        if isinstance(kind, str) and kind.startswith("chat."):
            await self._chat_request(kind, content)
            return
        if not isinstance(ticket_id, int) or isinstance(ticket_id, bool):
            return
        if kind == "watch" and ticket_id not in self.watching:
            if len(self.watching) < MAX_WATCHED and await _exists(ticket_id):
                self.watching.add(ticket_id)
                await self.channel_layer.group_add(live.ticket_group(ticket_id), self.channel_name)
                await self._presence(ticket_id, "viewing", announce=True)
        elif kind == "unwatch" and ticket_id in self.watching:
            await self._unwatch(ticket_id)
        elif kind == "typing" and ticket_id in self.watching:
            now = time.monotonic()
            if now - self.last_typing >= TYPING_INTERVAL_SECONDS:
                self.last_typing = now
                await self._presence(ticket_id, "typing")

    async def _unwatch(self, ticket_id: int) -> None:
        self.watching.discard(ticket_id)
        await self._presence(ticket_id, "left")
        await self.channel_layer.group_discard(live.ticket_group(ticket_id), self.channel_name)

    async def _presence(self, ticket_id: int, state: str, *, announce: bool = False) -> None:
        await self.channel_layer.group_send(
            live.ticket_group(ticket_id),
            {
                "type": "presence",
                "ticket": ticket_id,
                "user": self.user.pk,
                "name": self.user.get_full_name() or self.user.get_username(),
                "state": state,
                "announce": announce,
                "sender": self.channel_name,
            },
        )

    async def _chat_request(self, kind: str, content: dict[str, Any]) -> None:
        chat_id = content.get("chat")
        if not isinstance(chat_id, int) or isinstance(chat_id, bool):
            return
        chat = await _chat(chat_id)
        if chat is None:
            return
        if kind == "chat.join":
            await self.channel_layer.group_add(live.chat_group(chat_id), self.channel_name)
            self.chats.add(chat_id)
        elif kind == "chat.typing" and chat_id in self.chats:
            await self.channel_layer.group_send(
                live.chat_group(chat_id),
                {"type": "chat.event", "chat": chat_id, "kind": "typing", "side": "agent",
                 "data": {}},
            )  # fmt: skip
        elif kind == "chat.read" and isinstance(content.get("up_to"), int):
            await database_sync_to_async(chats.chat_mark_read)(
                chat=chat, side="agent", up_to=content["up_to"]
            )
        elif kind == "chat.message":
            await self._chat_message(chat, content)

    async def _chat_message(self, chat: ChatSession, content: dict[str, Any]) -> None:
        client_id = str(content.get("client_id", ""))[:100]
        if not client_id:
            return
        try:
            message = await database_sync_to_async(chats.chat_agent_message)(
                chat=chat, agent=self.user, client_id=client_id, text=str(content.get("text", ""))
            )
        except DomainError as error:
            await self.send_json(
                {
                    "type": "chat.error",
                    "chat": chat.pk,
                    "code": error.code,
                    "message": error.message,
                }
            )
            return
        await self.send_json(
            {"type": "chat.ack", "chat": chat.pk, "client_id": client_id, "id": message.pk}
        )

    # Group messages, named after their "type".

    async def chat_event(self, event: dict[str, Any]) -> None:
        chat_id, kind, side, data = event["chat"], event["kind"], event["side"], event["data"]
        if kind == "message":
            await self.send_json({"type": "chat.message", "chat": chat_id, "message": data})
        elif kind == "state":
            await self.send_json({"type": "chat.state", "chat": chat_id, **data})
        elif kind in ("typing", "read") and side == "customer":
            await self.send_json({"type": f"chat.{kind}", "chat": chat_id, **data})

    async def chat_queue(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "chat.queue"})

    async def ticket_changed(self, event: dict[str, Any]) -> None:
        await self.send_json({k: event[k] for k in ("type", "ticket", "kind", "actor")})

    async def presence(self, event: dict[str, Any]) -> None:
        if event["sender"] == self.channel_name:
            return
        if event["announce"] and event["ticket"] in self.watching:
            # A newcomer: tell them who is already here.
            await self._presence(event["ticket"], "viewing")
        shown = ("type", "ticket", "user", "name", "state")
        await self.send_json({k: event[k] for k in shown})

    async def notification(self, event: dict[str, Any]) -> None:
        await self.send_json({k: event[k] for k in ("type", "text", "ticket", "id")})
