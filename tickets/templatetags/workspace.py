from typing import Any

from django import template

from tickets.models import EventKind, TicketEvent, TicketStatus

register = template.Library()


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key, "")


_STATUS_LABELS = dict(TicketStatus.choices)


def _status(value: object) -> str:
    return str(_STATUS_LABELS.get(str(value), value))


@register.filter
def event_summary(event: TicketEvent) -> str:
    """One line saying what happened, from the event's data."""
    data = event.data or {}
    kind = event.kind
    if kind == EventKind.STATUS_CHANGED:
        return f"Status: {_status(data.get('from'))} → {_status(data.get('to'))}"
    if kind in (EventKind.ESCALATED, EventKind.DEESCALATED):
        return f"Tier {data.get('from')} → tier {data.get('to')}: {data.get('reason', '')}"
    if kind == EventKind.ASSIGNED:
        return f"Assigned to {data.get('to_name', 'an agent')}"
    if kind == EventKind.PRIORITY_CHANGED:
        return f"Priority: {data.get('from')} → {data.get('to')}"
    if kind == EventKind.TAGS_CHANGED:
        return f"Tags: {', '.join(data.get('to', [])) or 'none'}"
    if kind == EventKind.RATED:
        return f"Customer rated {data.get('rating')}/5" + (
            f": “{data['comment']}”" if data.get("comment") else ""
        )
    if kind == EventKind.MACRO_APPLIED:
        return f"Canned response “{data.get('macro', '')}”"
    return str(event.get_kind_display())
