"""Sending webhook deliveries, and when to try again.

Each batch is claimed in a short transaction (claimed_until: a lost worker's claim runs
out and the sweep takes the delivery again), POSTed with no transaction open (one keep-alive
session, a few threads for the HTTP only), and its outcome recorded in a second short
transaction: a 2xx is delivered; anything else is tried again after an exponential pause,
up to HELPDESK_WEBHOOK_MAX_ATTEMPTS, then failed. A webhook failing
HELPDESK_WEBHOOK_DISABLE_AFTER times in a row is switched off and the admins told.

A delivery recorded delivered is never claimed again. One whose worker died after sending
and before recording is sent again with the same X-Helpdesk-Delivery id (at least once:
receivers drop ids they have seen).
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import requests
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from tickets.automation import webhooks
from tickets.errors import InvalidInput
from tickets.models import DeliveryState, Webhook, WebhookAttempt, WebhookDelivery
from tickets.services._common import bulk_write

logger = logging.getLogger(__name__)

# A claimed batch must be sent and recorded within this; batches are sized so that even
# receivers that all time out take half of it.
CLAIM_SECONDS = 60
# Requests in flight at once, per sending task.
THREADS = 8
BACKOFF_FIRST_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600
# What the sweep reads at once, and how many such batches one sweep sends at most.
SWEEP_BATCH = 500
SWEEP_MAX_BATCHES = 20
# Of a receiver's answer, this much is read (the start is kept as the error of a failure).
_ANSWER_BYTES = 64 * 1024
_ERROR_CHARS = 500
_RECORDED_FIELDS = ["state", "attempts", "next_attempt_at", "claimed_until", "finished_at"]


@dataclass(frozen=True)
class Outcome:
    """One try at a delivery: the receiver's status, or why there was none."""

    delivery: WebhookDelivery
    status_code: int | None
    duration_ms: int
    error: str = ""
    final: bool = False  # not worth trying again (an address refused)

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def deliver(delivery_ids: list[int], now: datetime | None = None) -> int:
    """Send those of these deliveries that are pending, due and not claimed by another
    worker; returns how many were tried (or failed because their webhook is off).
    Harmless to run again: what was delivered or is being sent is skipped."""
    clock: Callable[[], datetime] = (lambda: now) if now is not None else timezone.now
    ids = sorted(set(delivery_ids))
    sender = _sender()
    handled = 0
    for start in range(0, len(ids), sender.batch):
        claimed, handled_off = _claim(ids[start : start + sender.batch], clock())
        outcomes = sender.send(claimed)
        _record(outcomes, clock())
        handled += handled_off + len(outcomes)
    return handled


# The sender of this process: its keep-alive connections and threads serve task after task
# (a task is often one event's few deliveries; opening them anew cost most of its time).
_kept_sender: tuple[int, _Sender] | None = None


def _sender() -> _Sender:
    """This process's sender (made again in a forked child), ready for a new batch."""
    global _kept_sender
    if _kept_sender is None or _kept_sender[0] != os.getpid():
        _kept_sender = (os.getpid(), _Sender())
    sender = _kept_sender[1]
    sender.new_batch()
    return sender


def sweep(now: datetime | None = None) -> int:
    """Send the deliveries that are due (a retry's time came, or their task was lost);
    returns how many were tried."""
    handled = 0
    for _ in range(SWEEP_MAX_BATCHES):
        ids = due(now or timezone.now(), limit=SWEEP_BATCH)
        done = deliver(ids, now=now) if ids else 0
        handled += done
        if len(ids) < SWEEP_BATCH or not done:
            break
    return handled


def due(now: datetime, *, limit: int) -> list[int]:
    """Pending deliveries whose time has come and that no live worker holds, oldest due
    first: index range scans of webhook_delivery_due_idx (one without a time first)."""
    pending = WebhookDelivery.objects.filter(state=DeliveryState.PENDING).filter(_unclaimed(now))
    untimed = list(
        pending.filter(next_attempt_at__isnull=True).order_by().values_list("pk", flat=True)[:limit]
    )
    timed = pending.filter(next_attempt_at__lte=now).order_by("next_attempt_at")
    return untimed + list(timed.values_list("pk", flat=True)[: limit - len(untimed)])


def _due(now: datetime) -> Q:
    time_come = Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True)
    return time_come & _unclaimed(now)


def _unclaimed(now: datetime) -> Q:
    return Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)


def backoff(attempts: int) -> timedelta:
    """The pause after the `attempts`-th failure: 30 s doubling each time up to an hour,
    up to a fifth shorter at random (so that a receiver back from an outage is not met by
    every retry at once)."""
    seconds = min(BACKOFF_MAX_SECONDS, BACKOFF_FIRST_SECONDS * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=seconds * random.uniform(0.8, 1.0))  # noqa: S311 - not secret


# --- Claiming and recording (short transactions, nothing over the network) ---------------


def _claim(ids: list[int], now: datetime) -> tuple[list[WebhookDelivery], int]:
    """Take the pending, due, unclaimed ones of these deliveries until now + CLAIM_SECONDS;
    those of a webhook switched off are failed at once. Returns (claimed, failed)."""
    skip_locked = connection.features.has_select_for_update_skip_locked
    with transaction.atomic():
        rows = list(
            WebhookDelivery.objects.select_for_update(skip_locked=skip_locked, of=("self",))
            .select_related("webhook")
            .filter(pk__in=ids, state=DeliveryState.PENDING)
            .filter(_due(now))
            .order_by("pk")
        )
        off = [(row, why) for row in rows if (why := webhooks.off_reason(row.webhook))]
        if off:
            _fail_off(off, now)
        claimed = [row for row in rows if webhooks.off_reason(row.webhook) is None]
        until = now + timedelta(seconds=CLAIM_SECONDS)
        WebhookDelivery.objects.filter(pk__in=[row.pk for row in claimed]).update(
            claimed_until=until
        )
        for row in claimed:
            row.claimed_until = until
    return claimed, len(off)


def _fail_off(off: list[tuple[WebhookDelivery, str]], now: datetime) -> None:
    WebhookAttempt.objects.bulk_create(
        WebhookAttempt(delivery=row, at=now, error=why) for row, why in off
    )
    for row, _why in off:
        row.state, row.finished_at = DeliveryState.FAILED, now
        row.next_attempt_at = row.claimed_until = None
    bulk_write([row for row, _ in off], _RECORDED_FIELDS)


def _record(outcomes: list[Outcome], now: datetime) -> None:
    """Write the attempts and what follows from them: delivered, retried later or failed;
    the webhooks' runs of failures, switching off those that failed too often."""
    if not outcomes:
        return
    max_attempts = int(settings.HELPDESK_WEBHOOK_MAX_ATTEMPTS)
    with transaction.atomic():
        WebhookAttempt.objects.bulk_create(
            WebhookAttempt(
                delivery=o.delivery,
                at=now - timedelta(milliseconds=o.duration_ms),
                status_code=o.status_code,
                duration_ms=o.duration_ms,
                error=o.error[:_ERROR_CHARS],
            )
            for o in outcomes
        )
        held = dict(
            WebhookDelivery.objects.select_for_update()
            .filter(pk__in=[o.delivery.pk for o in outcomes], state=DeliveryState.PENDING)
            .order_by("pk")
            .values_list("pk", "claimed_until")
        )
        changed = []
        for o in outcomes:
            row = o.delivery
            # Delivered counts whoever holds it; a failure only while our claim holds (when
            # it ran out, the worker that took the delivery over decides).
            if row.pk not in held or (not o.ok and held[row.pk] != row.claimed_until):
                continue
            _settle(row, o, now, max_attempts)
            changed.append(row)
        bulk_write(changed, _RECORDED_FIELDS)
        _count_failures(outcomes, now)


def _settle(row: WebhookDelivery, outcome: Outcome, now: datetime, max_attempts: int) -> None:
    row.attempts += 1
    row.claimed_until = None
    if outcome.ok:
        row.state, row.finished_at, row.next_attempt_at = DeliveryState.DELIVERED, now, None
    elif outcome.final or row.attempts >= max_attempts:
        row.state, row.finished_at, row.next_attempt_at = DeliveryState.FAILED, now, None
        logger.info("webhook delivery %s failed after %s attempts", row.pk, row.attempts)
    else:
        row.next_attempt_at = now + backoff(row.attempts)


def _count_failures(outcomes: list[Outcome], now: datetime) -> None:
    by_hook: dict[int, list[Outcome]] = {}
    for o in outcomes:
        by_hook.setdefault(o.delivery.webhook_id, []).append(o)
    failing = []
    for hook_id, tries in sorted(by_hook.items()):  # rows locked in one order: no deadlock
        last_ok = max((i for i, o in enumerate(tries) if o.ok), default=None)
        if last_ok is None:
            Webhook.objects.filter(pk=hook_id).update(
                consecutive_failures=F("consecutive_failures") + len(tries)
            )
            failing.append(hook_id)
        else:
            after = len(tries) - last_ok - 1
            Webhook.objects.filter(pk=hook_id).update(consecutive_failures=after)
            if after:
                failing.append(hook_id)
    limit = int(settings.HELPDESK_WEBHOOK_DISABLE_AFTER)
    too_many = Webhook.objects.filter(
        pk__in=failing, disabled_at__isnull=True, consecutive_failures__gte=limit
    ).values_list("pk", "consecutive_failures")
    for hook_id, failures in too_many:
        last = [o for o in by_hook[hook_id] if not o.ok][-1]
        webhooks.disable(
            webhook_id=hook_id,
            reason=f"{failures} deliveries in a row failed; the last: {last.error}",
            ticket_id=last.delivery.ticket_id,
            now=now,
        )


# --- The HTTP part (no database) ----------------------------------------------------------


class _Sender:
    """POSTs deliveries: one keep-alive session per kind of address check, THREADS at once."""

    def __init__(self) -> None:
        self._sessions: dict[bool, requests.Session] = {}
        self._checked: dict[tuple[str, bool], InvalidInput | None] = {}
        self._pool: ThreadPoolExecutor | None = None
        self.new_batch()

    def new_batch(self) -> None:
        """Settings read afresh, and addresses checked again (DNS may have changed)."""
        connect = float(settings.HELPDESK_WEBHOOK_CONNECT_TIMEOUT_SECONDS)
        read = float(settings.HELPDESK_WEBHOOK_TIMEOUT_SECONDS)
        self.timeout = (connect, read)
        rounds = max(1, int(CLAIM_SECONDS / 2 // (connect + read)))
        self.batch = THREADS * rounds
        self._checked = {}

    def send(self, deliveries: list[WebhookDelivery]) -> list[Outcome]:
        if len(deliveries) <= 1:
            return [self.send_one(d) for d in deliveries]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(THREADS, thread_name_prefix="webhook")
        return list(self._pool.map(self.send_one, deliveries))

    def send_one(self, delivery: WebhookDelivery) -> Outcome:
        hook = delivery.webhook
        refused = self._check(hook)
        if refused is not None:
            # A name that does not resolve now may later; a private address stays refused.
            return Outcome(
                delivery, None, 0, refused.message, refused.code != webhooks.UNRESOLVABLE
            )
        body = delivery.body.encode()
        sent_headers = webhooks.headers(delivery, hook, body, int(time.time()))
        started = time.monotonic()
        deadline = _Deadline(sum(self.timeout))
        try:
            response = self._session(hook.allow_private_network).post(
                hook.url,
                data=body,
                headers=sent_headers,
                timeout=self.timeout,
                allow_redirects=False,  # a redirect could lead anywhere, inside too
                stream=True,
            )
        except RefusedAddress as refused_peer:
            deadline.end()
            return Outcome(delivery, None, _ms_since(started), str(refused_peer), final=True)
        except requests.RequestException as failure:
            deadline.end()
            logger.info("webhook delivery %s: %s", delivery.pk, type(failure).__name__)
            error = deadline.refusal() if deadline.passed else self._describe(failure)
            return Outcome(delivery, None, _ms_since(started), error)
        answer = _read_answer(response, deadline)
        duration = _ms_since(started)
        if 200 <= response.status_code < 300:
            return Outcome(delivery, response.status_code, duration)
        logger.info("webhook delivery %s: HTTP %s", delivery.pk, response.status_code)
        status = f"HTTP {response.status_code} {response.reason or ''}".strip()
        error = f"{status}: {answer}" if answer else status
        return Outcome(delivery, response.status_code, duration, error)

    def _check(self, hook: Webhook) -> InvalidInput | None:
        """webhooks.check_target, once per address and batch (DNS asked once)."""
        key = (hook.url, hook.allow_private_network)
        if key not in self._checked:
            try:
                # The refusal is kept on the delivery, in the default language.
                with translation.override(settings.LANGUAGE_CODE):
                    webhooks.check_target(hook.url, allow_private=hook.allow_private_network)
                self._checked[key] = None
            except InvalidInput as refused:
                self._checked[key] = refused
        return self._checked[key]

    def _session(self, allow_private: bool) -> requests.Session:
        session = self._sessions.get(allow_private)
        if session is None:
            session = requests.Session()
            session.trust_env = False  # no proxies or .netrc credentials from the environment
            session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
            adapter = (_PrivateAllowedAdapter if allow_private else _GuardedAdapter)(
                pool_connections=32, pool_maxsize=THREADS, max_retries=0
            )
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._sessions[allow_private] = session
        return session

    def _describe(self, error: Exception) -> str:
        connect, read = self.timeout
        if isinstance(error, requests.ConnectTimeout):
            return f"No connection within {connect:g} s."
        if isinstance(error, requests.ReadTimeout):
            return f"No answer within {read:g} s."
        if isinstance(error, requests.exceptions.SSLError):
            return f"TLS failed: {_innermost(error)}"
        if isinstance(error, requests.ConnectionError):
            return f"Could not connect: {_innermost(error)}"
        return f"{type(error).__name__}: {_innermost(error)}"

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
        for session in self._sessions.values():
            session.close()


def _read_answer(response: Any, deadline: _Deadline) -> str:
    """The start of the answer (the rest is not read), until the deadline; the connection
    is kept if it can be."""
    data = b""
    try:
        for chunk in response.iter_content(8192):
            data += chunk
            if len(data) >= _ANSWER_BYTES:
                break
    except requests.RequestException:
        pass  # the status decides; a broken (or cut off) answer body changes nothing
    finally:
        deadline.end()  # before the connection goes back to the pool, to another request
        response.close()
    return data[:_ERROR_CHARS].decode("utf-8", "replace").strip()


def _innermost(error: BaseException) -> str:
    """What went wrong underneath requests' and urllib3's wrappers ("Connection refused"),
    without the address they repeat (a Slack webhook's path is its secret)."""
    reason = str(error)
    current: BaseException | None = error
    for _ in range(8):  # the chain is short; a cycle cannot hold it up
        if current is None:
            break
        if isinstance(current, OSError) and current.strerror:
            reason = current.strerror
        elif not isinstance(current, requests.RequestException) and str(current):
            reason = str(current)
        wrapped = current.args[0] if current.args else None
        inner = getattr(current, "reason", None)
        if isinstance(inner, BaseException):
            current = inner
        elif isinstance(wrapped, BaseException):
            current = wrapped
        else:
            current = current.__cause__
    return reason


def _ms_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


# --- A deadline for the whole request ------------------------------------------------------

# The deadline of the request this thread is sending (read by the connections it opens).
_this_thread = threading.local()


class _Deadline:
    """Cuts a request's connection once `seconds` have passed since it started. The
    timeouts bound each wait for the network, not the whole answer: a receiver sending a
    byte at a time would hold the worker (and outlast its claim on the delivery) for as long
    as it liked. Started for the current thread's request; `end` it before the connection
    goes back to the pool (another request may take it there)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.passed = False
        self._lock = threading.Lock()
        self._connection: _WatchedHTTPConnection | None = None
        self._ended = False
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True
        self._timer.start()
        _this_thread.deadline = self

    def watch(self, connection: _WatchedHTTPConnection) -> None:
        """The connection the request goes over (its socket may come later)."""
        with self._lock:
            if self._ended:
                return
            self._connection = connection
            if self.passed:
                connection.cut()

    def _cut(self) -> None:
        with self._lock:
            if self._ended:
                return
            self.passed = True
            if self._connection is not None:
                self._connection.cut()

    def end(self) -> None:
        with self._lock:
            self._ended = True
            self._connection = None
        self._timer.cancel()
        if getattr(_this_thread, "deadline", None) is self:
            _this_thread.deadline = None

    def refusal(self) -> str:
        return f"No whole answer within {self.seconds:g} s."


def _deadline_of_this_thread() -> _Deadline | None:
    return getattr(_this_thread, "deadline", None)


class _WatchedHTTPConnection(HTTPConnection):
    """A connection its request's deadline can cut: through a second handle on its socket,
    which stays usable when TLS takes the first one over, the socket is shut down, so that
    any wait on it (the TLS handshake, the status line, the headers, the body) ends.
    (urllib3's HTTPS connection is an HTTP connection: _WatchedHTTPSConnection below puts
    it under these methods.)"""

    _handle: socket.socket | None = None

    def _new_conn(self) -> socket.socket:
        return self._watch_new(super()._new_conn())

    def request(self, *args: Any, **kwargs: Any) -> None:
        self._watch_request()
        super().request(*args, **kwargs)

    def close(self) -> None:
        super().close()
        self._forget_handle()

    def _watch_new(self, sock: socket.socket) -> socket.socket:
        if self._handle is not None:
            self._handle.close()
        self._handle = sock.dup()
        deadline = _deadline_of_this_thread()
        if deadline is not None:
            deadline.watch(self)
        return sock

    def _watch_request(self) -> None:
        deadline = _deadline_of_this_thread()
        if deadline is not None:
            deadline.watch(self)

    def _forget_handle(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def cut(self) -> None:
        handle = self._handle
        if handle is None:
            return
        with contextlib.suppress(OSError):  # closed meanwhile: nothing left to cut
            handle.shutdown(socket.SHUT_RDWR)


# --- Connections only to public addresses (the address actually connected to) -----------


class RefusedAddress(Exception):
    """A connection reached an address webhooks may not use (a DNS answer changed after
    check_target). Not an OSError, so that urllib3 and requests pass it through unwrapped."""


def _public_only(sock: socket.socket, host: str) -> socket.socket:
    peer = str(sock.getpeername()[0])
    if webhooks.forbidden_address(peer):
        sock.close()
        raise RefusedAddress(
            f"{host} is on a private network ({peer}): webhooks go to public addresses "
            "unless the webhook allows a private network."
        )
    return sock


class _WatchedHTTPSConnection(_WatchedHTTPConnection, HTTPSConnection):
    """The same, over TLS (the methods above run before HTTPSConnection's)."""


class _PublicHTTPConnection(_WatchedHTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _public_only(super()._new_conn(), self.host)


class _PublicHTTPSConnection(_WatchedHTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return _public_only(super()._new_conn(), self.host)


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _PublicHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PublicHTTPConnection


class _PublicHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PublicHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    """An adapter whose connections the request's deadline can cut, and (`public_only`)
    that refuse, once connected, an address that is not public."""

    public_only = True

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = (
            {"http": _PublicHTTPPool, "https": _PublicHTTPSPool}
            if self.public_only
            else {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}
        )


class _PrivateAllowedAdapter(_GuardedAdapter):
    """For webhooks allowed a private network: the deadline still holds."""

    public_only = False
