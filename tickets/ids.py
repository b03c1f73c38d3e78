"""Numbers people type or post (ids, positions): read only from ASCII digits ("²" is a
digit to str.isdigit, not to int()) and within a 64-bit column's range (the embedded
default, SQLite, cannot even compare a larger one), so a forged value is refused like an
unknown one, never a server error."""

MAX_ID = 2**63 - 1


def whole_number(text: object) -> int | None:
    """The number `text` spells (0 up to MAX_ID; spaces around are allowed), else None."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ID)):
        return None
    number = int(text)
    return number if number <= MAX_ID else None


def id_from(text: object) -> int | None:
    """The row id `text` names ("42"), else None: ids start at 1."""
    number = whole_number(text)
    return number if number else None
