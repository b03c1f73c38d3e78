"""Text read straight from a request: typed into a search box, or sent in a JSON frame."""

from typing import Any


def search_text(value: str, limit: int = 200) -> str:
    """The words to search for: trimmed, at most `limit` characters, and without NUL
    characters, which PostgreSQL cannot store or compare (a query with one ended in a server
    error). Django's and DRF's form fields refuse them already; this is for raw parameters."""
    return value.replace("\x00", "").strip()[:limit]


def without_nul(value: Any) -> Any:
    """A decoded JSON value with NUL characters dropped from every string in it (keys
    too): PostgreSQL cannot store them, and no person types one."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {without_nul(key): without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    return value
