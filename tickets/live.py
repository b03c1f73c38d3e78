"""Live pushes to the agent workspace over the Channels layer, sent after commit.

Groups: every agent's socket is in QUEUES (any ticket change: queues refresh) and in its
user's group (notifications); a socket showing a ticket is also in that ticket's group
(presence and typing). With Redis (production) pushes reach every web process, from Celery
workers too; the in-memory layer of the embedded default only reaches the process that
made the change.
"""

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

QUEUES = "agents.queues"


def user_group(user_id: int) -> str:
    return f"agents.user.{user_id}"


def ticket_group(ticket_id: int) -> str:
    return f"agents.ticket.{ticket_id}"


def _send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:  # a live push is a courtesy: the change itself is committed
        logger.warning("Live push to %s failed", group, exc_info=True)


def publish_ticket_changed(*, ticket_id: int, kind: str, actor_id: int | None) -> None:
    """Tell open queues and ticket pages that a ticket changed, once the change is committed."""
    message = {"type": "ticket.changed", "ticket": ticket_id, "kind": kind, "actor": actor_id}
    transaction.on_commit(lambda: _send(QUEUES, message))


def publish_notifications(notifications: list[Any]) -> None:
    """Push new notifications to their agents' open workspaces, after commit."""
    messages = [
        (
            user_group(n.user_id),
            {"type": "notification", "text": n.text, "ticket": n.ticket_id, "id": n.pk},
        )
        for n in notifications
    ]

    def send() -> None:
        for group, message in messages:
            _send(group, message)

    transaction.on_commit(send)


def chat_group(chat_id: int) -> str:
    return f"chat.{chat_id}"


def publish_chat(chat_id: int, kind: str, data: dict[str, Any], *, side: str = "") -> None:
    """Tell both ends of a chat (customer and agents following it), after commit.

    `kind` is message, state, typing or read; `side` says who caused it (customer or
    agent), so each end can leave out its own typing and read receipts.
    """
    message = {"type": "chat.event", "chat": chat_id, "kind": kind, "side": side, "data": data}
    transaction.on_commit(lambda: _send(chat_group(chat_id), message))


def publish_chat_queue() -> None:
    """The waiting chats changed: agents' chat lists refresh."""
    transaction.on_commit(lambda: _send(QUEUES, {"type": "chat.queue"}))


def chat_message_payload(message: Any, chat: Any) -> dict[str, Any]:
    """A chat message as both ends show it: plain text, who wrote it, the sender's id."""
    prefix = f"{chat.key}:"
    client_id = (message.external_id or "").removeprefix(prefix).removeprefix("agent:")
    if message.kind == "inbound":
        side, name = "customer", chat.name
    elif message.is_automatic or message.author_user is None:
        side, name = "system", settings.HELPDESK_SENDER_NAME
    else:
        side, name = "agent", message.author_user.first_name or message.author_user.username
    return {
        "id": message.pk,
        "from": side,
        "name": name,
        "text": message.body_text,
        "at": message.created_at.isoformat(),
        "client_id": client_id if message.external_id else None,
    }
