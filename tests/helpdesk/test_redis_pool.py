"""Under ASGI each request has cache objects of its own: they must share one Redis
connection pool, not open a connection each (Django ticket #35651)."""

import asyncio
import socket

import pytest
from django.db import connections
from django.test import Client

from helpdesk.asgi_http import PooledThreadsASGIHandler
from tests.helpdesk.test_asgi_http import _get
from tests.outages import own_redis

__all__ = ["own_redis"]

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
QUEUE = "/agent/queue/mine/"


def _connections_received(port: int) -> int:
    with socket.create_connection(("127.0.0.1", port), 2) as sock:
        sock.sendall(b"INFO stats\r\n")
        info = b""
        while b"total_connections_received" not in info or not info.endswith(b"\r\n"):
            info += sock.recv(65536)
    line = next(x for x in info.split(b"\r\n") if x.startswith(b"total_connections_received"))
    return int(line.split(b":")[1])


async def _new_connections(port: int, headers: list[tuple[bytes, bytes]]) -> int:
    """Redis connections opened by ten requests after a first one, as one server (one
    event loop, its request threads) answers them."""
    application = PooledThreadsASGIHandler(threads=4)
    try:
        assert (await _get(application, QUEUE, headers=headers))[0] == 200
        before = _connections_received(port)
        for _ in range(10):
            assert (await _get(application, QUEUE, headers=headers))[0] == 200
        return _connections_received(port) - before - 1  # less the INFO's own
    finally:  # the request threads' database connections, before the database goes
        for threads in application._by_loop.values():
            for executor in threads.idle:
                executor.submit(connections.close_all).result()


@pytest.mark.parametrize("shared", [True, False])
def test_requests_share_the_cache_connections(own_redis, settings, agent, shared):
    if shared:
        settings.CACHES = {
            "default": {
                **settings.CACHES["default"],
                "OPTIONS": {"pool_class": "helpdesk.redis_pool.SharedConnectionPool"},
            }
        }
    signed_in = Client()
    signed_in.force_login(agent)
    cookie = f"sessionid={signed_in.cookies['sessionid'].value}".encode()
    opened = asyncio.run(_new_connections(own_redis.port, [(b"cookie", cookie)]))
    if shared:
        assert opened == 0
    else:  # Django's own pools: what this test shows without the shared one
        assert opened >= 10
