"""What a rule means, decided without touching the database: the events it can listen to,
the conditions it can ask (and whether they hold for a ticket's facts), and the actions it
can take. Rules are data (Trigger, Automation); `check_conditions` and `check_actions`
turn what an admin wrote into that data or say clearly what is wrong with it.

Conditions are two groups: every condition of `all` must hold, and, when `any` has
conditions, at least one of them. A condition is {"field", "op", "value"}.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from tickets.ids import whole_number
from tickets.models import Channel, EventKind, Priority, TicketStatus
from tickets.policy import MOVABLE_LEVELS

# The events a trigger can listen to, and that webhooks can subscribe to.
# The labels are in the reader's language.
EVENTS: dict[str, str | Promise] = {
    "ticket.created": gettext_lazy("Ticket created"),
    "ticket.customer_replied": gettext_lazy("Customer replied"),
    "ticket.agent_replied": gettext_lazy("Agent replied"),
    "ticket.note_added": gettext_lazy("Internal note added"),
    "ticket.status_changed": gettext_lazy("Status changed"),
    "ticket.priority_changed": gettext_lazy("Priority changed"),
    "ticket.tier_changed": gettext_lazy("Tier changed"),
    "ticket.assignee_changed": gettext_lazy("Assignee changed"),
    "ticket.tags_changed": gettext_lazy("Tags changed"),
    "sla.warning": gettext_lazy("SLA warning"),
    "sla.breached": gettext_lazy("SLA breached"),
    "ticket.rated": gettext_lazy("Customer rated"),
}
KIND_NAMES: dict[str, str] = {
    EventKind.CREATED: "ticket.created",
    EventKind.MESSAGE_RECEIVED: "ticket.customer_replied",
    EventKind.REPLIED: "ticket.agent_replied",
    EventKind.NOTE_ADDED: "ticket.note_added",
    EventKind.STATUS_CHANGED: "ticket.status_changed",
    EventKind.PRIORITY_CHANGED: "ticket.priority_changed",
    EventKind.ESCALATED: "ticket.tier_changed",
    EventKind.DEESCALATED: "ticket.tier_changed",
    EventKind.ASSIGNED: "ticket.assignee_changed",
    EventKind.UNASSIGNED: "ticket.assignee_changed",
    EventKind.TAGS_CHANGED: "ticket.tags_changed",
    EventKind.SLA_WARNING: "sla.warning",
    EventKind.SLA_BREACH: "sla.breached",
    EventKind.RATED: "ticket.rated",
}


def event_name(kind: str, *, opens_ticket: bool = False) -> str | None:
    """The rule event a ticket event is, if any. A new ticket's first message is the
    ticket being created, not a reply."""
    if kind == EventKind.MESSAGE_RECEIVED and opens_ticket:
        return None
    return KIND_NAMES.get(kind)


class RuleError(ValueError):
    """What an admin wrote is not a rule; the message says what to change, in the language
    active when it was checked (the reader's: the admin's or lead's own)."""


@dataclass(frozen=True)
class Field:
    label: str | Promise  # in the reader's language
    ops: tuple[str, ...]
    choices: tuple[str, ...] = ()  # allowed values, when there is a fixed set
    number: bool = False


_EQUAL = ("is", "is_not", "in", "not_in")
_TEXT = ("contains", "not_contains", "is", "starts_with")
_CHANNELS = tuple(Channel.values)
_STATUSES = tuple(TicketStatus.values)
_PRIORITIES = tuple(Priority.values)

FIELDS: dict[str, Field] = {
    "channel": Field(gettext_lazy("Channel"), _EQUAL, _CHANNELS),
    "tier": Field(gettext_lazy("Tier"), (*_EQUAL, "above", "below"), number=True),
    "priority": Field(gettext_lazy("Priority"), (*_EQUAL, "above", "below"), _PRIORITIES),
    "status": Field(gettext_lazy("Status"), _EQUAL, _STATUSES),
    "previous_status": Field(gettext_lazy("Status before the change"), _EQUAL, _STATUSES),
    "previous_priority": Field(gettext_lazy("Priority before the change"), _EQUAL, _PRIORITIES),
    "previous_tier": Field(gettext_lazy("Tier before the change"), _EQUAL, number=True),
    "assignee": Field(
        gettext_lazy("Assignee (user id)"), (*_EQUAL, "is_empty", "is_set"), number=True
    ),
    "tags": Field(gettext_lazy("Tags"), ("contains_any", "contains_all", "contains_none")),
    "organization": Field(
        gettext_lazy("Organization (id)"), (*_EQUAL, "is_empty", "is_set"), number=True
    ),
    "customer": Field(gettext_lazy("Customer (id)"), _EQUAL, number=True),
    "sender": Field(gettext_lazy("Sender's address"), _TEXT),
    "sender_domain": Field(gettext_lazy("Sender's domain"), _EQUAL),
    "subject": Field(gettext_lazy("Subject"), _TEXT),
    "body": Field(gettext_lazy("Message text"), ("contains", "not_contains")),
    "business_hours": Field(gettext_lazy("Within business hours"), ("is",), ("true", "false")),
    "rating": Field(gettext_lazy("Rating (1-5)"), (*_EQUAL, "above", "below"), number=True),
}
_NO_VALUE = {"is_empty", "is_set"}

# A custom field (tickets.fields) is asked about as "field:<its key>": its value is a list
# (none, one, or a multi-select's several; a ticked checkbox is ["true"]).
CUSTOM_PREFIX = "field:"
_CUSTOM_KEY = re.compile(r"^field:[a-z][a-z0-9_]{0,39}$")
CUSTOM_OPS = (
    "is", "is_not", "in", "not_in", "contains_any", "contains_all", "contains_none",
    "above", "below", "is_set", "is_empty",
)  # fmt: skip


def custom_field(name: str, label: str | Promise = "") -> Field:
    """The condition field of a custom field, `label` shown for it."""
    key = name.removeprefix(CUSTOM_PREFIX)
    return Field(label or _("Field %(key)s") % {"key": key}, CUSTOM_OPS)


_MANY = {"in", "not_in", "contains_any", "contains_all", "contains_none"}


def check_conditions(data: Any) -> dict[str, list[dict[str, Any]]]:
    """The conditions as stored, or RuleError naming the first wrong one."""
    if data in (None, ""):
        return {"all": [], "any": []}
    refuse_nul(data, _("A condition holds a NUL character; remove it."))
    if not isinstance(data, Mapping) or set(data) - {"all", "any"}:
        raise RuleError(_('Conditions are {"all": [...], "any": [...]}.'))
    checked: dict[str, list[dict[str, Any]]] = {}
    for group in ("all", "any"):
        items = data.get(group) or []
        if not isinstance(items, list):
            raise RuleError(
                _('"%(group)s" must be a list of conditions.') % {"group": _group(group)}
            )
        checked[group] = [_check_condition(item, group, n) for n, item in enumerate(items, 1)]
    return checked


def _group(group: str) -> str:
    """A group's name as the rule form shows it."""
    return pgettext("rule condition group", group)


def _check_condition(item: Any, group: str, number: int) -> dict[str, Any]:
    where = {"number": number, "group": _group(group)}
    if not isinstance(item, Mapping):
        raise RuleError(
            _('Condition %(number)s of "%(group)s" must be an object with field, op and value.')
            % where
        )
    name, op = item.get("field"), item.get("op")
    field = FIELDS.get(str(name))
    if field is None and _CUSTOM_KEY.match(str(name)):
        field = custom_field(str(name))
    if field is None:
        raise RuleError(
            _('Condition %(number)s of "%(group)s": unknown field %(field)r; one of %(fields)s.')
            % {**where, "field": name, "fields": ", ".join(FIELDS)}
        )
    if op not in field.ops:
        raise RuleError(
            _(
                'Condition %(number)s of "%(group)s": %(field)s takes %(operators)s, '
                "not %(operator)r."
            )
            % {**where, "field": field.label, "operators": ", ".join(field.ops), "operator": op}
        )
    if op in _NO_VALUE:
        return {"field": name, "op": op, "value": None}
    value = item.get("value")
    values = value if op in _MANY else [value]
    if not isinstance(values, list) or not values:
        raise RuleError(
            _('Condition %(number)s of "%(group)s": %(operator)s needs a list of values.')
            % {**where, "operator": op}
        )
    cleaned = [_check_value(field, v, where) for v in values]
    return {"field": name, "op": op, "value": cleaned if op in _MANY else cleaned[0]}


def _check_value(field: Field, value: Any, where: dict[str, Any]) -> Any:
    if field.number:
        number = _number(value)
        if number is None:
            raise RuleError(
                _(
                    'Condition %(number)s of "%(group)s": %(field)s needs a whole number, '
                    "not %(value)r."
                )
                % {**where, "field": field.label, "value": value}
            )
        return number
    text = str(value if value is not None else "").strip()
    if field.choices and text.lower() not in field.choices:
        raise RuleError(
            _('Condition %(number)s of "%(group)s": %(field)s is one of %(choices)s.')
            % {**where, "field": field.label, "choices": ", ".join(field.choices)}
        )
    if not text:
        raise RuleError(_('Condition %(number)s of "%(group)s": give a value.') % where)
    return text.lower() if field.choices else text


# The facts a condition is asked about: a field's value, computed only when asked.
Facts = Mapping[str, Any]


# Facts that cost a query to learn: the other conditions are asked first, so that a rule
# whose channel or subject already rules it out never reads the message or the tags.
_COSTLY = frozenset({"body", "sender", "sender_domain", "tags"})


def holds(conditions: Mapping[str, list[dict[str, Any]]], facts: Facts) -> bool:
    every = conditions.get("all") or []
    some = conditions.get("any") or []
    return all(_holds(c, facts) for c in _cheap_first(every)) and (
        not some or any(_holds(c, facts) for c in _cheap_first(some))
    )


def _cheap_first(conditions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(conditions, key=lambda condition: condition["field"] in _COSTLY)


_PRIORITY_ORDER = {value: n for n, value in enumerate(_PRIORITIES)}


def _holds(condition: Mapping[str, Any], facts: Facts) -> bool:
    name, op, wanted = condition["field"], condition["op"], condition["value"]
    actual = facts[name]
    if name.startswith(CUSTOM_PREFIX):
        return _custom_holds(op, [_normal(a) for a in actual or ()], wanted)
    if op == "is_empty":
        return actual is None
    if op == "is_set":
        return actual is not None
    if name == "tags":
        return _tags_hold(op, set(actual or ()), {str(w).lower() for w in wanted})
    if name == "business_hours":
        return bool(actual) == (wanted == "true")
    if op in ("above", "below"):
        return _compares(name, op, actual, wanted)
    return _TESTS[op](_normal(actual), wanted if op in _MANY else _normal(wanted))


def _custom_holds(op: str, actual: list[str], wanted: Any) -> bool:
    """A custom field's condition on its values (as text: a choice's value, a number, a
    date YYYY-MM-DD, "true" for a ticked checkbox)."""
    if op == "is_set":
        return bool(actual)
    if op == "is_empty":
        return not actual
    if op in ("above", "below"):
        return any(_compares_text(op, value, str(wanted)) for value in actual)
    many = [_canonical(w) for w in (wanted if isinstance(wanted, list) else [wanted])]
    have = {_canonical(a) for a in actual}
    if op in ("is", "in", "contains_any"):  # a multi-select "is" X when X is among its values
        return any(w in have for w in many)
    if op == "contains_all":
        return all(w in have for w in many)
    return not any(w in have for w in many)  # is_not, not_in, contains_none


def _canonical(value: Any) -> str:
    """A value as compared: numbers by their value (12.50 is 12.5), text without case."""
    text = str(value).strip().lower()
    try:
        return str(Decimal(text).normalize())
    except InvalidOperation:
        return text


def _compares_text(op: str, actual: str, wanted: str) -> bool:
    """Numbers compared as numbers, anything else (dates; "NaN" and "Infinity", which
    Decimal reads but cannot always order) as text."""
    try:
        a, w = Decimal(actual), Decimal(wanted)
    except InvalidOperation:
        a = w = Decimal("NaN")
    if not (a.is_finite() and w.is_finite()):
        return actual > wanted if op == "above" else actual < wanted
    return a > w if op == "above" else a < w


def _tags_hold(op: str, tags: set[str], wanted: set[str]) -> bool:
    if op == "contains_any":
        return bool(tags & wanted)
    if op == "contains_all":
        return wanted <= tags
    return not tags & wanted


def _compares(name: str, op: str, actual: Any, wanted: Any) -> bool:
    if actual is None:
        return False
    if name == "priority":
        actual, wanted = _PRIORITY_ORDER.get(actual, -1), _PRIORITY_ORDER[wanted]
    return bool(actual > wanted if op == "above" else actual < wanted)


def _normal(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _in(actual: Any, wanted: list[Any]) -> bool:
    return actual in [_normal(w) for w in wanted]


_TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "is": lambda actual, wanted: actual == wanted,
    "is_not": lambda actual, wanted: actual != wanted,
    "in": _in,
    "not_in": lambda actual, wanted: not _in(actual, wanted),
    "contains": lambda actual, wanted: wanted in (actual or ""),
    "not_contains": lambda actual, wanted: wanted not in (actual or ""),
    "starts_with": lambda actual, wanted: (actual or "").startswith(wanted),
}


# Actions: type -> (label, what its "value" is), in the reader's language.
ACTIONS: dict[str, tuple[str | Promise, str | Promise]] = {
    "set_status": (gettext_lazy("Set status"), gettext_lazy("a status")),
    "set_priority": (gettext_lazy("Set priority"), gettext_lazy("a priority")),
    "set_tier": (
        gettext_lazy("Move to tier"),
        gettext_lazy("a tier level, with a hand-off note in `note`"),
    ),
    "assign": (gettext_lazy("Assign to"), gettext_lazy("a user id")),
    "assign_round_robin": (
        gettext_lazy("Assign in turn within a tier"),
        gettext_lazy("a tier level"),
    ),
    "unassign": (gettext_lazy("Unassign"), gettext_lazy("nothing")),
    "add_tags": (gettext_lazy("Add tags"), gettext_lazy("a list of tags")),
    "remove_tags": (gettext_lazy("Remove tags"), gettext_lazy("a list of tags")),
    "add_note": (gettext_lazy("Add an internal note"), gettext_lazy("the note's text")),
    "message_customer": (
        gettext_lazy("Send the customer a message"),
        gettext_lazy("the text (placeholders allowed)"),
    ),
    "notify": (
        gettext_lazy("Notify agents"),
        gettext_lazy("who (assignee, tier, leads, admins or user ids) in `to`"),
    ),
    "webhook": (
        gettext_lazy("Call a webhook"),
        gettext_lazy("a webhook id (Slack and Teams take a `text`)"),
    ),
}
_TEXT_ACTIONS = {"add_note", "message_customer"}


def check_actions(data: Any) -> list[dict[str, Any]]:
    """The actions as stored, or RuleError naming the first wrong one."""
    if not isinstance(data, list) or not data:
        raise RuleError(_("A rule needs at least one action."))
    refuse_nul(data, _("An action holds a NUL character; remove it."))
    return [_check_action(item, n) for n, item in enumerate(data, 1)]


def _check_action(item: Any, number: int) -> dict[str, Any]:
    where = {"number": number}
    if not isinstance(item, Mapping) or item.get("type") not in ACTIONS:
        raise RuleError(
            _("Action %(number)s: the type is one of %(types)s.")
            % {**where, "types": ", ".join(ACTIONS)}
        )
    kind, value = item["type"], item.get("value")
    checked: dict[str, Any] = {"type": kind}
    if kind == "set_status":
        checked["value"] = _one_of(
            value, _STATUSES, _("Action %(number)s: the status is one of %(choices)s."), where
        )
    elif kind == "set_priority":
        checked["value"] = _one_of(
            value, _PRIORITIES, _("Action %(number)s: the priority is one of %(choices)s."), where
        )
    elif kind in ("set_tier", "assign_round_robin"):
        checked["value"] = _whole(value, _("Action %(number)s: give a tier level."), where)
        if kind == "set_tier" and checked["value"] not in MOVABLE_LEVELS:
            # As for people (tickets.policy): tier 0 is where tickets start.
            raise RuleError(_("Action %(number)s: move tickets to tier 1, 2 or 3.") % where)
        if kind == "set_tier":
            checked["note"] = _text(
                item.get("note"), _("Action %(number)s: write a hand-off note."), where
            )
    elif kind == "assign":
        checked["value"] = _whole(value, _("Action %(number)s: give a user id."), where)
    elif kind in ("add_tags", "remove_tags"):
        tags = [str(t).strip().lower() for t in (value or []) if str(t).strip()]
        if not isinstance(value, list) or not tags:
            raise RuleError(_("Action %(number)s: give a list of tags.") % where)
        checked["value"] = tags
    elif kind in _TEXT_ACTIONS:
        checked["value"] = _text(value, _("Action %(number)s: write some text."), where)
        if kind == "message_customer" and item.get("subject"):
            checked["subject"] = str(item["subject"]).strip()[:255]
    elif kind == "notify":
        checked.update(_check_notify(item, where))
    elif kind == "webhook":
        checked["value"] = _whole(value, _("Action %(number)s: give a webhook id."), where)
        if item.get("text"):
            checked["text"] = str(item["text"])
    return checked


NOTIFY_GROUPS = ("assignee", "tier", "leads", "admins")


def _check_notify(item: Mapping[str, Any], where: dict[str, Any]) -> dict[str, Any]:
    to = item.get("to")
    targets = to if isinstance(to, list) else [to]
    checked: list[Any] = []
    wrong_target = _("Action %(number)s: give a user id or one of %(groups)s.")
    for target in targets:
        if target in NOTIFY_GROUPS:
            checked.append(target)
        else:
            checked.append(
                _whole(target, wrong_target, {**where, "groups": ", ".join(NOTIFY_GROUPS)})
            )
    text = _text(item.get("value"), _("Action %(number)s: write the notification's text."), where)
    return {"to": checked, "value": text}


# The checks below are handed their refusal: a whole sentence in the reader's language with
# its %(placeholders)s, filled with `values`.


def _one_of(value: Any, allowed: tuple[str, ...], refusal: str, values: dict[str, Any]) -> str:
    text = str(value or "").strip().lower()
    if text not in allowed:
        raise RuleError(refusal % {**values, "choices": ", ".join(allowed)})
    return text


def _whole(value: Any, refusal: str, values: dict[str, Any]) -> int:
    number = _number(value)
    if number is None:
        raise RuleError(refusal % values)
    return number


def _number(value: Any) -> int | None:
    """A number a rule holds (a tier level, a user or webhook id, a rating), read as every
    door reads one (tickets.ids: ASCII digits within a 64-bit column's range), so that
    "٣" or a number no column holds is refused when the rule is saved."""
    if isinstance(value, int) and not isinstance(value, bool):
        return whole_number(str(value))
    return whole_number(value)


def refuse_nul(data: Any, refusal: str) -> None:
    """PostgreSQL stores no NUL character, in text or in JSON: a rule holding one is
    refused here, with what to change (`refusal`, a whole sentence), rather than failing
    when it is saved."""
    if isinstance(data, str) and "\x00" in data:
        raise RuleError(refusal)
    items = data.values() if isinstance(data, Mapping) else data if isinstance(data, list) else ()
    for item in items:
        refuse_nul(item, refusal)


def _text(value: Any, refusal: str, values: dict[str, Any]) -> str:
    text = str(value or "").strip()
    if not text:
        raise RuleError(refusal % values)
    return text


def check_events(data: Any) -> list[str]:
    if not isinstance(data, list) or not data:
        raise RuleError(_("Choose at least one event."))
    unknown = [e for e in data if e not in EVENTS]
    if unknown:
        raise RuleError(
            _("Unknown event %(event)r; one of %(events)s.")
            % {"event": unknown[0], "events": ", ".join(EVENTS)}
        )
    return list(dict.fromkeys(data))


def describe_condition(condition: dict[str, Any]) -> str:
    field = FIELDS.get(condition["field"]) or custom_field(condition["field"])
    value = condition["value"]
    shown = ", ".join(map(str, value)) if isinstance(value, list) else value
    op = condition["op"].replace("_", " ")
    return f"{field.label} {op}" + (f" {shown}" if shown is not None else "")


def describe_action(action: dict[str, Any]) -> str:
    label = str(ACTIONS[action["type"]][0])
    value = action.get("value")
    if isinstance(value, list):
        value = ", ".join(map(str, value))
    if action["type"] == "notify":
        value = f"{', '.join(map(str, action['to']))}: {action['value']}"
    return f"{label}: {value}" if value not in (None, "") else label
