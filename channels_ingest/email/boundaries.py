"""The email package's MIME boundary lines matched without compiling a regular expression
for each boundary, as Python 3.13 does.

On Python 3.11 and 3.12 `email.feedparser` compiles
``(?P<sep>--BOUNDARY)(?P<end>--)?(?P<ws>[ \\t]*)(?P<linesep>\\r\\n|\\r|\\n)?$`` for every
multipart part it reads. Mail clients write a new boundary for each message, so the `re`
module's cache never hits, and compiling (done in Python by the `re` package) was about a
tenth of the CPU time of reading a multipart message. Python 3.13 checks the separator with
`str.startswith` and the rest with one expression compiled once; `install()` gives the older
parser the same, by handing its module a `re` whose `compile` recognises that one pattern
and passes every other one to `re.compile`. The parser uses only the `end` and `linesep`
groups of the match, which the shorter expression has too.
"""

import re
import sys
from email import feedparser
from typing import Any

_HEAD = "(?P<sep>"
_TAIL = r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$"
_AFTER_SEPARATOR = re.compile(r"(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$")
_ESCAPED_CHARACTER = re.compile(r"\\(.)", re.DOTALL)


class BoundaryMatcher:
    """`match(line)` as the compiled boundary expression gives it."""

    def __init__(self, separator: str) -> None:
        self.separator = separator

    def match(self, line: str) -> re.Match[str] | None:
        if not line.startswith(self.separator):
            return None
        return _AFTER_SEPARATOR.match(line, len(self.separator))


def boundary_separator(pattern: object) -> str | None:
    """The separator ("--" and the boundary) if `pattern` is feedparser's boundary pattern."""
    if not (isinstance(pattern, str) and pattern.startswith(_HEAD) and pattern.endswith(_TAIL)):
        return None
    escaped = pattern[len(_HEAD) : -len(_TAIL)]
    separator = _ESCAPED_CHARACTER.sub(r"\1", escaped)
    return separator if re.escape(separator) == escaped else None


class _FeedparserRe:
    """The `re` module as email.feedparser sees it."""

    def __getattr__(self, name: str) -> Any:
        return getattr(re, name)

    def compile(self, pattern: Any, flags: int = 0) -> Any:
        separator = None if flags else boundary_separator(pattern)
        if separator is None:
            return re.compile(pattern, flags)
        return BoundaryMatcher(separator)


def install() -> None:
    """Once per process, before messages are parsed; nothing to do from Python 3.13 on."""
    module = vars(feedparser)  # its `re`, which typeshed does not declare
    if sys.version_info < (3, 13) and module["re"] is re:
        module["re"] = _FeedparserRe()


def installed() -> bool:
    return isinstance(vars(feedparser)["re"], _FeedparserRe)
