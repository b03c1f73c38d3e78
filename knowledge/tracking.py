"""Signed references to a search, carried in links and forms so a click can be credited.

Signed so that nobody can mark other people's searches as clicked by guessing ids.
"""

from django.core import signing

_SALT = "knowledge.search-log"


def search_token(search_id: int) -> str:
    return signing.dumps(search_id, salt=_SALT)


def search_id_from_token(token: str | None) -> int | None:
    if not token:
        return None
    try:
        value = signing.loads(token, salt=_SALT)
    except signing.BadSignature:
        return None
    return value if isinstance(value, int) else None
