"""Real outages for the tests: a Redis server of the test's own, stopped and started again,
and a database connection cut by the server in the middle of a transaction.

Never the shared Redis: killing it would take the other test processes' brokers with it.
"""

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from django.db import connection

from helpdesk.celery import app


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class OwnRedis:
    """A redis-server on a free port, keeping nothing on disk."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while not self.answers():
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        """Killed, as a crash would: what it held is gone."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), 0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@pytest.fixture
def own_redis(settings: Any) -> Iterator[OwnRedis]:
    """Cache, channel layer and Celery broker on a Redis of this test's own (started)."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    redis = OwnRedis()
    redis.start()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis.url,
            # Fail fast while it is down (redis-py would otherwise wait on its default).
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
        }
    }
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [redis.url]},
        }
    }
    with broker_at(redis.url):
        try:
            yield redis
        finally:
            redis.stop()


@contextmanager
def broker_at(url: str) -> Iterator[None]:
    """Celery's producers and connections pointed at `url` for a while."""
    previous = app.conf.broker_url, app.conf.broker_connection_retry_on_startup
    app.conf.broker_url = url
    # A publish while the broker is down fails after a short retry, as in production.
    app.conf.broker_transport_options = {"max_retries": 1, "socket_connect_timeout": 1}
    _reset_pools()
    try:
        yield
    finally:
        app.conf.broker_url, app.conf.broker_connection_retry_on_startup = previous
        app.conf.broker_transport_options = {}
        _reset_pools()


def _reset_pools() -> None:
    """Celery takes its pools from kombu's registry by broker address: the next use finds
    the pool of the address now configured (left open: a closed one stays registered)."""
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def connection_cut_before(statement: str) -> Iterator[Callable[[], int]]:
    """The database server ends this thread's connection just before the first statement
    that starts with `statement` (e.g. 'INSERT INTO "tickets_message"'): the transaction
    dies mid-way, as when PostgreSQL restarts or a network link drops. Yields how many
    connections were cut so far."""
    cuts = 0

    def cut(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal cuts
        if cuts == 0 and sql.lstrip().startswith(statement):
            cuts += 1
            pid = connection.connection.info.backend_pid
            settings = connection.settings_dict
            with psycopg.connect(
                host=settings["HOST"] or None,
                port=settings["PORT"] or None,
                user=settings["USER"],
                dbname=settings["NAME"],
                autocommit=True,
            ) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(cut):
        yield lambda: cuts


@contextmanager
def database_refusing(statement: str) -> Iterator[None]:
    """The database refusing each statement that starts with `statement` as when it cannot
    get a lock in time (an outage of ours, not the request's fault), on any backend; the
    connection stays usable."""
    from django.db import OperationalError

    def refuse(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        if sql.lstrip().startswith(statement):
            raise OperationalError("lock not available") from psycopg.errors.LockNotAvailable()
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse):
        yield


@pytest.fixture
def cache_down(settings: Any) -> None:
    """The cache (Redis: the rate limits' counters) unreachable; nothing else."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
