"""Filters and tags of the agent workspace.

The queue's rows and the ticket's timeline are rendered here, in Python, rather than in
the templates: they repeat 50 and hundreds of times a page, and the template language
costs some ten times more per value than format_html (docs/benchmarks.md). The markup is
the templates' own, as it was.
"""

from datetime import datetime
from typing import Any

from django import template
from django.template.defaultfilters import filesizeformat, linebreaksbr
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timesince, timeuntil

from tickets.models import EventKind, Message, MessageKind, Ticket, TicketEvent, TicketStatus

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


def _person(user: Any) -> str:
    return str(user.get_full_name() or user.username)


def _day_and_time(moment: datetime) -> str:
    """The `date:"j M H:i"` filter, in local time: "5 Jan 09:30"."""
    local = timezone.localtime(moment)
    return f"{local.day} {MONTHS_3[local.month].title()} {local:%H:%M}"


def _iso(moment: datetime) -> str:
    """The `date:"c"` filter, in local time."""
    return timezone.localtime(moment).isoformat()


@register.simple_tag
def queue_row(ticket: Ticket, now: datetime) -> SafeString:
    """One row of a queue (agent/queue.html)."""
    tags = format_html_join(
        "", ' <span class="tag">{}</span>', ((t.name,) for t in ticket.tags.all())
    )
    assignee = _person(ticket.assignee) if ticket.assignee else "—"
    due = ticket.sla_due_at
    deadline: str
    if due is None:
        deadline = mark_safe("—")
    elif due < now:
        deadline = format_html(
            '<time datetime="{}" class="overdue">overdue {}</time>', _iso(due), timesince(due, now)
        )
    else:
        deadline = format_html(
            '<time datetime="{}" class="">in {}</time>', _iso(due), timeuntil(due, now)
        )
    return format_html(
        '<tr data-ticket="{pk}">'
        '<td><input type="checkbox" name="tickets" value="{pk}" aria-label="Select {ref}"></td>'
        '<td><a href="{url}" class="ticket-link"><span class="ref">{ref}</span> {subject}</a>'
        ' <span class="channel">{channel}</span>{tags}</td>'
        "<td>{customer}</td>"
        '<td><span class="status status-{status}">{status_label}</span></td>'
        '<td><span class="priority priority-{priority}">{priority_label}</span></td>'
        "<td>{tier}</td><td>{assignee}</td><td>{deadline}</td></tr>\n",
        pk=ticket.pk,
        ref=ticket.reference,
        url=reverse("agent:ticket", args=[ticket.pk]),
        subject=ticket.subject,
        channel=ticket.get_channel_display(),
        tags=tags,
        customer=ticket.customer.name or "—",
        status=ticket.status,
        status_label=ticket.get_status_display(),
        priority=ticket.priority,
        priority_label=ticket.get_priority_display(),
        tier=ticket.tier.level,
        assignee=assignee,
        deadline=deadline,
    )


@register.simple_tag
def timeline_item(item: dict[str, Any]) -> SafeString:
    """One message or event of a ticket's timeline (agent/ticket.html)."""
    if item["kind"] == "message":
        return _message_item(item["message"])
    return _event_item(item["event"])


def _message_item(m: Message) -> SafeString:
    if m.kind == MessageKind.INBOUND:
        author = (m.author_customer.name if m.author_customer else "") or m.sender or "Customer"
    elif m.author_user:
        author = _person(m.author_user)
    else:
        author = "Help desk (automatic)"
    delivery: str = ""
    if m.delivery_status == "failed":
        delivery = format_html(' · <span class="failed">not delivered: {}</span>', m.delivery_error)
    elif m.delivery_status:
        delivery = format_html(" · {}", m.get_delivery_status_display().lower())
    original: str = ""
    if m.original:
        url = reverse("api:message-original", args=[m.pk])
        original = format_html(' · <a href="{}">original</a>', url)
    call = getattr(m, "call", None)  # absent: RelatedObjectDoesNotExist, an AttributeError
    call_line: str = ""
    if call is not None:
        call_line = format_html(
            '<p class="call">{} call with {}, {} s</p>',
            call.get_direction_display(),
            call.phone_number,
            call.duration_seconds,
        )
    # The ticket page reads them as a list (selectors.ticket_detail(attachment_lists=True)).
    attachments = getattr(m, "attachment_list", None)
    if attachments is None:
        attachments = list(m.attachments.all())
    files: str = ""
    if attachments:
        files = format_html(
            '<ul class="attachments">{}</ul>',
            format_html_join(
                "",
                '<li><a href="{}">{}</a> ({})</li>',
                (
                    (
                        reverse("api:attachment-download", args=[a.pk]),
                        a.filename,
                        filesizeformat(a.size),
                    )
                    for a in attachments
                ),
            ),
        )
    return format_html(
        '<li class="msg msg-{kind}" id="message-{pk}">\n'
        "      <header><strong>{author}</strong>\n"
        '        <span class="meta">{channel} · <time datetime="{iso}">{when}</time>\n'
        "        {delivery}\n"
        "        {original}</span></header>\n"
        "      {call}\n"
        '      <div class="body">{body}</div>\n'
        "      {files}\n"
        "    </li>",
        kind=m.kind,
        pk=m.pk,
        author=author,
        channel="internal note" if m.kind == MessageKind.NOTE else m.get_channel_display(),
        iso=_iso(m.created_at),
        when=_day_and_time(m.created_at),
        delivery=delivery,
        original=original,
        call=call_line,
        body=linebreaksbr(m.body_text, autoescape=True),
        files=files,
    )


def _event_item(e: TicketEvent) -> SafeString:
    handoff: str = ""
    if e.kind in (EventKind.ESCALATED, EventKind.DEESCALATED):
        note = (e.data or {}).get("handoff_note", "")
        handoff = format_html(
            '<blockquote class="handoff">{}</blockquote>', linebreaksbr(note, autoescape=True)
        )
    return format_html(
        '<li class="event event-{kind}"><span>{summary}</span>\n'
        "      {handoff}\n"
        '      <span class="meta">{who} · {when}</span></li>',
        kind=e.kind,
        summary=event_summary(e),
        handoff=handoff,
        who=_person(e.actor) if e.actor else e.actor_label,
        when=_day_and_time(e.created_at),
    )
