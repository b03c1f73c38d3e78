"""Two transactions at the worst moment: the first done and not committed, the second
started and seen waiting for a lock the first holds; then the first commits (PostgreSQL)."""

import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction


class HeldOpen(threading.Thread):
    """A worker that has done `work` in a transaction and does not commit until released."""

    def __init__(self, work: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self.work = work
        self.done = threading.Event()
        self.release = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with transaction.atomic():
                self.work()
                self.done.set()
                self.release.wait(30)
        except BaseException as error:
            self.error = error
        finally:
            self.done.set()
            connection.close()


class Worker(threading.Thread):
    def __init__(self, work: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self.work = work
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.work()
        except BaseException as error:
            self.error = error
        finally:
            connection.close()


def waiting_for_a_lock(locktype: str) -> bool:
    """Whether some session waits for a lock of this kind ("advisory", "transactionid" ...)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = %s AND NOT granted", [locktype]
        )
        return bool(cursor.fetchone()[0])


def run_second_while_first_holds(
    first: Callable[[], Any], second: Callable[[], Any], *, lock: str = "advisory"
) -> None:
    """`first` done and uncommitted; `second` started and seen waiting for a lock `first`
    holds (of the kind `lock`); then both end."""
    holder = HeldOpen(first)
    holder.start()
    other = Worker(second)
    try:
        assert holder.done.wait(30) and holder.error is None, holder.error
        other.start()
        deadline = time.monotonic() + 10
        while not waiting_for_a_lock(lock):
            assert time.monotonic() < deadline, "the second worker did not wait for the first"
            assert other.is_alive(), "the second worker went ahead without waiting"
            time.sleep(0.02)
    finally:
        holder.release.set()
        holder.join(30)
        if other.is_alive() or other.ident is not None:
            other.join(30)
    assert holder.error is None and other.error is None, (holder.error, other.error)
