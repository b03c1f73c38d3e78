"""Sessions kept in the cache as well as the database (Django's cached_db), so that a
signed-in page does not read its session row each time, and still read from the database
while the cache is down.

Django's own store already carries on when writing to the cache fails; reading fails with
it. Removing a session (signing out) still fails when the cache cannot forget it: a copy
left there would keep the visitor signed in."""

import logging

from django.contrib.sessions.backends import cached_db
from django.contrib.sessions.backends.db import SessionStore as DatabaseStore

logger = logging.getLogger("django.contrib.sessions")


class SessionStore(cached_db.SessionStore):
    def load(self) -> dict:
        try:
            return super().load()
        except Exception:
            logger.warning("Session cache unavailable; reading the session from the database")
            return DatabaseStore.load(self)

    def exists(self, session_key: str) -> bool:
        try:
            return super().exists(session_key)
        except Exception:
            return DatabaseStore.exists(self, session_key)
