"""One Redis connection pool per process for Django's cache.

Django's Redis cache keeps its pool on the cache object, and under ASGI each request gets
cache objects of its own (they are context-local): every request that used the cache
opened a new Redis connection (a TCP connect, a DNS lookup and redis-py reading its
package metadata) and dropped it. That was a fifth of the web process's time on webhooks.
Django ticket #35651. Set as the cache's `pool_class` (helpdesk.settings), pools are
shared by every cache object of the process with the same address and options; redis-py
pools are thread-safe and start afresh in a forked child.
"""

import threading
from typing import Any

import redis

_pools: dict[tuple[str, str], redis.ConnectionPool] = {}
_lock = threading.Lock()


class SharedConnectionPool(redis.ConnectionPool):
    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Any:
        key = (url, repr(sorted(kwargs.items())))
        with _lock:
            pool = _pools.get(key)
            if pool is None:
                pool = _pools[key] = super().from_url(url, **kwargs)
        return pool
