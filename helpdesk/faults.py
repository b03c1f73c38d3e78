"""Which failures are an outage of something we depend on, and which are the work's own.

An outage (the database or Redis unreachable, a lock or connection timeout, a write that
met a concurrent one, a full disk) says nothing about the message or reply being handled:
the work is retried until it succeeds and never recorded as failed. Anything else is the
work's own failure (a message that cannot be processed, a bug) and is recorded, with its
reason, for people to see.
"""

import errno
import socket

import kombu.exceptions
import psycopg
import redis.exceptions
from django.db import IntegrityError, InterfaceError, OperationalError

_TRANSIENT_TYPES: tuple[type[BaseException], ...] = (
    # Django's wrappers of the driver's errors: connection lost or refused, lock or
    # statement timeout, deadlock, serialization failure, pool exhausted ...
    OperationalError,
    InterfaceError,
    # ... and a unique key taken by a concurrent writer: trying again finds its row.
    IntegrityError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    # Redis (cache, channel layer) unreachable, too slow, loading or failing over.
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.ReadOnlyError,
    redis.exceptions.TryAgainError,
    # The Celery broker unreachable.
    kombu.exceptions.OperationalError,
    # The network.
    ConnectionError,
    TimeoutError,
    socket.gaierror,
)
# Operating-system errors that pass: a full disk, an I/O hiccup, too many open files.
_TRANSIENT_ERRNOS = {
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EIO,
    errno.EAGAIN,
    errno.EMFILE,
    errno.ENFILE,
    errno.ENOMEM,
}
# How far along a chain of `raise ... from` causes to look.
_MAX_CAUSES = 5


def is_transient(error: BaseException) -> bool:
    """True when `error`, or an error it was raised from, is an outage worth waiting out."""
    seen: BaseException | None = error
    for _ in range(_MAX_CAUSES):
        if seen is None:
            return False
        if isinstance(seen, _TRANSIENT_TYPES):
            return True
        if isinstance(seen, OSError) and seen.errno in _TRANSIENT_ERRNOS:
            return True
        seen = seen.__cause__
    return False
