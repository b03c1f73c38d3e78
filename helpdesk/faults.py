"""Which failures are an outage of something we depend on, and which are the work's own.

An outage (the database or Redis unreachable, a lock or connection timeout, a deadlock, a
write that met a concurrent one, a full disk) says nothing about the message or reply being
handled: the work is retried until it succeeds and never recorded as failed. Anything else
is the work's own failure (a message the database cannot take, a bug) and is recorded,
with its reason, for people to see.
"""

import errno
import socket
import sqlite3

import kombu.exceptions
import psycopg
import redis.exceptions
from django.db import Error as DatabaseError
from django.db import InterfaceError

# Database errors by SQLSTATE (PostgreSQL): the classes and codes of an outage. Anything
# else with a SQLSTATE (a value too long, a check or foreign key violated, a statement the
# server refuses) repeats on every try: the work's own.
_OUTAGE_SQLSTATES = (
    "08",  # connection exception
    "40",  # transaction rollback: serialization failure, deadlock
    "53",  # insufficient resources: disk full, out of memory, too many connections
    "55P03",  # lock not available
    "57014",  # statement timeout
    "57P",  # the server shutting down, crashed or starting
    "58",  # system error: I/O
    "23505",  # a unique key a concurrent writer took: trying again finds its row
)
_OTHER_OUTAGES: tuple[type[BaseException], ...] = (
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
        if isinstance(seen, DatabaseError | psycopg.Error | sqlite3.Error):
            return _database_outage(seen)
        if isinstance(seen, _OTHER_OUTAGES):
            return True
        if isinstance(seen, OSError) and seen.errno in _TRANSIENT_ERRNOS:
            return True
        seen = seen.__cause__
    return False


def _database_outage(error: BaseException) -> bool:
    """A database error (Django's, or the driver's it wraps as its cause)."""
    driver = error.__cause__ if isinstance(error, DatabaseError) else error
    state = getattr(driver, "sqlstate", None)
    if state:
        return state.startswith(_OUTAGE_SQLSTATES)
    if isinstance(driver, sqlite3.Error):  # SQLite has no SQLSTATE: its words
        text = str(driver).lower()
        return "locked" in text or "busy" in text or "unique constraint" in text
    # No SQLSTATE from the server: the client lost or could not open its connection.
    return isinstance(
        driver, psycopg.OperationalError | psycopg.InterfaceError | InterfaceError
    ) or isinstance(error, InterfaceError)
