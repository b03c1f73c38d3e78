"""Text typed into a search box, read straight from a request."""


def search_text(value: str, limit: int = 200) -> str:
    """The words to search for: trimmed, at most `limit` characters, and without NUL
    characters, which PostgreSQL cannot store or compare (a query with one ended in a server
    error). Django's and DRF's form fields refuse them already; this is for raw parameters."""
    return value.replace("\x00", "").strip()[:limit]
