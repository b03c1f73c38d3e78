"""Live pushes to the agent workspace over the Channels layer, sent after commit.

Groups: QUEUES (any ticket change: queues refresh) reaches every agent's socket through one
member per web process (tickets.consumers); every socket is in its user's group
(notifications); a socket showing a ticket is also in that ticket's group (presence and
typing). With Redis (production) pushes reach every web process, from Celery
workers too; the in-memory layer of the embedded default only reaches the process that
made the change.
"""

import asyncio
import atexit
import logging
import os
import threading
import weakref
from collections.abc import Mapping
from typing import Any

from asgiref.sync import SyncToAsync
from channels.layers import BaseChannelLayer, get_channel_layer
from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext

from helpdesk.languages import default_language

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
    if not _in_event_loop_worker():
        _pusher().push(layer, group, message)
        return
    loop = SyncToAsync.threadlocal.main_event_loop
    try:
        loop.call_soon_threadsafe(_outbox(loop).put, layer, group, message)
    except RuntimeError:  # the loop has closed (a test ended): nobody is listening
        logger.warning("Live push to %s dropped: its event loop is closed", group)


def _in_event_loop_worker() -> bool:
    """Sync code run for an event loop (a view or consumer under ASGI): pushes go out on
    that loop, through its connections."""
    return getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) == os.getpid()


# Live pushes one event loop sends at once. Each holds one of the channel layer's Redis
# connections (redis-py allows 100 a process); the sockets' own sends and receives need some
# too. When the server falls behind, hundreds of chats' pushes would otherwise ask for one
# together, and those past the limit failed: lost live messages (docs/benchmarks.md).
PUSHES_AT_ONCE = 32


class _Outbox:
    """Pushes from sync code run for an event loop, sent by that loop: in order within a
    group, groups side by side, and the caller does not wait.

    Waiting (async_to_sync) held the worker thread and its database connection for a
    channel-layer round trip per push, two per chat message: under load the worker threads
    did little else (docs/benchmarks.md). Queue changes waiting together go out as
    one "tickets.changed" (tickets.consumers tells each socket).
    """

    def __init__(self) -> None:
        self.waiting: dict[str, list[tuple[BaseChannelLayer, str, dict[str, Any]]]] = {}
        self.draining: set[str] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.sending = asyncio.Semaphore(PUSHES_AT_ONCE)

    def put(self, layer: BaseChannelLayer, group: str, message: dict[str, Any]) -> None:
        """On the loop: queue the push; start the group's drain unless it is running."""
        self.waiting.setdefault(group, []).append((layer, group, message))
        if group not in self.draining:
            self.draining.add(group)
            task = asyncio.get_running_loop().create_task(self._drain(group))
            self.tasks.add(task)  # a reference, until it is done
            task.add_done_callback(self.tasks.discard)

    async def _drain(self, group: str) -> None:
        try:
            while batch := self.waiting.pop(group, None):
                for layer, _group, message in _merged(_coalesced(batch)):
                    try:
                        async with self.sending:
                            await layer.group_send(group, message)
                    except Exception:  # a live push is a courtesy: the change is committed
                        logger.warning("Live push to %s failed", group, exc_info=True)
        finally:
            self.draining.discard(group)  # in the same step as the last look: none is missed


def _merged(
    batch: list[tuple[BaseChannelLayer, str, dict[str, Any]]],
) -> list[tuple[BaseChannelLayer, str, dict[str, Any]]]:
    """The batch with its "ticket.changed" pushes (all to QUEUES) as one "tickets.changed"."""
    changes = [message for _l, _g, message in batch if message.get("type") == "ticket.changed"]
    if len(changes) < 2:
        return batch
    first = next(i for i, (_l, _g, m) in enumerate(batch) if m.get("type") == "ticket.changed")
    rest = [item for item in batch if item[2].get("type") != "ticket.changed"]
    merged = (batch[first][0], batch[first][1], {"type": "tickets.changed", "changes": changes})
    return [*rest[:first], merged, *rest[first:]]


_outboxes: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Outbox]" = (
    weakref.WeakKeyDictionary()
)
_outboxes_lock = threading.Lock()


def _outbox(loop: asyncio.AbstractEventLoop) -> _Outbox:
    with _outboxes_lock:
        if loop not in _outboxes:
            _outboxes[loop] = _Outbox()
        return _outboxes[loop]


# Pushes waiting to be sent, at most (more are dropped: screens also refresh by themselves).
_MAX_WAITING = 10_000
# Pushes handed over within this long go out together (screens debounce longer than this).
_GATHER_SECONDS = 0.05


class _Pusher:
    """Pushes from outside an event loop (Celery workers, commands), sent in order by one
    event loop in a daemon thread.

    async_to_sync would start a loop, a thread and a Redis connection for every push, and
    make the caller wait for it (most of the time of ingesting a message); here the caller
    only hands the push over, the channel layer keeps its connections (they belong to a
    loop), and what arrives within a moment goes out together: each ticket's "changed"
    once, and the queue changes in one "tickets.changed".
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.waiting: list[tuple[BaseChannelLayer, str, dict[str, Any]]] = []
        self.draining = False
        self.dropped = 0
        self.lock = threading.Lock()
        self.idle = threading.Event()
        self.idle.set()
        threading.Thread(target=self.loop.run_forever, name="live-push", daemon=True).start()

    def push(self, layer: BaseChannelLayer, group: str, message: dict[str, Any]) -> None:
        with self.lock:
            if len(self.waiting) >= _MAX_WAITING:  # the layer is down or far behind
                if not self.dropped:  # once, not per push: the log would be the bottleneck
                    logger.warning("Live pushes dropped: %s waiting", _MAX_WAITING)
                self.dropped += 1
                return
            self.waiting.append((layer, group, message))
            if self.draining:
                return  # the running drain takes it
            self.draining = True
            self.idle.clear()
        self.loop.call_soon_threadsafe(lambda: self.loop.create_task(self._drain()))

    async def _drain(self) -> None:
        while True:
            await asyncio.sleep(_GATHER_SECONDS)
            with self.lock:
                batch, self.waiting = self.waiting, []
                if self.dropped:
                    logger.warning("%s live pushes were dropped", self.dropped)
                    self.dropped = 0
                if not batch:
                    self.draining = False
                    self.idle.set()
                    return
            for layer, group, message in _merged(_coalesced(batch)):
                try:
                    await layer.group_send(group, message)
                except Exception:  # a live push is a courtesy: the change is committed
                    logger.warning("Live push to %s failed", group, exc_info=True)

    def flush(self, timeout: float) -> None:
        self.idle.wait(timeout)


def _coalesced(
    batch: list[tuple[BaseChannelLayer, str, dict[str, Any]]],
) -> list[tuple[BaseChannelLayer, str, dict[str, Any]]]:
    """The batch in order, each ticket's changes by one actor told once (screens refresh on
    any of them; the first one's kind is kept)."""
    seen = set()
    kept = []
    for layer, group, message in batch:
        if message.get("type") == "ticket.changed":
            key = (group, message["ticket"], message["actor"])
            if key in seen:
                continue
            seen.add(key)
        kept.append((layer, group, message))
    return kept


_pushers: dict[int, _Pusher] = {}
_pushers_lock = threading.Lock()


def _pusher() -> _Pusher:
    """This process's pusher (a forked Celery worker starts its own)."""
    pid = os.getpid()
    with _pushers_lock:
        if pid not in _pushers:
            _pushers[pid] = _Pusher()
            atexit.register(_pushers[pid].flush, 5.0)
        return _pushers[pid]


def publish_ticket_changed(*, ticket_id: int, kind: str, actor_id: int | None) -> None:
    """Tell open queues and ticket pages that a ticket changed, once the change is committed."""
    message = {"type": "ticket.changed", "ticket": ticket_id, "kind": kind, "actor": actor_id}
    # robust: a live push is a courtesy; whatever it meets, the change is committed and the
    # callbacks after it (queueing routing, delivery) still run.
    transaction.on_commit(lambda: _send(QUEUES, message), robust=True)


# More notifications than this for one agent at once are pushed as one summary (an SLA
# sweep telling a tier of a thousand warnings must not raise a thousand toasts).
NOTIFICATIONS_PUSHED_ONE_BY_ONE = 3


def publish_notifications(
    notifications: list[Any], *, languages: Mapping[int, str] | None = None
) -> None:
    """Push new notifications to their agents' open workspaces, after commit: each one, or
    for an agent given many at once, one push saying how many (with the latest), in the
    agent's language (`languages`, by user id; else the desk's default)."""
    by_user: dict[int, list[Any]] = {}
    for notification in notifications:
        by_user.setdefault(notification.user_id, []).append(notification)
    messages = []
    for user_id, theirs in by_user.items():
        if len(theirs) > NOTIFICATIONS_PUSHED_ONE_BY_ONE:
            latest = theirs[-1]
            language = (languages or {}).get(user_id) or default_language()
            with translation.override(language):
                text = gettext("%(count)s new notifications. Latest: %(latest)s") % {
                    "count": len(theirs),
                    "latest": latest.text,
                }
            messages.append((user_group(user_id), _notification(latest, text, len(theirs))))
        else:
            messages += [(user_group(user_id), _notification(n, n.text, 1)) for n in theirs]

    def send() -> None:
        for group, message in messages:
            _send(group, message)

    transaction.on_commit(send, robust=True)


def _notification(notification: Any, text: str, count: int) -> dict[str, Any]:
    ticket = notification.ticket_id if count == 1 else None
    kind = notification.kind if count == 1 else ""
    return {"type": "notification", "text": text, "ticket": ticket, "id": notification.pk,
            "count": count, "kind": kind}  # fmt: skip


def chat_group(chat_id: int) -> str:
    return f"chat.{chat_id}"


def publish_chat(chat_id: int, kind: str, data: dict[str, Any], *, side: str = "") -> None:
    """Tell both ends of a chat (customer and agents following it), after commit.

    `kind` is message, state, typing or read; `side` says who caused it (customer or
    agent), so each end can leave out its own typing and read receipts.
    """
    message = {"type": "chat.event", "chat": chat_id, "kind": kind, "side": side, "data": data}
    transaction.on_commit(lambda: _send(chat_group(chat_id), message), robust=True)


def publish_chat_queue() -> None:
    """The waiting chats changed: agents' chat lists refresh."""
    transaction.on_commit(lambda: _send(QUEUES, {"type": "chat.queue"}), robust=True)


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
