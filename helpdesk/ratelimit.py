"""A fixed-window counter in the cache (shared by all processes when Redis is configured)."""

import logging

from django.core.cache import cache
from django.http import HttpRequest

from helpdesk.faults import is_transient

logger = logging.getLogger(__name__)


def client_address(request: HttpRequest) -> str:
    """The client's address: the server sets it, from a trusted proxy's header at most."""
    return str(request.META.get("REMOTE_ADDR", ""))


def count_hit(key: str, *, window_seconds: int) -> int:
    """Count one more hit for `key` in its window; returns the count including this one.

    A limit must not turn people away while the cache is down (a customer's request, a
    staff member's reset link are worth more than the limit): an outage counts nothing
    (0, logged), at every door alike."""
    try:
        return _count(key, window_seconds=window_seconds)
    except Exception as error:
        if not is_transient(error):
            raise
        logger.warning("rate limit %s not counted: the cache is unavailable", key.split(":")[0])
        return 0


def _count(key: str, *, window_seconds: int) -> int:
    cache.add(key, 0, timeout=window_seconds)
    try:
        count = int(cache.incr(key))
    except ValueError:  # the key expired between add and incr
        cache.set(key, 1, timeout=window_seconds)
        return 1
    if count == 1:
        # The window's first hit. Had the window ended between add and incr, Redis's INCR
        # would have started a counter that never expires, limiting the key for ever.
        cache.touch(key, window_seconds)
    return count


def noted_unless_down(key: str) -> bool:
    """Whether `key` was noted (note_unless_down) in its window; False while the cache is
    down."""
    try:
        return cache.get(key) is not None
    except Exception as error:
        if not is_transient(error):
            raise
        return False


def note_unless_down(key: str, *, window_seconds: int) -> None:
    """Note `key` for its window (not at all while the cache is down)."""
    try:
        cache.set(key, 1, timeout=window_seconds)
    except Exception as error:
        if not is_transient(error):
            raise


# Links sent by email on request (the portal's sign-in links, the staff's password reset):
# at most this many for one address, and asked from one client, in the window.
LINK_WINDOW_SECONDS = 15 * 60
LINKS_PER_ADDRESS = 3
LINKS_PER_CLIENT = 20


def too_many_links(kind: str, request: HttpRequest, email: str) -> bool:
    """Count one more request for a link of `kind` mailed to `email`; whether it is over
    the limit (whether or not anyone has the address: the answer tells nothing)."""
    by_address = count_hit(f"{kind}:email:{email.lower()}", window_seconds=LINK_WINDOW_SECONDS)
    by_client = count_hit(
        f"{kind}:ip:{client_address(request)}", window_seconds=LINK_WINDOW_SECONDS
    )
    return by_address > LINKS_PER_ADDRESS or by_client > LINKS_PER_CLIENT
