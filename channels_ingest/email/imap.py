"""The IMAP door for email: poll a mailbox and store every unseen message raw.

The only module that speaks IMAP (and, for XOAUTH2, to an OAuth2 token endpoint). A message is
stored first (`pipeline.receive` commits) and only then marked seen or moved, so a crash in
between means it is fetched again on the next poll and deduplicated by its key: never lost.
A message that fails stays unseen and is retried by the next poll; it never blocks the others.
"""

import base64
import contextlib
import hashlib
import imaplib
import logging
import os
import re
import ssl
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from channels_ingest import pipeline
from channels_ingest.email.parse import idempotency_key
from channels_ingest.models import Mailbox, MailboxAuth, MailboxSecurity

logger = logging.getLogger(__name__)

# imaplib refuses response lines over 1 MB; UID SEARCH answers in one line, which a mailbox
# with some 130,000 unseen messages would exceed on every poll. 16 MB: about two million.
imaplib._MAXLINE = max(imaplib._MAXLINE, 16 * 1024 * 1024)  # type: ignore[attr-defined]

# Every socket operation (connect, TLS handshake, each read and write).
TIMEOUT_SECONDS = 30
# OAuth2 token endpoint: (connect, read).
TOKEN_TIMEOUT = (5, 20)
# An access token is used until this long before it expires.
TOKEN_EXPIRY_MARGIN_SECONDS = 120
# One poll takes no new message after this long, and at most this many; the next poll goes on.
POLL_BUDGET_SECONDS = 300
MAX_MESSAGES_PER_POLL = 500
# Two workers never poll one mailbox at once; longer than a poll can take.
LOCK_SECONDS = 900
# Headers kept in the note that stands in for a message too large to import.
NOTE_HEADERS = (
    "FROM",
    "REPLY-TO",
    "TO",
    "CC",
    "SUBJECT",
    "DATE",
    "MESSAGE-ID",
    "IN-REPLY-TO",
    "REFERENCES",
    # Loop protection: an oversized bounce or auto-reply must still look automatic.
    "RETURN-PATH",
    "AUTO-SUBMITTED",
    "PRECEDENCE",
    "LIST-ID",
    "X-AUTO-RESPONSE-SUPPRESS",
)
NOTE_HEADER_LIMIT = 64 * 1024


class MailboxUnavailable(Exception):
    """The mailbox could not be polled at all: unreachable, TLS, login or folder trouble."""


@dataclass(frozen=True)
class PollResult:
    stored: int = 0  # new inbound items
    duplicates: int = 0  # already stored (a redelivery, or a retry after a crash)
    too_large: int = 0  # stored as a note instead of the message
    failed: int = 0  # left unseen for the next poll
    postponed: int = 0  # not reached in this poll's budget

    def error_summary(self) -> str:
        if not self.failed:
            return ""
        return (
            f"{self.failed} message(s) could not be imported; they stay unseen and are "
            "retried on the next poll (details in the error log)."
        )


def mailbox_poll(*, mailbox: Mailbox, now: datetime | None = None) -> PollResult:
    """Import the unseen messages of one mailbox; records last_polled_at and last_error.

    Raises MailboxUnavailable when the server cannot be reached, refuses the login or
    has no such folder. Must run outside a transaction: it talks to the network.
    """
    if connection.in_atomic_block:
        raise RuntimeError("mailbox_poll() talks to the network: call it outside a transaction")
    try:
        with _session(mailbox) as (client, capabilities):
            result = _poll_folder(client, mailbox, capabilities)
    except MailboxUnavailable as error:
        _record(mailbox, error=str(error), now=now)
        raise
    except (OSError, imaplib.IMAP4.error) as error:
        reason = f"IMAP session with {mailbox.host}:{mailbox.port} failed: {_describe(error)}"
        _record(mailbox, error=reason, now=now)
        raise MailboxUnavailable(reason) from error
    _record(mailbox, error=result.error_summary(), now=now)
    return result


@contextmanager
def poll_lock(mailbox_id: int) -> Iterator[bool]:
    """Yields whether this caller may poll the mailbox now (nobody else is polling it).

    A cache lock: shared by all workers with Redis; with the local-memory cache only within
    one process. Overlapping polls are harmless anyway (the store is idempotent), only wasteful.
    """
    key = poll_lock_key(mailbox_id)
    token = uuid.uuid4().hex
    acquired = cache.add(key, token, timeout=LOCK_SECONDS)
    try:
        yield acquired
    finally:
        if acquired and cache.get(key) == token:
            cache.delete(key)


def poll_lock_key(mailbox_id: int) -> str:
    return f"channels_ingest:imap-poll:{mailbox_id}"


# --- Connection and authentication -----------------------------------------------------------


@contextmanager
def _session(mailbox: Mailbox) -> Iterator[tuple[imaplib.IMAP4, frozenset[str]]]:
    """A connected, authenticated client and the capabilities it has after login."""
    client = _connect(mailbox)
    try:
        _authenticate(client, mailbox)
        yield client, _capabilities(client)
    finally:
        with contextlib.suppress(Exception):  # the session is over either way
            client.logout()


def _connect(mailbox: Mailbox) -> imaplib.IMAP4:
    context = _tls_context()
    where = f"{mailbox.host}:{mailbox.port}"
    try:
        if mailbox.security == MailboxSecurity.STARTTLS:
            client = imaplib.IMAP4(mailbox.host, mailbox.port, timeout=TIMEOUT_SECONDS)
            try:
                # Raises when the server does not offer STARTTLS: never fall back to plain text.
                client.starttls(ssl_context=context)
            except BaseException:
                with contextlib.suppress(OSError):  # keep the TLS error, not the cleanup's
                    client.shutdown()
                raise
            return client
        return imaplib.IMAP4_SSL(
            mailbox.host, mailbox.port, ssl_context=context, timeout=TIMEOUT_SECONDS
        )
    except (OSError, imaplib.IMAP4.error) as error:
        raise MailboxUnavailable(f"could not connect to {where}: {_describe(error)}") from error


def _tls_context() -> ssl.SSLContext:
    # HELPDESK_IMAP_CA_FILE: a CA bundle trusted instead of the system's (a private CA on
    # premises, the tests' self-signed server). Hostnames are checked either way.
    cafile = settings.HELPDESK_IMAP_CA_FILE or None
    return ssl.create_default_context(cafile=cafile)


def _authenticate(client: imaplib.IMAP4, mailbox: Mailbox) -> None:
    if mailbox.auth == MailboxAuth.XOAUTH2:
        token = access_token(mailbox)
        try:
            client.authenticate("XOAUTH2", _xoauth2_responder(mailbox.username, token))
        except imaplib.IMAP4.error as error:
            forget_access_token(mailbox)  # revoked early, perhaps: the next poll gets a new one
            raise MailboxUnavailable(
                f"XOAUTH2 login as {mailbox.username} refused: {_describe(error)}"
            ) from error
        return
    password = _secret(mailbox.secret_env, "password")
    try:
        if (mailbox.username + password).isascii():
            client.login(mailbox.username, password)
        else:  # LOGIN is ASCII only; SASL PLAIN carries UTF-8
            plain = f"\0{mailbox.username}\0{password}".encode()
            client.authenticate("PLAIN", lambda _challenge: plain)
    except imaplib.IMAP4.error as error:
        raise MailboxUnavailable(
            f"login as {mailbox.username} refused: {_describe(error)}"
        ) from error


def _capabilities(client: imaplib.IMAP4) -> frozenset[str]:
    """What the server offers once logged in (imaplib keeps only the pre-login list)."""
    typ, data = client.capability()
    if typ == "OK" and data and isinstance(data[-1], bytes):
        return frozenset(data[-1].decode("ascii", "replace").upper().split())
    return frozenset(capability.upper() for capability in client.capabilities)


def xoauth2_string(username: str, access_token: str) -> bytes:
    """The SASL XOAUTH2 initial response (before base64, which imaplib adds)."""
    return f"user={username}\x01auth=Bearer {access_token}\x01\x01".encode()


def _xoauth2_responder(username: str, token: str) -> Callable[[bytes], bytes]:
    answered = False

    def respond(_challenge: bytes) -> bytes:
        nonlocal answered
        if answered:
            # The server's second challenge is an error report (JSON); an empty answer
            # lets it finish with NO instead of waiting.
            return b""
        answered = True
        return xoauth2_string(username, token)

    return respond


def access_token(mailbox: Mailbox) -> str:
    """A valid OAuth2 access token, from the cache or fresh from the token endpoint."""
    refresh_token = _secret(mailbox.secret_env, "OAuth2 refresh token")
    key = _token_cache_key(mailbox, refresh_token)
    cached = cache.get(key)
    if isinstance(cached, str) and cached:
        return cached
    if not mailbox.oauth_token_url:
        raise MailboxUnavailable("XOAUTH2 needs an OAuth2 token URL")
    form = {
        "grant_type": "refresh_token",
        "client_id": mailbox.oauth_client_id,
        "refresh_token": refresh_token,
    }
    if mailbox.oauth_client_secret_env:
        form["client_secret"] = _secret(mailbox.oauth_client_secret_env, "OAuth2 client secret")
    if mailbox.oauth_scope:
        form["scope"] = mailbox.oauth_scope
    try:
        response = requests.post(
            mailbox.oauth_token_url,
            data=form,
            headers={"Accept": "application/json"},
            timeout=TOKEN_TIMEOUT,
        )
        body = response.json() if response.content else {}
    except (requests.RequestException, ValueError) as error:
        raise MailboxUnavailable(
            f"OAuth2 token endpoint failed: {_describe(error)}"[:500]
        ) from error
    token = body.get("access_token") if isinstance(body, dict) else None
    if response.status_code != 200 or not isinstance(token, str) or not token:
        problem = body if isinstance(body, dict) else {}
        reason = " ".join(
            str(problem.get(field, "")) for field in ("error", "error_description")
        ).strip()
        raise MailboxUnavailable(
            f"OAuth2 token refresh refused (HTTP {response.status_code}): {reason or '-'}"[:500]
        )
    try:
        lifetime = int(body.get("expires_in", 3600))
    except (TypeError, ValueError):
        lifetime = 3600
    if lifetime > TOKEN_EXPIRY_MARGIN_SECONDS:
        cache.set(key, token, timeout=lifetime - TOKEN_EXPIRY_MARGIN_SECONDS)
    return token


def forget_access_token(mailbox: Mailbox) -> None:
    refresh_token = os.environ.get(mailbox.secret_env, "")
    cache.delete(_token_cache_key(mailbox, refresh_token))


def _token_cache_key(mailbox: Mailbox, refresh_token: str) -> str:
    # A new refresh token, client or scope means a new access token.
    source = "\0".join(
        [mailbox.oauth_token_url, mailbox.oauth_client_id, mailbox.oauth_scope, refresh_token]
    )
    return f"channels_ingest:imap-oauth:{mailbox.pk}:{hashlib.sha256(source.encode()).hexdigest()}"


def _secret(env_name: str, what: str) -> str:
    value = os.environ.get(env_name, "") if env_name else ""
    if not value:
        raise MailboxUnavailable(f"the {what} is missing: environment variable {env_name!r}")
    return value


# --- One folder, one message at a time -------------------------------------------------------


def _poll_folder(
    client: imaplib.IMAP4, mailbox: Mailbox, capabilities: frozenset[str]
) -> PollResult:
    if mailbox.move_to:
        _ensure_folder(client, mailbox.move_to)
    folder = mailbox.folder or "INBOX"
    _check(client.select(_mailbox_name(folder)), f"SELECT {folder}")
    data = _check(client.uid("SEARCH", "UNSEEN", "UNDELETED"), "UID SEARCH")
    uids = sorted({int(uid) for line in data if line for uid in line.split()})
    deadline = time.monotonic() + POLL_BUDGET_SECONDS
    counts = {"stored": 0, "duplicates": 0, "too_large": 0, "failed": 0, "postponed": 0}
    counts["postponed"] = max(len(uids) - MAX_MESSAGES_PER_POLL, 0)
    new_items: list[int] = []  # processed together once stored
    try:
        _import_messages(client, mailbox, capabilities, uids, deadline, counts, new_items)
    finally:
        pipeline.enqueue_many(new_items)
    result = PollResult(**counts)
    if result != PollResult():
        logger.info("mailbox %s polled: %s", mailbox.name, result)
    return result


def _import_messages(
    client: imaplib.IMAP4,
    mailbox: Mailbox,
    capabilities: frozenset[str],
    uids: list[int],
    deadline: float,
    counts: dict[str, int],
    new_items: list[int],
) -> None:
    """Store each message, one after the other, counting how it went. The ids of the new
    ones go to new_items, to be processed in batches: a poll of a full mailbox is then
    ingested at the batch rate, not one message per task."""
    for position, uid in enumerate(uids[:MAX_MESSAGES_PER_POLL]):
        if time.monotonic() > deadline:
            counts["postponed"] += len(uids[:MAX_MESSAGES_PER_POLL]) - position
            break
        try:
            outcome, item_id = _import_message(client, mailbox, str(uid), capabilities)
        except (imaplib.IMAP4.abort, OSError):
            raise  # the connection is gone: the whole poll ends (and the next one goes on)
        except Exception as error:
            # Ours: logged without the message's content, which may hold personal data.
            counts["failed"] += 1
            logger.error(
                "mailbox %s: message uid %s not imported, it stays unseen for the next poll "
                "(%s at %s)",
                mailbox.name,
                uid,
                type(error).__name__,
                _where(error),
            )
        else:
            counts[outcome] += 1
            if item_id is not None:
                new_items.append(item_id)


def _import_message(
    client: imaplib.IMAP4, mailbox: Mailbox, uid: str, capabilities: frozenset[str]
) -> tuple[str, int | None]:
    """Store one message (or its too-large note), then settle it on the server. Returns how
    it went and the stored item if it is new (not yet queued for processing)."""
    size = _fetch_size(client, uid)
    too_large = size > mailbox.max_message_bytes
    if too_large:
        fields = " ".join(NOTE_HEADERS)
        headers = _fetch_literal(
            client, uid, f"BODY.PEEK[HEADER.FIELDS ({fields})]<0.{NOTE_HEADER_LIMIT}>"
        )
        raw = too_large_note(headers, size=size, mailbox=mailbox)
    else:
        raw = _fetch_literal(client, uid, "BODY.PEEK[]")
    item, created = pipeline.receive(
        channel="email",
        source=f"imap:{mailbox.name}",
        key=idempotency_key(raw),
        payload=raw,
        content_type="message/rfc822",
        enqueue=False,
    )
    # Stored and committed: only now may the server forget about it.
    _settle(client, mailbox, uid, capabilities)
    new = item.pk if created else None
    if too_large:
        return "too_large", new
    return ("stored" if created else "duplicates"), new


def _settle(
    client: imaplib.IMAP4, mailbox: Mailbox, uid: str, capabilities: frozenset[str]
) -> None:
    _check(client.uid("STORE", uid, "+FLAGS.SILENT", r"(\Seen)"), "UID STORE \\Seen")
    if not mailbox.move_to:
        return
    try:
        _move(client, uid, _mailbox_name(mailbox.move_to), capabilities)
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error:
        # Unseen again, so the next poll retries the move (the message is stored already).
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            client.uid("STORE", uid, "-FLAGS.SILENT", r"(\Seen)")
        raise


def _move(client: imaplib.IMAP4, uid: str, target: str, capabilities: frozenset[str]) -> None:
    if "MOVE" in capabilities:
        _check(client.uid("MOVE", uid, target), "UID MOVE")
        return
    _check(client.uid("COPY", uid, target), "UID COPY")
    _check(client.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)"), "UID STORE \\Deleted")
    if "UIDPLUS" in capabilities:
        _check(client.uid("EXPUNGE", uid), "UID EXPUNGE")
    else:  # expunges every message marked deleted in the folder: ours are the only ones
        _check(client.expunge(), "EXPUNGE")


def _ensure_folder(client: imaplib.IMAP4, folder: str) -> None:
    name = _mailbox_name(folder)
    existing = _check(client.list('""', name), f"LIST {folder}")
    if any(existing):
        return
    typ, data = client.create(name)
    if typ != "OK" and b"ALREADYEXISTS" not in b" ".join(d for d in data if d):
        raise MailboxUnavailable(f"could not create the folder {folder!r}: {_text(data)}")


def _fetch_size(client: imaplib.IMAP4, uid: str) -> int:
    for line in _check(client.uid("FETCH", uid, "(RFC822.SIZE)"), "UID FETCH RFC822.SIZE"):
        part = line[0] if isinstance(line, tuple) else line
        if not isinstance(part, bytes) or not _is_uid(part, uid):
            continue
        match = re.search(rb"RFC822\.SIZE (\d+)", part)
        if match:
            return int(match.group(1))
    raise imaplib.IMAP4.error("no RFC822.SIZE in the FETCH response")


def _fetch_literal(client: imaplib.IMAP4, uid: str, item: str) -> bytes:
    """The one literal the server sends back for `item` of message `uid`."""
    # What the server answers with: b"BODY[]", or b"BODY[HEADER.FIELDS" followed by the list.
    answer = item.replace(".PEEK", "").split(" (")[0].split("<")[0].encode()
    for line in _check(client.uid("FETCH", uid, f"({item})"), f"UID FETCH {item[:20]}"):
        # A literal arrives as (b'7 (UID 42 BODY[] {123}', b'<bytes>'); unsolicited FLAGS
        # updates of other messages may come along.
        if isinstance(line, tuple) and answer in line[0] and _is_uid(line[0], uid):
            return line[1]
    raise imaplib.IMAP4.error(f"no {answer.decode()} in the FETCH response")


def _is_uid(descriptor: bytes, uid: str) -> bool:
    match = re.search(rb"UID (\d+)", descriptor)
    return match is None or match.group(1).decode() == uid


def too_large_note(header_block: bytes, *, size: int, mailbox: Mailbox) -> bytes:
    """An RFC 5322 message that stands in for one too large to import.

    It keeps the sender, subject and threading headers (so the customer gets a ticket on the
    right thread) and says where the original is. Deterministic, so a retry has the same key.
    """
    folder = mailbox.move_to or mailbox.folder or "INBOX"
    text = (
        "This email was too large to import into the help desk "
        f"({_megabytes(size)}; the limit is {_megabytes(mailbox.max_message_bytes)}).\n"
        f'The original is still in the mailbox "{mailbox.name}" ({mailbox.username}), '
        f'folder "{folder}".\n'
    )
    lines = [
        *_header_fields(header_block),
        b"MIME-Version: 1.0",
        b"Content-Type: text/plain; charset=utf-8",
        b"Content-Transfer-Encoding: 8bit",
        b"X-Helpdesk-Import: too-large",
        b"",
        text.encode().replace(b"\n", b"\r\n"),
    ]
    return b"\r\n".join(lines)


def _header_fields(block: bytes) -> list[bytes]:
    """Complete header fields (with their folded lines) from a raw header block."""
    fields: list[list[bytes]] = []
    for line in block.replace(b"\r\n", b"\n").split(b"\n"):
        if not line.strip():
            continue
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1].append(line)
        elif b":" in line:
            fields.append([line])
    if len(block) >= NOTE_HEADER_LIMIT and fields:
        fields.pop()  # cut off by the partial fetch
    return [b"\r\n".join(field) for field in fields]


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


# --- Small IMAP helpers ---------------------------------------------------------------------


def _check(response: tuple[str, list[Any]], what: str) -> list[Any]:
    """The data of an OK response; imaplib returns NO and BAD instead of raising them."""
    typ, data = response
    if typ != "OK":
        raise imaplib.IMAP4.error(f"{what}: {typ} {_text(data)}")
    return data


def _mailbox_name(name: str) -> str:
    """A folder name as an IMAP quoted string in modified UTF-7 (RFC 3501, 5.1.3)."""
    encoded: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            utf16 = "".join(pending).encode("utf-16-be")
            encoded.append("&" + base64.b64encode(utf16).decode().rstrip("=").replace("/", ","))
            encoded.append("-")
            pending.clear()

    for char in name:
        if " " <= char <= "~":
            flush()
            encoded.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    quoted = "".join(encoded).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}"'


def _text(data: object) -> str:
    items = data if isinstance(data, list | tuple) else [data]
    parts = [
        item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item)
        for item in items
        if item is not None
    ]
    return " ".join(parts)[:300]


def _describe(error: BaseException) -> str:
    """An error for admins: type and text, bytes reprs unwrapped."""
    text = str(error)
    match = re.fullmatch(r"b'(.*)'", text) or re.fullmatch(r'b"(.*)"', text)
    if match:
        text = match.group(1)
    return f"{type(error).__name__}: {text}"[:300] if text else type(error).__name__


def _where(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return "?"
    frame = frames[-1]
    return f"{os.path.basename(frame.filename)}:{frame.lineno} in {frame.name}"


def _record(mailbox: Mailbox, *, error: str, now: datetime | None) -> None:
    mailbox.last_polled_at = now or timezone.now()
    mailbox.last_error = error[:2000]
    Mailbox.objects.filter(pk=mailbox.pk).update(
        last_polled_at=mailbox.last_polled_at, last_error=mailbox.last_error
    )
