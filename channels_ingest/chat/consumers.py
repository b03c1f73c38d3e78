"""The customer's end of live chat: the door the chat channel comes in by (/ws/chat/).

The protocol is docs/chat-protocol.md. The socket is bound to one conversation by a signed
token; everything it asks for goes through tickets.services.chat, off the event loop.
"""

import logging
import uuid
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import translation
from django.utils.translation import gettext, gettext_noop

from helpdesk.languages import default_language, language_of_browser
from helpdesk.ratelimit import count_hit
from helpdesk.signed import SignedId
from helpdesk.text import without_nul
from tickets import live
from tickets.errors import DomainError
from tickets.fields import forms as field_forms
from tickets.fields import selectors as field_selectors
from tickets.models import ChatSession, ChatStatus, Message, TicketForm
from tickets.services import chat as chats

logger = logging.getLogger(__name__)

TOKENS = SignedId("helpdesk.chat", max_age_seconds=7 * 24 * 3600)
MAX_FRAME = 8 * 1024
MESSAGES_PER_MINUTE = 20
STARTS_PER_10_MINUTES = 5


class ChatRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@database_sync_to_async
def _chat(chat_id: int) -> ChatSession | None:
    return ChatSession.objects.select_related("ticket", "agent", "tier").filter(pk=chat_id).first()


@database_sync_to_async
def _session_data(chat: ChatSession) -> dict[str, Any]:
    return {
        "type": "session",
        "token": TOKENS.token(chat.pk),
        **chats.state_payload(chat),
        "messages": chats.chat_messages(chat),
    }


@database_sync_to_async
def _status() -> dict[str, Any]:
    availability = chats.chat_availability()
    return {
        "type": "status",
        "online": availability.online,
        "wait_seconds": availability.wait_seconds,
    }


def _touch(chat_id: int) -> bool:
    """The customer's page is still there; whether their chat still waits for an agent."""
    chats.chat_touch(chat_id=chat_id)
    return ChatSession.objects.filter(pk=chat_id, status=ChatStatus.WAITING).exists()


def _over(key: str, limit: int, window_seconds: int) -> bool:
    return count_hit(key, window_seconds=window_seconds) > limit


# A message is the frequent request: the rate limit and the service in one call, run in the
# shared thread pool rather than the one thread all other database work waits for (each call
# holds its own connection; one socket's messages still go in order). The socket's chat was
# read when it was bound; the service reads whether it has ended.
def _customer_message_sync(chat: ChatSession, client_id: str, text: str) -> Message:
    if _over(f"chat-msg:{chat.pk}", MESSAGES_PER_MINUTE, 60):
        raise ChatRefused(
            "rate_limited", gettext_noop("You are sending messages very fast; slow down.")
        )
    if not client_id:
        raise ChatRefused("invalid", gettext_noop("A message needs a client_id."))
    return chats.chat_customer_message(chat=chat, client_id=client_id, text=text)


_customer_message = database_sync_to_async(_customer_message_sync, thread_sensitive=False)


def _contact(content: dict[str, Any]) -> tuple[str, str, str]:
    name = str(content.get("name", "")).strip()[:200]
    email = str(content.get("email", "")).strip()[:320]
    text = str(content.get("text", ""))
    if not name:
        raise ChatRefused("invalid", gettext_noop("Tell us your name."))
    try:
        validate_email(email)
    except ValidationError:
        raise ChatRefused(
            "invalid", gettext_noop("Give an email address we can answer at.")
        ) from None
    return name, email, text


def _pre_form(content: dict[str, Any]) -> tuple[TicketForm | None, dict[str, Any]]:
    """The kind of request the customer chose in the chat's start form and what they filled
    in its fields, checked as the contact form checks them (FieldErrors otherwise)."""
    offered = field_selectors.offered_forms()
    if not offered:
        return None, {}
    chosen = field_selectors.chosen_form(offered, str(content.get("form", "")))
    filled = content.get("fields")
    filled = filled if isinstance(filled, dict) else {}
    return chosen, field_forms.customer_values(chosen, {str(k): v for k, v in filled.items()})


class CustomerChatConsumer(AsyncJsonWebsocketConsumer):
    chat_id: int | None = None
    chat: ChatSession | None = None  # as bound: what does not change (key, name, ticket)

    async def connect(self) -> None:
        query = parse_qs(self.scope.get("query_string", b"").decode())
        token = (query.get("token") or [""])[0]
        chat = None
        if token:
            chat_id = TOKENS.value(token)
            chat = await _chat(chat_id) if chat_id else None
            if chat is None:
                # Accepted first, so the page sees the 4403 (a refused handshake is only
                # ever seen as 1006) and knows to start afresh.
                await self.accept()
                await self.close(code=4403)
                return
        await self.accept()
        await self.send_json(await _status())
        if chat is not None:
            await self._bind(chat)
            await database_sync_to_async(chats.chat_touch)(chat_id=chat.pk)

    async def _bind(self, chat: ChatSession) -> None:
        self.chat_id, self.chat = chat.pk, chat
        await self.channel_layer.group_add(live.chat_group(chat.pk), self.channel_name)
        await self.send_json(await _session_data(chat))

    async def disconnect(self, code: int) -> None:
        if self.chat_id is not None:
            await self.channel_layer.group_discard(live.chat_group(self.chat_id), self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None or len(text_data) > MAX_FRAME:
            return
        try:
            # NUL characters dropped from what the customer sent: PostgreSQL cannot store
            # them (a frame with one closed the socket with a server error).
            content = without_nul(await self.decode_json(text_data))
        except ValueError:
            return
        if not isinstance(content, dict):
            return
        handler = getattr(self, f"_on_{content.get('type')}", None)
        if handler is None:
            return
        try:
            await handler(content)
        except ChatRefused as refusal:
            await self._error(refusal.code, refusal.message)
        except DomainError as error:
            await self._error(error.code, error.message)

    async def _error(self, code: str, message: str) -> None:
        # In the language of the customer's page (the messages are marked for translation
        # where they are raised; one not in the catalogue stays as it is).
        with translation.override(self._language() or default_language()):
            message = gettext(message) if message else message
        await self.send_json({"type": "error", "code": code, "message": message})

    async def _limit_starts(self, message: str) -> None:
        client = self.scope.get("client") or ("", 0)
        key = f"chat-start:{client[0]}"
        if await database_sync_to_async(_over)(key, STARTS_PER_10_MINUTES, 600):
            raise ChatRefused("rate_limited", message)

    async def _current(self) -> ChatSession:
        chat = await _chat(self.chat_id) if self.chat_id is not None else None
        if chat is None:
            raise ChatRefused("invalid", gettext_noop("Start a chat first."))
        return chat

    # Client messages (docs/chat-protocol.md).

    def _language(self) -> str:
        """The language the customer's browser asked the chat page in."""
        headers = dict(self.scope.get("headers") or [])
        cookies = self.scope.get("cookies") or {}
        return language_of_browser(
            accept_language=headers.get(b"accept-language", b"").decode("latin-1"),
            chosen=cookies.get(settings.LANGUAGE_COOKIE_NAME, ""),
        )

    async def _on_start(self, content: dict[str, Any]) -> None:
        if self.chat_id is not None:
            raise ChatRefused("invalid", gettext_noop("This page already has a chat."))
        name, email, text = _contact(content)
        client_id = str(content.get("client_id", ""))[:100] or str(uuid.uuid4())
        resent = await database_sync_to_async(chats.chat_resent_start)(
            client_id=client_id, email=email
        )
        if resent is not None:  # its answer was lost: the chat it opened, whoever is online
            await self._started(resent, client_id)
            return
        await self._limit_starts(gettext_noop("Too many chats started; wait a few minutes."))
        if (await _status())["online"] == 0:
            raise ChatRefused(
                "offline", gettext_noop("Nobody is online right now; leave us a message.")
            )
        ticket_form, values = await database_sync_to_async(_pre_form)(content)
        chat = await database_sync_to_async(chats.chat_start)(
            name=name,
            email=email,
            text=text,
            client_id=client_id,
            language=self._language(),
            ticket_form=ticket_form,
            field_values=values,
        )
        await self._started(chat, client_id)

    async def _started(self, chat: ChatSession, client_id: str) -> None:
        await self._bind(await _chat(chat.pk))
        first = (await database_sync_to_async(chats.chat_messages)(chat))[0]
        await self.send_json({"type": "ack", "client_id": client_id, "id": first["id"]})

    async def _on_leave_message(self, content: dict[str, Any]) -> None:
        name, email, text = _contact(content)
        if not text.strip():
            raise ChatRefused("invalid", gettext_noop("Write your message first."))
        await self._limit_starts(gettext_noop("Too many messages; wait a few minutes."))
        ticket_form, values = await database_sync_to_async(_pre_form)(content)
        ticket = await database_sync_to_async(chats.chat_leave_message)(
            name=name,
            email=email,
            text=text[:20_000],
            client_id=str(content.get("client_id", "")),
            language=self._language(),
            ticket_form=ticket_form,
            field_values=values,
        )
        await self.send_json({"type": "left_message", "reference": ticket.reference})

    async def _on_message(self, content: dict[str, Any]) -> None:
        if self.chat is None:
            raise ChatRefused("invalid", gettext_noop("Start a chat first."))
        client_id = str(content.get("client_id", ""))[:100]
        message = await _customer_message(self.chat, client_id, str(content.get("text", "")))
        await self.send_json({"type": "ack", "client_id": client_id, "id": message.pk})

    async def _on_sync(self, content: dict[str, Any]) -> None:
        chat = await self._current()
        after = content.get("after", 0)
        after = after if isinstance(after, int) and not isinstance(after, bool) else 0
        messages = await database_sync_to_async(chats.chat_messages)(chat, after=after)
        await self.send_json({"type": "messages", "messages": messages})

    async def _on_typing(self, content: dict[str, Any]) -> None:
        if self.chat_id is not None:
            await self.channel_layer.group_send(
                live.chat_group(self.chat_id),
                {"type": "chat.event", "chat": self.chat_id, "kind": "typing",
                 "side": "customer", "data": {}},
            )  # fmt: skip

    async def _on_read(self, content: dict[str, Any]) -> None:
        up_to = content.get("up_to")
        if isinstance(up_to, int) and not isinstance(up_to, bool):
            chat = await self._current()
            await database_sync_to_async(chats.chat_mark_read)(
                chat=chat, side="customer", up_to=up_to
            )

    async def _on_end(self, content: dict[str, Any]) -> None:
        chat = await self._current()
        await database_sync_to_async(chats.chat_end)(chat_id=chat.pk, by="customer")

    async def _on_transcript(self, content: dict[str, Any]) -> None:
        chat = await self._current()
        sent = await database_sync_to_async(chats.chat_send_transcript)(chat=chat)
        if sent is None:
            raise ChatRefused(
                "rate_limited", gettext_noop("We sent you several emails already; try later.")
            )
        await self.send_json({"type": "transcript_sent"})

    async def _on_rate(self, content: dict[str, Any]) -> None:
        chat = await self._current()
        rating = content.get("rating")
        if not isinstance(rating, int) or isinstance(rating, bool):
            raise ChatRefused("invalid", gettext_noop("Choose a rating from 1 to 5."))
        comment = str(content.get("comment", ""))
        await database_sync_to_async(chats.chat_rate)(chat=chat, rating=rating, comment=comment)
        await self.send_json({"type": "rated"})

    async def _on_ping(self, content: dict[str, Any]) -> None:
        if self.chat_id is not None:
            waiting = await database_sync_to_async(_touch)(self.chat_id)
            if waiting:  # who is online now: nobody any more, and the page says so
                await self.send_json(await _status())
        await self.send_json({"type": "pong"})

    # Group messages.

    async def chat_event(self, event: dict[str, Any]) -> None:
        kind, side, data = event["kind"], event["side"], event["data"]
        if kind == "message":
            await self.send_json({"type": "message", "message": data})
        elif kind == "state":
            await self.send_json({"type": "state", **data})
        elif kind in ("typing", "read") and side == "agent":
            await self.send_json({"type": kind, **data})
