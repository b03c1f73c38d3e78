"""Values every request reads and admins seldom change, kept per process until changed.

A change moves a version number in the shared cache on (after commit), and a process
checks that version at most every HELPDESK_SETUP_CHECK_SECONDS, reading the value again
when it moved. With a cache per process (the embedded default) a change made in another
process shows within `max_seconds`, read again then whatever the version says.
"""

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class _Held(Generic[T]):
    value: T
    version: str | None
    read_at: float
    checked_at: float


class KeptPerProcess(Generic[T]):
    def __init__(self, name: str, read: Callable[[], T], *, max_seconds: float = 60) -> None:
        self._version_key = f"{name}:version"
        self._read = read
        self.max_seconds = max_seconds
        self._held: _Held[T] | None = None
        self._reading = threading.Lock()

    def current(self) -> T:
        """The value as this process last read it, read again if it changed."""
        held, now = self._held, time.monotonic()
        if held is not None and now - held.read_at < self.max_seconds:
            if now - held.checked_at < settings.HELPDESK_SETUP_CHECK_SECONDS:
                return held.value
            version = self._version()
            if version is not None and version == held.version:
                held.checked_at = now
                return held.value
        else:
            version = self._version()
        with self._reading:
            self._held = _Held(self._read(), version, now, now)
            return self._held.value

    def forget(self) -> None:
        """Read the value again at its next use (this process only)."""
        self._held = None

    def changed(self, **_: Any) -> None:
        """A signal receiver: every process reads the value again, this one now (for what
        reads within this transaction) and all once the change is committed."""
        self.forget()
        transaction.on_commit(self._new_version, robust=True)

    def _version(self) -> str | None:
        """The current version; None when the cache cannot say (then the value is read)."""
        try:
            version = cache.get(self._version_key)
            if version is None:
                cache.add(self._version_key, uuid.uuid4().hex, None)
                version = cache.get(self._version_key)
            return str(version) if version is not None else None
        except Exception:
            logger.warning("could not read %s", self._version_key, exc_info=True)
            return None

    def _new_version(self) -> None:
        self.forget()
        try:
            cache.set(self._version_key, uuid.uuid4().hex, None)
        except Exception:  # the cache being down must not cost the change; max_seconds
            logger.warning("could not move %s on", self._version_key, exc_info=True)
