"""How the reports show their values: minutes as hours and minutes, rates as percentages,
and each count as a link to the tickets behind it."""

from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from tickets.reporting.pages import Cell, Column

register = template.Library()


@register.filter
def report_value(value: Any, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "minutes":
        return duration(int(value))
    if kind == "date" and isinstance(value, datetime):
        return f"{timezone.localtime(value):%d %b %Y %H:%M}"
    if kind == "count" and isinstance(value, int):
        return f"{value:,}"
    return str(value)


def duration(minutes: int) -> str:
    """Business minutes as people say them: 45 min, 3 h 05 min, 130 h."""
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h" if hours >= 100 or not rest else f"{hours} h {rest:02d} min"


@register.simple_tag
def report_cells(row: list[Cell], columns: list[Column]) -> SafeString:
    """A table row's cells: the first is its header; counts link to their tickets."""
    cells = []
    for index, (cell, column) in enumerate(zip(row, columns, strict=True)):
        shown = report_value(cell.value, column.kind)
        inner = format_html('<a href="{}">{}</a>', cell.link, shown) if cell.link else shown
        tag = "th" if index == 0 else "td"
        scope = ' scope="row"' if index == 0 else ""
        cells.append((tag, SafeString(scope), column.kind, inner, tag))
    return format_html_join("", '<{}{} class="{}">{}</{}>', cells)
