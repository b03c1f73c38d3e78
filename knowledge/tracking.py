"""Signed references to a search, carried in links and forms so a click can be credited.

Signed so that nobody can mark other people's searches as clicked by guessing ids.
"""

from helpdesk.signed import SignedId

_SEARCHES = SignedId("knowledge.search-log")


def search_token(search_id: int) -> str:
    return _SEARCHES.token(search_id)


def search_id_from_token(token: str | None) -> int | None:
    return _SEARCHES.value(token)
