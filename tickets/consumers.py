"""The agent workspace's WebSocket: live queues, who is on a ticket, notifications.

Protocol (JSON). The client sends {"type": "watch" | "unwatch" | "typing", "ticket": id}.
The server sends:
- {"type": "ticket.changed", "ticket": id, "kind": event kind, "actor": user id or null}
- {"type": "presence", "ticket": id, "user": id, "name": str,
   "state": "viewing" | "typing" | "left"}
- {"type": "notification", "text": str, "ticket": id or null, "id": id, "count": n}: one
  notification, or n at once (then "ticket" is null and "text" says how many).
- {"type": "unread", "count": n} once on connect.

Queue pushes (tickets.live.QUEUES: any ticket changed, the chat queue changed) reach every
open workspace. One subscriber per server process (_QueuesHub) receives them and tells its
sockets what changed every QUEUE_PUSH_SECONDS: a change costs one delivery per process
instead of one per agent, which with hundreds of agents and live chats swamped the server
(docs/benchmarks.md). A socket hears every change of the tickets it shows and, of
the others, that something changed (its page refreshes the queues either way).
"""

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone, translation

from helpdesk.languages import default_language, language_of_browser, supported_language
from tickets import live, policy
from tickets.errors import DomainError
from tickets.models import AgentProfile, ChatSession, Message, Notification, Ticket
from tickets.roles import is_staff_member
from tickets.services import chat as chats
from tickets.workspace import preferences

logger = logging.getLogger(__name__)

# Incoming frames larger than this are ignored. The largest is a chat message: 2,000
# characters, each at most six once escaped in JSON (a control character as \u0000).
MAX_FRAME = 6 * chats.MAX_TEXT + 1024
TYPING_INTERVAL_SECONDS = 1.0
MAX_WATCHED = 20
# Queue changes are gathered this long, then told to each socket at once (pages wait 0.4 to
# 1.5 s more before they refresh).
QUEUE_PUSH_SECONDS = 1.0
# The hub lets its event loop run other work after telling this many sockets.
TELL_SLICE = 25
# Group memberships expire in the channel layer (a day with Redis): the hub renews its own.
QUEUES_REJOIN_SECONDS = 3600


@database_sync_to_async
def _allowed(user: Any) -> bool:
    return is_staff_member(user)


def _current_staff_sync(user_id: int) -> User | None:
    """The socket's person as the database has them now, None when no longer on staff. A
    socket outlives a deactivation or a change of role, which the pages see at their next
    request: what is done on it is done as who they are now (their role read afresh)."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    return user if user is not None and is_staff_member(user) else None


_current_staff = database_sync_to_async(_current_staff_sync, thread_sensitive=False)


class _NoLongerStaff(Exception):
    """The socket's agent was deactivated or left the staff since it connected."""


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


@database_sync_to_async
def _chat_messages(chat: ChatSession, after: int) -> list[dict[str, Any]]:
    return chats.chat_messages(chat, after=after)


@database_sync_to_async
def _language(scope: dict[str, Any]) -> str:
    """The language of the agent's workspace pages: theirs from My settings (kept in the
    session, as tickets.workspace.preferences keeps it for the pages), else the one their
    browser asks for, else the desk's default."""
    session = scope.get("session")
    chosen = session.get(preferences.LANGUAGE_KEY, "") if session is not None else ""
    headers = dict(scope.get("headers") or [])
    browser = language_of_browser(
        accept_language=headers.get(b"accept-language", b"").decode("latin-1"),
        chosen=(scope.get("cookies") or {}).get(settings.LANGUAGE_COOKIE_NAME, ""),
    )
    return supported_language(chosen) or browser or default_language()


# The frequent chat requests run in the shared thread pool rather than the one thread all
# other database work waits for: each holds its own connection, none waits for another's.
def _agent_message_sync(
    chat_id: int, agent_id: int, client_id: str, text: str, language: str
) -> Message:
    agent = _current_staff_sync(agent_id)
    if agent is None:
        raise _NoLongerStaff
    # Refused in the agent's language, as the workspace's pages refuse.
    with translation.override(language):
        return chats.chat_agent_message(
            chat_id=chat_id, agent=agent, client_id=client_id, text=text
        )


_agent_message = database_sync_to_async(_agent_message_sync, thread_sensitive=False)


def _holding_sync(chat_id: int, agent_id: int) -> ChatSession | None:
    """The chat, if the agent holds it now. "Read" and "typing" tell the customer what
    their agent does: a colleague following the chat tells them nothing."""
    chat = ChatSession.objects.filter(pk=chat_id).first()
    agent = _current_staff_sync(agent_id)
    held = chat is not None and agent is not None and policy.holds_chat(agent, chat)
    return chat if held else None


_holding = database_sync_to_async(_holding_sync, thread_sensitive=False)


def _chat_read_sync(chat_id: int, agent_id: int, up_to: int) -> None:
    chat = _holding_sync(chat_id, agent_id)
    if chat is not None:
        chats.chat_mark_read(chat=chat, side="agent", up_to=up_to)


_chat_read = database_sync_to_async(_chat_read_sync, thread_sensitive=False)


class _QueuesHub:
    """This event loop's one member of the QUEUES group, telling its agents' sockets."""

    hubs: dict[asyncio.AbstractEventLoop, "_QueuesHub"] = {}

    def __init__(self) -> None:
        self.sockets: set[AgentConsumer] = set()
        self.changes: dict[tuple[int, int | None], dict[str, Any]] = {}
        self.chat_queue = False
        self.ready = asyncio.Event()
        self.telling: asyncio.Task[None] | None = None
        self.listening = asyncio.create_task(self._listen())

    @classmethod
    async def join(cls, socket: "AgentConsumer") -> None:
        hub = cls.hubs.get(asyncio.get_running_loop())
        if hub is None:
            hub = cls.hubs[asyncio.get_running_loop()] = cls()
        hub.sockets.add(socket)
        with contextlib.suppress(TimeoutError):  # the layer is down: no live queues
            async with asyncio.timeout(10):
                await hub.ready.wait()

    @classmethod
    async def leave(cls, socket: "AgentConsumer") -> None:
        loop = asyncio.get_running_loop()
        hub = cls.hubs.get(loop)
        if hub is None:
            return
        hub.sockets.discard(socket)
        if not hub.sockets:
            del cls.hubs[loop]
            for task in (hub.listening, hub.telling):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    async def _listen(self) -> None:
        layer = get_channel_layer()
        assert layer is not None
        channel = await layer.new_channel()
        try:
            while True:
                try:
                    await layer.group_add(live.QUEUES, channel)
                    self.ready.set()
                    async with asyncio.timeout(QUEUES_REJOIN_SECONDS):
                        while True:
                            self._collect(await layer.receive(channel))
                except TimeoutError:
                    continue  # time to renew the membership
                except Exception:  # the layer failed: try again shortly
                    logger.warning("Queue pushes interrupted", exc_info=True)
                    await asyncio.sleep(1)
        finally:
            with contextlib.suppress(Exception):
                await layer.group_discard(live.QUEUES, channel)

    def _collect(self, message: dict[str, Any]) -> None:
        if message.get("type") == "ticket.changed":
            self.changes[(message["ticket"], message["actor"])] = message
        elif message.get("type") == "tickets.changed":  # several, sent together
            for change in message["changes"]:
                self.changes[(change["ticket"], change["actor"])] = change
        elif message.get("type") == "chat.queue":
            self.chat_queue = True
        else:
            return
        if self.telling is None:
            self.telling = asyncio.create_task(self._tell())

    async def _tell(self) -> None:
        await asyncio.sleep(QUEUE_PUSH_SECONDS)
        changes, chat_queue = list(self.changes.values()), self.chat_queue
        self.changes, self.chat_queue, self.telling = {}, False, None
        changed = {change["ticket"] for change in changes}
        # Most sockets show none of the changed tickets and hear the same frames: encoded once.
        common = queue_frames(changes, chat_queue=chat_queue, watching=set())
        for number, socket in enumerate(list(self.sockets), start=1):
            frames = common
            if changed & socket.watching:
                frames = queue_frames(changes, chat_queue=chat_queue, watching=socket.watching)
            try:
                for frame in frames:
                    await socket.send(text_data=frame)
            except Exception:  # that socket is closing; the others still hear
                logger.debug("Queue push to a closing socket failed", exc_info=True)
            if number % TELL_SLICE == 0:
                # Telling hundreds of sockets takes a while: chat messages and finished
                # queries waiting on this event loop go in between.
                await asyncio.sleep(0)


def queue_frames(
    changes: list[dict[str, Any]], *, chat_queue: bool, watching: set[int]
) -> list[str]:
    """What a socket showing the tickets `watching` hears of these changes: each change of
    those tickets, and of the others that something changed."""
    shown = [change for change in changes if change["ticket"] in watching]
    others = [change for change in changes if change["ticket"] not in watching]
    frames = [
        json.dumps({k: change[k] for k in ("type", "ticket", "kind", "actor")})
        for change in [*shown, *others[-1:]]
    ]
    return frames + ([json.dumps({"type": "chat.queue"})] if chat_queue else [])


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
        self.language = await _language(self.scope)
        await _QueuesHub.join(self)
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
        await _QueuesHub.leave(self)
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
            if await _current_staff(self.user.pk) is None:  # the heartbeat checks, too
                await self.close(code=4403)
                return
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
        if kind == "chat.join":
            if await _current_staff(self.user.pk) is None:
                await self.close(code=4403)
                return
            chat = await _chat(chat_id)
            if chat is not None:
                await self.channel_layer.group_add(live.chat_group(chat_id), self.channel_name)
                self.chats.add(chat_id)
                await self._missed(chat, content.get("after"))
        elif kind == "chat.typing" and chat_id in self.chats:
            now = time.monotonic()
            if now - self.last_typing < TYPING_INTERVAL_SECONDS:
                return
            self.last_typing = now
            if await _holding(chat_id, self.user.pk) is None:
                return
            await self.channel_layer.group_send(
                live.chat_group(chat_id),
                {"type": "chat.event", "chat": chat_id, "kind": "typing", "side": "agent",
                 "data": {}},
            )  # fmt: skip
        elif kind == "chat.read" and isinstance(content.get("up_to"), int):
            await _chat_read(chat_id, self.user.pk, content["up_to"])
        elif kind == "chat.message":
            await self._chat_message(chat_id, content)

    async def _missed(self, chat: ChatSession, after: Any) -> None:
        """After a dropped connection, what was said since the last message the console
        shows (read after joining: nothing said in between is missed)."""
        if not isinstance(after, int) or isinstance(after, bool) or after <= 0:
            return
        messages = await _chat_messages(chat, after)
        await self.send_json({"type": "chat.messages", "chat": chat.pk, "messages": messages})

    async def _chat_message(self, chat_id: int, content: dict[str, Any]) -> None:
        client_id = str(content.get("client_id", ""))[:100]
        if not client_id:
            return
        try:
            message = await _agent_message(
                chat_id, self.user.pk, client_id, str(content.get("text", "")), self.language
            )
        except _NoLongerStaff:
            await self.close(code=4403)
            return
        except DomainError as error:
            await self.send_json(
                {
                    "type": "chat.error",
                    "chat": chat_id,
                    "code": error.code,
                    "message": error.message,
                }
            )
            return
        await self.send_json(
            {"type": "chat.ack", "chat": chat_id, "client_id": client_id, "id": message.pk}
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

    async def presence(self, event: dict[str, Any]) -> None:
        if event["sender"] == self.channel_name:
            return
        if event["announce"] and event["ticket"] in self.watching:
            # A newcomer: tell them who is already here.
            await self._presence(event["ticket"], "viewing")
        shown = ("type", "ticket", "user", "name", "state")
        await self.send_json({k: event[k] for k in shown})

    async def notification(self, event: dict[str, Any]) -> None:
        await self.send_json(
            {
                **{k: event[k] for k in ("type", "text", "ticket", "id")},
                "count": event.get("count", 1),
            }
        )
