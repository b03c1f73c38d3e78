"""Django's ASGI handler for HTTP, with its request threads kept and its middleware run in one go.

Django runs a request's synchronous code (middleware, signals, the view) on one thread of
its own, inside asgiref's `ThreadSensitiveContext`. Two things make that dear, and this
handler avoids both (the webhook benchmark's web process spent 4.1 ms of CPU a request with
Django's handler and 2.5 ms with this one, docs/benchmarks.md):

- By default the thread is started for the request and joined after it by yet another
  thread, and whatever the code keeps per thread (its database connection wrapper, Celery's
  result backend and producer) is built again each time. Here each request borrows one of a
  fixed set of threads through `ThreadSensitiveContext(executor=...)`, which asgiref provides
  for this: the same isolation (one request per thread at a time, all of its synchronous code
  on that thread) without the churn. When every thread is busy a request waits for one, as
  under a threaded WSGI server; HTTP_THREADS sets how many there are.
- In async mode Django passes between the event loop and the request's thread around every
  synchronous middleware method and the view, a dozen crossings a request with our
  middleware (none of it, and no view, is async). Here the middleware chain is the
  synchronous one WSGI uses, called once on the request's thread.
"""

import asyncio
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import FileResponse, HttpRequest, HttpResponseBase


class _Threads:
    """One event loop's request threads: single-thread executors, made as they are needed."""

    def __init__(self, size: int) -> None:
        self.idle: list[ThreadPoolExecutor] = []
        self.free = asyncio.Semaphore(size)
        self.made = 0

    async def borrow(self) -> ThreadPoolExecutor:
        await self.free.acquire()
        if self.idle:
            return self.idle.pop()
        self.made += 1
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"http-{self.made}")

    def give_back(self, executor: ThreadPoolExecutor) -> None:
        self.idle.append(executor)
        self.free.release()


class PooledThreadsASGIHandler(ASGIHandler):
    def __init__(self, threads: int) -> None:
        if threads < 1:
            raise ValueError("An HTTP handler needs at least one thread.")
        # Not ASGIHandler.__init__, which builds the middleware chain for async mode.
        self.load_middleware(is_async=False)
        self.threads = threads
        # Per event loop: a semaphore belongs to the loop that first waits on it (a server
        # has one loop; tests may start several).
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Threads] = (
            weakref.WeakKeyDictionary()
        )

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        loop = asyncio.get_running_loop()
        threads = self._by_loop.get(loop)
        if threads is None:
            threads = self._by_loop[loop] = _Threads(self.threads)
        executor = await threads.borrow()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            threads.give_back(executor)

    async def run_get_response(self, request: HttpRequest) -> HttpResponseBase:
        """The middleware and the view, synchronously, in one call on the request's thread."""
        response = await sync_to_async(self.get_response, thread_sensitive=True)(request)
        response._handler_class = self.__class__  # type: ignore[attr-defined]
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size  # the server chunks, as Django's does
        return response
