"""Each report's definitions, read from docs/reports.md: the one place they are written,
shown on the report's page under "What these numbers mean"."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from django.conf import settings

DOCUMENT = Path(settings.BASE_DIR) / "docs" / "reports.md"
_ROW = re.compile(r"^\|(?P<term>[^|]+)\|(?P<text>.+)\|\s*$")
_MARKUP = re.compile(r"\*\*|`")


def definitions(section: str) -> list[tuple[str, str]]:
    """The (number, definition) rows of the section's table; none if the file is missing."""
    return _sections().get(section, [])


@cache
def _sections() -> dict[str, list[tuple[str, str]]]:
    try:
        text = DOCUMENT.read_text(encoding="utf-8")
    except OSError:
        return {}
    found: dict[str, list[tuple[str, str]]] = {}
    rows: list[tuple[str, str]] = []
    for line in text.splitlines():
        if line.startswith("## "):
            rows = found.setdefault(line[3:].strip(), [])
            continue
        match = _ROW.match(line)
        if match is None:
            continue
        term, body = match["term"].strip(), match["text"].strip()
        if term in ("Number", "---") or set(term) <= {"-", " "}:
            continue
        rows.append((_MARKUP.sub("", term), _MARKUP.sub("", body)))
    return found
