"""Search snippets: a passage of the article's plain text around the query's words.

The passage starts at a sentence (or a word) and ends at a word boundary, is HTML-escaped,
and marks the words whose terms the query holds: its words, their synonyms, the words its
typos meant.
"""

import html
import re

from knowledge.models import Article
from knowledge.search.analysis import Word, words

SNIPPET_CHARACTERS = 200
# How far back from the first marked word a passage may start, to start at its sentence.
LEAD_CHARACTERS = 80
_SENTENCE_START = re.compile(r"(?:^|[.!?:]\s+|\n)(?=\S)")


def snippet(
    article: Article, marked: set[str], *, lang: str | None = None, width: int = SNIPPET_CHARACTERS
) -> str:
    """`lang`: the Snowball language of the text shown (a translation's), if not the
    knowledge base's; `marked` holds terms stemmed in it."""
    text = article.body_text or article.summary
    marks = _marks(words(text, lang), marked)
    start = _start(text, marks, width)
    end = _end(text, start + width)
    parts = ["… " if start > 0 else ""]
    cursor = start
    for word in marks:
        if word.start < cursor or word.end > end:
            continue
        parts += [html.escape(text[cursor : word.start]), _mark(text[word.start : word.end])]
        cursor = word.end
    parts.append(html.escape(text[cursor:end]))
    if end < len(text):
        parts.append(" …")
    return " ".join("".join(parts).split())


def _mark(word: str) -> str:
    return f"<mark>{html.escape(word)}</mark>"


def _marks(found: list[Word], marked: set[str]) -> list[Word]:
    """The marked words in order, without the parts of a joined word marked whole."""
    chosen: list[Word] = []
    for word in sorted((w for w in found if w.term in marked), key=lambda w: (w.start, -w.end)):
        if not chosen or word.start >= chosen[-1].end:
            chosen.append(word)
    return chosen


def _start(text: str, marks: list[Word], width: int) -> int:
    """Where the passage with the most marked words begins."""
    if not marks:
        return 0
    best, best_count = marks[0], 0
    for index, first in enumerate(marks):
        count = sum(1 for word in marks[index:] if word.end <= first.start + width * 0.8)
        if count > best_count:
            best, best_count = first, count
    lead = max(0, best.start - LEAD_CHARACTERS)
    sentences = [m.end() for m in _SENTENCE_START.finditer(text, lead, best.start + 1)]
    if sentences:
        return sentences[-1] if sentences[-1] <= best.start else best.start
    space = text.find(" ", max(0, best.start - LEAD_CHARACTERS // 2), best.start)
    return space + 1 if space >= 0 else best.start


def _end(text: str, limit: int) -> int:
    if limit >= len(text):
        return len(text)
    space = text.rfind(" ", 0, limit)
    return space if space > 0 else limit
