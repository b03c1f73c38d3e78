"""Markdown in, safe HTML out: rendered with markdown-it, then sanitised like customer HTML."""

import html
import re

import nh3
from markdown_it import MarkdownIt

from tickets.html import sanitize_html

_renderer = MarkdownIt("commonmark").enable("table").enable("strikethrough")


def render_markdown(text: str) -> str:
    if not text:
        return ""
    return sanitize_html(_renderer.render(text))


# Where a block of HTML ends, plain text goes on after a line break, not glued to it.
_BLOCK_END = re.compile(r"</(p|li|h[1-6]|tr|td|th|pre|blockquote|div)>|<br\s*/?>", re.IGNORECASE)


def plain_text(rendered: str) -> str:
    """The text a reader sees of rendered (safe) HTML, without markup or Markdown syntax."""
    text = nh3.clean(_BLOCK_END.sub(lambda m: m.group() + "\n", rendered), tags=set())
    lines = (" ".join(line.split()) for line in html.unescape(text).splitlines())
    return "\n".join(line for line in lines if line)
