"""Filters and tags of the agent workspace.

The queue's rows and the ticket's timeline are rendered here, in Python, rather than in
the templates: they repeat 50 and hundreds of times a page, and the template language
costs some ten times more per value than an f-string (docs/benchmarks.md). The markup is
the templates' own, as it was; every value is escaped as autoescape would (_e, _lines).
"""

import html
import re
from datetime import datetime
from typing import Any

from django import template
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.dates import MONTHS_3
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext as _

from helpdesk import catalogue
from tickets import saved_views
from tickets.fields import selectors as field_selectors
from tickets.fields.values import as_value
from tickets.models import (
    CallDirection,
    Channel,
    DeliveryStatus,
    EventKind,
    MessageKind,
    Priority,
    Ticket,
    TicketField,
    TicketStatus,
    Undeliverable,
)

register = template.Library()


@register.simple_tag
def script_catalogue_url(url_name: str = "agent:javascript-catalog-language") -> str:
    """The URL of the scripts' strings in the page's language (kept by browsers): the
    workspace's, or the customer pages' (`"javascript-catalog-language"`)."""
    return catalogue.catalogue_url(catalogue.page_language(), url_name)


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key, "")


_STATUS_LABELS = dict(TicketStatus.choices)
_EVENT_LABELS = dict(EventKind.choices)
_DELIVERY_LABELS = dict(DeliveryStatus.choices)
_DIRECTION_LABELS = dict(CallDirection.choices)


def _status(value: object) -> str:
    return str(_STATUS_LABELS.get(str(value), value))


def _event_summary(kind: str, data: dict[str, Any]) -> str:
    """One line saying what happened, from the event's data."""
    if kind == EventKind.STATUS_CHANGED:
        return _("Status: %(from)s → %(to)s") % {
            "from": _status(data.get("from")),
            "to": _status(data.get("to")),
        }
    if kind in (EventKind.ESCALATED, EventKind.DEESCALATED):
        return _("Tier %(from)s → tier %(to)s: %(reason)s") % {
            "from": data.get("from"),
            "to": data.get("to"),
            "reason": data.get("reason", ""),
        }
    if kind == EventKind.ASSIGNED:
        return _("Assigned to %(name)s") % {"name": data.get("to_name") or _("an agent")}
    if kind == EventKind.PRIORITY_CHANGED:
        return _("Priority: %(from)s → %(to)s") % {
            "from": _PRIORITY_LABELS.get(str(data.get("from")), data.get("from")),
            "to": _PRIORITY_LABELS.get(str(data.get("to")), data.get("to")),
        }
    if kind == EventKind.TAGS_CHANGED:
        return _("Tags: %(tags)s") % {"tags": ", ".join(data.get("to", [])) or _("none")}
    if kind == EventKind.RATED:
        return _("Customer rated %(rating)s/5") % {"rating": data.get("rating")} + (
            f": “{data['comment']}”" if data.get("comment") else ""
        )
    if kind == EventKind.RULE_FIRED:
        return _("Acted: %(actions)s") % {"actions": "; ".join(data.get("actions", []))}
    if kind == EventKind.RULE_STOPPED:
        if data.get("reason") == "loop":
            return _("Stopped: a loop between rules")
        return _("Stopped: too many rules in a row")
    if kind == EventKind.RULE_FAILED:
        return _("Could not act: %(error)s") % {"error": data.get("error", "")}
    if kind == EventKind.PRODUCT_SET:
        return _("About: %(what)s") % {"what": data.get("to") or _("nothing in particular")}
    if kind in (EventKind.PROBLEM_LINKED, EventKind.PROBLEM_UNLINKED):
        said = (
            _("Linked to problem %(reference)s: %(title)s")
            if kind == EventKind.PROBLEM_LINKED
            else _("Unlinked from problem %(reference)s: %(title)s")
        )
        return said % {"reference": data.get("problem_ref", ""), "title": data.get("title", "")}
    if kind == EventKind.PROBLEM_SOLVED:
        if data.get("unanswered"):
            return _("Problem %(reference)s solved, but not answered here: %(why)s") % {
                "reference": data.get("problem_ref", ""),
                "why": data["unanswered"],
            }
        return _("Problem %(reference)s solved: the customer was answered") % {
            "reference": data.get("problem_ref", "")
        }
    if kind in (EventKind.TICKET_LINKED, EventKind.TICKET_UNLINKED):
        said = (
            _("Related to %(reference)s")
            if kind == EventKind.TICKET_LINKED
            else _("No longer related to %(reference)s")
        )
        return said % {"reference": data.get("other_ref", "")}
    if kind in (EventKind.SIDE_STARTED, EventKind.SIDE_SENT):
        return _("Side conversation “%(subject)s”: wrote to %(to)s") % {
            "subject": data.get("subject", ""),
            "to": data.get("to", ""),
        }
    if kind == EventKind.SIDE_RECEIVED:
        return _("Side conversation “%(subject)s”: reply received") % {
            "subject": data.get("subject", "")
        }
    if kind == EventKind.SIDE_CLOSED:
        return _("Side conversation “%(subject)s” closed") % {"subject": data.get("subject", "")}
    if kind == EventKind.NOTE_ADDED and data.get("mentions"):
        names = ", ".join(str(m.get("name", "")) for m in data["mentions"])
        return _("Mentioned %(names)s") % {"names": names}
    if kind == EventKind.MACRO_APPLIED:
        return _("Canned response “%(name)s”") % {"name": data.get("macro", "")}
    if kind == EventKind.FIELDS_CHANGED:
        return _fields_summary(data)
    if kind in _ADDRESS_EVENTS:
        return _address_summary(kind, data)
    if kind == EventKind.DELIVERY_FAILED and data.get("recipient"):
        return _("Not delivered to %(recipient)s, who had a copy: %(reason)s") % {
            "recipient": data["recipient"],
            "reason": data.get("reason", ""),
        }
    if kind == EventKind.DELIVERY_FAILED and (data.get("reason") or data.get("error")):
        return _("Not delivered: %(reason)s") % {"reason": data.get("reason") or data["error"]}
    return str(_EVENT_LABELS.get(kind, kind))


_ADDRESS_EVENTS = (
    EventKind.CONTACT_UNDELIVERABLE,
    EventKind.CONTACT_DELIVERABLE,
    EventKind.DELIVERY_HELD,
)


def _address_summary(kind: str, data: dict[str, Any]) -> str:
    """An address flagged undeliverable, cleared, or an automatic message held for it."""
    address = data.get("address", "")
    if not address:  # an hourly limit's hold; or the customer was erased since
        return str(_EVENT_LABELS.get(kind, kind))
    if kind == EventKind.DELIVERY_HELD:
        return _("Automatic message not sent: %(why)s") % {
            "why": undeliverable_flag(data.get("flag", ""), address, data.get("since"))
        }
    if kind == EventKind.CONTACT_DELIVERABLE and data.get("consent"):
        return _("%(number)s texted START: texts go to it again") % {"number": address}
    if kind == EventKind.CONTACT_DELIVERABLE and data.get("cleared"):
        return _("%(address)s works again, an agent said: automatic notices go to it again") % {
            "address": address
        }
    if kind == EventKind.CONTACT_DELIVERABLE:
        return _("%(address)s was delivered to again: automatic notices go to it again") % {
            "address": address
        }
    if data.get("flag") == Undeliverable.OPTED_OUT:
        return _("%(number)s texted STOP: no texts go to it, replies neither") % {"number": address}
    if data.get("flag") == Undeliverable.COMPLAINED:
        said = _("%(address)s marked our email as spam: automatic notices to it stop")
    else:
        said = _("%(address)s bounced: automatic notices to it stop")
    reason = data.get("reason", "")
    return said % {"address": address} + (f" ({reason})" if reason else "")


@register.simple_tag
def undeliverable_flag(flag: str, address: str, since: datetime | str | None) -> str:
    """ "x bounced on 6 Dec 2026 10:00" (or marked our email as spam), for agents."""
    if isinstance(since, str):
        since = parse_datetime(since) if since else None
    when = formats.date_format(timezone.localtime(since), "j M Y H:i") if since else ""
    if flag == Undeliverable.OPTED_OUT:
        return _("%(number)s replied STOP on %(date)s") % {"number": address, "date": when}
    if flag == Undeliverable.COMPLAINED:
        return _("%(address)s marked our email as spam on %(date)s") % {
            "address": address,
            "date": when,
        }
    return _("%(address)s bounced on %(date)s") % {"address": address, "date": when}


def _field_value(value: object) -> str:
    if value in (None, [], ""):
        return _("empty")
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def _fields_summary(data: dict[str, Any]) -> str:
    parts = [
        f"{change.get('label') or change.get('key')}: {_field_value(change.get('from'))} → "
        f"{_field_value(change.get('to'))}"
        for change in data.get("changes") or []
    ]
    if data.get("form"):
        return _("Fields (form “%(form)s”): %(changes)s") % {
            "form": data["form"],
            "changes": "; ".join(parts),
        }
    return _("Fields: %(changes)s") % {"changes": "; ".join(parts)}


def _e(value: object) -> str:
    """Escaped for HTML text and attributes, as the templates' autoescape does."""
    return html.escape(str(value))


def _lines(text: str) -> str:
    """The `linebreaksbr` filter: escaped, each line break a <br>."""
    return _e(text).replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")


def _with_mentions(body: str, m: dict[str, Any]) -> str:
    """A note's escaped body with the colleagues it mentioned (its event says whom)
    highlighted: @username, as typed, in a <mark> naming them."""
    for mention in m.get("mentions") or ():
        username = str(mention.get("username", ""))
        if not username:
            continue
        pattern = re.compile(rf"(?<![\w.+-])@({re.escape(_e(username))})(?![\w])", re.I)
        title = _e(mention.get("name", ""))
        body = pattern.sub(rf'<mark class="mention" title="{_regex_safe(title)}">@\1</mark>', body)
    return body


def _regex_safe(text: str) -> str:
    """Text put in a regex replacement as itself (its backslashes doubled)."""
    return text.replace("\\", "\\\\")


def _person(user: Any) -> str:
    return str(user.get_full_name() or user.username)


class _Dates:
    """Dates as the templates' `date` filter writes them, in local time; the month names
    looked up once per page."""

    def __init__(self) -> None:
        self.zone = timezone.get_current_timezone()
        self._months: dict[int, str] = {}

    def day_and_time(self, moment: datetime) -> str:
        """`date:"j M H:i"`: "5 Jan 09:30"."""
        local = moment.astimezone(self.zone)
        if not self._months:
            self._months = {number: str(name).title() for number, name in MONTHS_3.items()}
        return f"{local.day} {self._months[local.month]} {local:%H:%M}"

    def iso(self, moment: datetime) -> str:
        """`date:"c"`."""
        return moment.astimezone(self.zone).isoformat()


_CHANNEL_LABELS = dict(Channel.choices)
_PRIORITY_LABELS = dict(Priority.choices)


@register.simple_tag
def queue_rows(tickets: list[Ticket], now: datetime, selectable: bool = True) -> SafeString:
    """The rows of a queue's table (agent/queue.html), or the row saying it is empty.
    `selectable`: with the bulk actions' tick boxes (for those who may use them)."""
    if not tickets:
        said = _e(_("No tickets here. Nice work."))
        return mark_safe(f'<tr><td colspan="8" class="empty">{said}</td></tr>')  # noqa: S308 - escaped
    dates = _Dates()
    url = _Address("agent:ticket")
    return mark_safe(  # noqa: S308 - escaped in _queue_row
        "".join(_queue_row(ticket, now, dates, url, selectable) for ticket in tickets)
    )


def _tick(ticket: Ticket, ref: str, selectable: bool) -> str:
    if not selectable:
        return "<td></td>"
    return (
        f'<td><input type="checkbox" name="tickets" value="{ticket.pk}" '
        f'aria-label="{_e(_("Select %(reference)s") % {"reference": ref})}"></td>'
    )


def _deadline(due: datetime | None, now: datetime, dates: _Dates) -> str:
    if due is None:
        return "—"
    if due < now:
        return (
            f'<time datetime="{dates.iso(due)}" class="overdue">'
            f"{_e(_('overdue %(late)s') % {'late': timesince(due, now)})}</time>"
        )
    soon = _e(_("in %(left)s") % {"left": timeuntil(due, now)})
    return f'<time datetime="{dates.iso(due)}" class="">{soon}</time>'


def _cell(
    key: str,
    ticket: Ticket,
    now: datetime,
    dates: _Dates,
    url: "_Address",
    custom: dict[str, TicketField],
) -> str:
    """One cell of a saved view's row (tickets.saved_views.COLUMNS, or a custom field's
    column: `custom`, the shown ones' fields by column key)."""
    ref = _e(ticket.reference)
    if key == "reference":
        return (
            f'<td><a href="{_e(url(ticket.pk))}" class="ticket-link"><span class="ref">{ref}'
            f"</span> {_e(ticket.subject)}</a></td>"
        )
    if key == "subject":
        return f"<td>{_e(ticket.subject)}</td>"
    if key == "customer":
        return f"<td>{_e(ticket.customer.name or '—')}</td>"
    if key == "status":
        status = ticket.status
        return (
            f'<td><span class="status status-{_e(status)}">'
            f"{_e(_STATUS_LABELS.get(status, status))}</span></td>"
        )
    if key == "priority":
        priority = ticket.priority
        return (
            f'<td><span class="priority priority-{_e(priority)}">'
            f"{_e(_PRIORITY_LABELS.get(priority, priority))}</span></td>"
        )
    if key == "tier":
        return f"<td>{ticket.tier.level}</td>"
    if key == "assignee":
        return f"<td>{_e(_person(ticket.assignee)) if ticket.assignee else '—'}</td>"
    if key == "channel":
        return f"<td>{_e(_CHANNEL_LABELS.get(ticket.channel, ticket.channel))}</td>"
    if key in ("created", "updated"):
        moment = ticket.created_at if key == "created" else ticket.updated_at
        return f'<td><time datetime="{dates.iso(moment)}">{dates.day_and_time(moment)}</time></td>'
    if key == "due":
        return f"<td>{_deadline(ticket.sla_due_at, now, dates)}</td>"
    if key == "product":
        return f"<td>{_e(ticket.product.name) if ticket.product_id else '—'}</td>"  # type: ignore[union-attr]
    field = custom.get(key)
    if field is not None:  # its values read by saved_views.attach_field_values
        rows = getattr(ticket, "column_values", {}).get(field.pk, [])
        return f"<td>{_e(field_selectors.display(field, as_value(field.kind, rows)))}</td>"
    return "<td></td>"


@register.simple_tag
def view_rows(
    tickets: list[Ticket], columns: list[str], now: datetime, selectable: bool = True
) -> SafeString:
    """The rows of a saved view's table: its columns, in its order."""
    if not tickets:
        span = len(columns) + 1
        said = _e(_("No tickets here."))
        return mark_safe(f'<tr><td colspan="{span}" class="empty">{said}</td></tr>')  # noqa: S308 - escaped
    dates = _Dates()
    url = _Address("agent:ticket")
    custom = {
        key: column.field
        for key in columns
        if (column := saved_views.column_for(key)) is not None and column.field is not None
    }
    rows = []
    for ticket in tickets:
        cells = "".join(_cell(key, ticket, now, dates, url, custom) for key in columns)
        tick = _tick(ticket, _e(ticket.reference), selectable)
        if "reference" not in columns:  # the ticket is opened from its first cell
            cells = (
                f'<td><a href="{_e(url(ticket.pk))}" class="ticket-link">'
                f'<span class="ref">{_e(ticket.reference)}</span></a></td>'
            ) + cells
        rows.append(f'<tr data-ticket="{ticket.pk}">{tick}{cells}</tr>\n')
    return mark_safe("".join(rows))  # noqa: S308 - every value escaped in _cell


def _queue_row(
    ticket: Ticket, now: datetime, dates: _Dates, url: "_Address", selectable: bool = True
) -> str:
    tag_list = getattr(ticket, "tag_list", None)  # prefetched by queues.queue_tickets
    tags = "".join(
        f' <span class="tag">{_e(tag.name)}</span>'
        for tag in (ticket.tags.all() if tag_list is None else tag_list)
    )
    fields = "".join(
        f' <span class="custom-field">{_e(item.label)}: {_e(item.text)}</span>'
        for item in getattr(ticket, "custom_fields_shown", ())
    )
    deadline = _deadline(ticket.sla_due_at, now, dates)
    ref = _e(ticket.reference)
    status, priority = ticket.status, ticket.priority
    return (
        f'<tr data-ticket="{ticket.pk}">{_tick(ticket, ref, selectable)}'
        f'<td><a href="{_e(url(ticket.pk))}" class="ticket-link">'
        f'<span class="ref">{ref}</span> {_e(ticket.subject)}</a>'
        f' <span class="channel">{_e(_CHANNEL_LABELS.get(ticket.channel, ticket.channel))}</span>'
        f"{tags}{fields}</td><td>{_e(ticket.customer.name or '—')}</td>"
        f'<td><span class="status status-{_e(status)}">{_e(_STATUS_LABELS.get(status, status))}'
        f'</span></td><td><span class="priority priority-{_e(priority)}">'
        f"{_e(_PRIORITY_LABELS.get(priority, priority))}</span></td>"
        f"<td>{ticket.tier.level}</td>"
        f"<td>{_e(_person(ticket.assignee)) if ticket.assignee else '—'}</td>"
        f"<td>{deadline}</td></tr>\n"
    )


@register.simple_tag
def timeline(items: list[dict[str, Any]]) -> SafeString:
    """A ticket's timeline, message and event items (agent/ticket.html)."""
    dates, urls = _Dates(), _Urls()
    return mark_safe(  # noqa: S308 - every value escaped in the items
        "\n".join(
            _message_item(item["message"], dates, urls)
            if item["kind"] == "message"
            else _event_item(item["event"], dates)
            for item in items
        )
    )


def _name(row: dict[str, Any], prefix: str) -> str:
    """A user's name from a row's joined columns, as User.get_full_name, else username."""
    full = f"{row[prefix + '__first_name'] or ''} {row[prefix + '__last_name'] or ''}".strip()
    return full or str(row[prefix + "__username"] or "")


def _message_item(m: dict[str, Any], dates: _Dates, urls: "_Urls") -> str:
    """One message of selectors.ticket_timeline."""
    if m["kind"] == MessageKind.INBOUND:
        author = m["author_customer__name"] or m["sender"] or _("Customer")
    elif m["author_user__username"]:
        author = _name(m, "author_user")
    else:
        author = _("Help desk (automatic)")
    delivery = ""
    if m["delivery_status"] == "failed":
        failed = _("not delivered: %(error)s") % {"error": m["delivery_error"]}
        delivery = f' · <span class="failed">{_e(failed)}</span>'
    elif m["delivery_status"] == "suppressed":
        delivery = f' · <span class="failed">{_e(m["delivery_error"] or _("not sent"))}</span>'
    elif m["delivery_status"] == "sent" and m["delivery_error"]:
        delayed = _("delayed: %(reason)s") % {"reason": m["delivery_error"]}
        delivery = f' · <span class="delayed">{_e(delayed)}</span>'
    elif m["delivery_status"]:
        label = _DELIVERY_LABELS.get(m["delivery_status"], m["delivery_status"])
        delivery = f" · {_e(str(label).lower())}"
    original = ""
    if m["original"]:
        original = f' · <a href="{_e(urls.original(m["id"]))}">{_e(_("original"))}</a>'
    call_line = ""
    if m["call__direction"] is not None:
        direction = _DIRECTION_LABELS.get(m["call__direction"], m["call__direction"])
        said = _("%(direction)s call with %(number)s, %(seconds)s s") % {
            "direction": direction,
            "number": m["call__phone_number"],
            "seconds": m["call__duration_seconds"],
        }
        call_line = f'<p class="call">{_e(said)}</p>'
    files = ""
    if m["attachments"]:
        files = '<ul class="attachments">{}</ul>'.format(
            "".join(
                f'<li><a href="{_e(urls.attachment(a["id"]))}">'
                f"{_e(a['filename'])}</a> ({_e(filesizeformat(a['size']))})</li>"
                for a in m["attachments"]
            )
        )
    if m["kind"] == MessageKind.NOTE:
        channel = _("internal note")
    else:
        channel = str(_CHANNEL_LABELS.get(m["channel"], m["channel"]))
    return (
        f'<li class="msg msg-{_e(m["kind"])}" id="message-{m["id"]}">\n'
        f"      <header><strong>{_e(author)}</strong>\n"
        f'        <span class="meta">{_e(channel)} · <time datetime="{dates.iso(m["created_at"])}">'
        f"{dates.day_and_time(m['created_at'])}</time>{delivery}{original}</span></header>\n"
        f"      {call_line}\n"
        f'      <div class="body">{_with_mentions(_lines(m["body_text"]), m)}</div>\n'
        f"      {files}\n"
        "    </li>"
    )


def _event_item(e: dict[str, Any], dates: _Dates) -> str:
    """One event of selectors.ticket_timeline."""
    handoff = ""
    data = e["data"] or {}
    if e["kind"] in (EventKind.ESCALATED, EventKind.DEESCALATED):
        note = data.get("handoff_note", "")
        handoff = f'<blockquote class="handoff">{_lines(str(note))}</blockquote>'
    who = _name(e, "actor") if e["actor__username"] else e["actor_label"]
    summary = _event_summary(e["kind"], data)
    return (
        f'<li class="event event-{_e(e["kind"])}"><span>{_e(summary)}</span>\n'
        f"      {handoff}\n"
        f'      <span class="meta">{_e(who)} · {dates.day_and_time(e["created_at"])}</span></li>'
    )


class _Urls:
    """Addresses of messages' originals and attachments, reversed once per timeline."""

    def __init__(self) -> None:
        self.original = _Address("api:message-original")
        self.attachment = _Address("api:attachment-download")


class _Address:
    """A URL with one id in it, reversed once (not once per row or message)."""

    def __init__(self, name: str) -> None:
        self.head, _sep, self.tail = reverse(name, args=[4242]).rpartition("4242")

    def __call__(self, pk: int) -> str:
        return f"{self.head}{pk}{self.tail}"
