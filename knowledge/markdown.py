"""Markdown in, safe HTML out: rendered with markdown-it, then sanitised like customer HTML."""

from markdown_it import MarkdownIt

from tickets.html import sanitize_html

_renderer = MarkdownIt("commonmark").enable("table").enable("strikethrough")


def render_markdown(text: str) -> str:
    if not text:
        return ""
    return sanitize_html(_renderer.render(text))
