"""Reading custom fields: the definitions, the values of many tickets at once, what each
audience sees, what solving still needs, and tickets narrowed by a field's value."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.db.models.signals import post_delete, post_migrate, post_save
from django.utils.translation import gettext as _

from helpdesk.kept import KeptPerProcess
from tickets.errors import InvalidInput
from tickets.fields.values import BadValue, Stored, as_value, parse_date, parse_number
from tickets.models import (
    CHOICE_KINDS,
    FieldChoice,
    FieldKind,
    TicketField,
    TicketFieldValue,
    TicketForm,
)


def active_fields() -> dict[str, TicketField]:
    """The active fields by key, in order, with their choices: read once per process and
    again after an admin changes one (helpdesk.kept), so pages pay nothing for them. The
    caller must not change what it gets (it is shared)."""
    return _kept.current()


def _read_fields() -> dict[str, TicketField]:
    fields = TicketField.objects.filter(active=True).prefetch_related(
        Prefetch("choices", queryset=FieldChoice.objects.order_by("position", "id"))
    )
    return {field.key: field for field in fields}


_kept = KeptPerProcess("ticket-fields", _read_fields, max_seconds=60)


def connect_signals() -> None:
    """Every process reads the fields again after one (or a choice) is saved or deleted."""
    for model in (TicketField, FieldChoice):
        post_save.connect(_kept.changed, sender=model, dispatch_uid=f"ticket-fields-{model}")
        post_delete.connect(_kept.changed, sender=model, dispatch_uid=f"ticket-fields-del-{model}")
    post_migrate.connect(_kept.changed, dispatch_uid="ticket-fields-migrate")


def offered_forms() -> list[TicketForm]:
    """The active forms customers choose from, each with its active fields in order."""
    return list(
        TicketForm.objects.filter(active=True)
        .select_related("product")
        .prefetch_related(
            Prefetch("members__field__choices", queryset=FieldChoice.objects.order_by("position")),
        )
    )


def chosen_form(offered: list[TicketForm], wanted: str | None) -> TicketForm | None:
    """The kind of request asked for (by id) among those offered, else the first one."""
    by_id = {str(form.pk): form for form in offered}
    return by_id.get(wanted or "") or (offered[0] if offered else None)


def form_fields(form: TicketForm, *, for_customer: bool = True) -> list[TicketField]:
    """The form's fields in its order (for customers: those they fill)."""
    members = sorted(form.members.all(), key=lambda m: (m.position, m.pk))
    return [
        m.field
        for m in members
        if m.field.active and (m.field.customer_editable or not for_customer)
    ]


def values_of(ticket_ids: Iterable[int]) -> dict[int, dict[int, list[Stored]]]:
    """Every value of these tickets as {ticket id: {field id: rows}}: one query."""
    found: dict[int, dict[int, list[Stored]]] = {}
    rows = TicketFieldValue.objects.filter(ticket_id__in=list(ticket_ids)).order_by("id")
    for ticket_id, field_id, text, number, day in rows.values_list(
        "ticket_id", "field_id", "value_text", "value_number", "value_date"
    ):
        found.setdefault(ticket_id, {}).setdefault(field_id, []).append(
            Stored(text=text, number=number, day=day)
        )
    return found


def values_as_text(ticket_id: int) -> dict[str, list[str]]:
    """A ticket's values as rules compare them, by key: one query."""
    found: dict[str, list[str]] = {}
    rows = TicketFieldValue.objects.filter(ticket_id=ticket_id, field__active=True)
    for key, text, number, day in rows.values_list(
        "field__key", "value_text", "value_number", "value_date"
    ):
        if number is not None:
            value = as_value(FieldKind.NUMBER, [Stored(number=number)])
        found.setdefault(key, []).append(
            str(value) if number is not None else day.isoformat() if day else str(text)
        )
    return found


def api_values(fields: dict[str, TicketField], values: dict[int, list[Stored]]) -> dict[str, Any]:
    """A ticket's values as the API gives them: every active field by key."""
    return {key: as_value(field.kind, values.get(field.pk, [])) for key, field in fields.items()}


@dataclass(frozen=True)
class Shown:
    """One field as a page shows it."""

    field: TicketField
    label: str
    value: Any  # as_value's
    text: str  # for reading: choices by their labels, "Yes"/"No", "-" when empty


def shown(
    fields: dict[str, TicketField],
    values: dict[int, list[Stored]],
    *,
    for_customer: bool = False,
) -> list[Shown]:
    """The fields a page shows: for agents every field; for customers those they may see
    (and only when set)."""
    out = []
    for field in fields.values():
        if for_customer and not (field.customer_visible or field.customer_editable):
            continue
        value = as_value(field.kind, values.get(field.pk, []))
        if for_customer and value in (None, [], False):
            continue
        label = field.label_for_customers if for_customer else field.agent_label
        out.append(Shown(field, label, value, display(field, value)))
    return out


def display(field: TicketField, value: Any) -> str:
    if field.kind == FieldKind.CHECKBOX:
        return "Yes" if value else "No"
    if value in (None, []):
        return "-"
    if field.kind in CHOICE_KINDS:
        labels = {choice.value: choice.label for choice in field.choices.all()}
        items = value if isinstance(value, list) else [value]
        return ", ".join(str(labels.get(item, item)) for item in items)
    return str(value)


def attach_shown(tickets: list[Any]) -> None:
    """Give each ticket of a page `custom_fields_shown` (the fields set on it, as agents
    see them): one query for the page, whatever its size (none without fields)."""
    if not tickets:
        return
    fields = active_fields()
    values = values_of(ticket.pk for ticket in tickets) if fields else {}
    for ticket in tickets:
        ticket.custom_fields_shown = [
            item
            for item in shown(fields, values.get(ticket.pk, {}))
            if item.value not in (None, [], False)
        ]


def missing_to_solve(ticket_ids: Iterable[int]) -> dict[int, list[str]]:
    """For each ticket, the labels of the fields required when solving that it lacks
    (tickets that lack none are left out): one query, however many tickets (none without
    such fields)."""
    ids = list(ticket_ids)
    required = [
        (field.pk, field.agent_label)
        for field in active_fields().values()
        if field.required_to_solve
    ]
    if not required or not ids:
        return {}
    present = set(
        TicketFieldValue.objects.filter(
            ticket_id__in=ids, field_id__in=[pk for pk, _ in required]
        ).values_list("ticket_id", "field_id")
    )
    missing = {}
    for ticket_id in ids:
        lacking = [label for pk, label in required if (ticket_id, pk) not in present]
        if lacking:
            missing[ticket_id] = lacking
    return missing


# Filtering -------------------------------------------------------------------------------

OPS = ("is", "between", "set", "not_set")


@dataclass(frozen=True)
class FieldCondition:
    """A condition on a field: `is` a value (a drop-down's, a text's, or one of a
    multi-select's choices; a checkbox: ticked), `between` low and high (numbers, dates;
    either may be open), `set` or `not_set`."""

    key: str
    op: str = "is"
    value: str = ""
    low: str = ""
    high: str = ""


def condition_filter(condition: FieldCondition) -> Q | Exists:
    """The tickets meeting the condition, as a filter on tickets: an index range of the
    values table (field, value, ticket) probed per ticket. InvalidInput when wrong."""
    field = active_fields().get(condition.key)
    if field is None:
        raise InvalidInput(
            _("There is no field %(key)r.") % {"key": condition.key}, code="unknown_field"
        )
    rows = TicketFieldValue.objects.filter(field_id=field.pk, ticket_id=OuterRef("pk"))
    try:
        narrowed = _narrow(field, condition, rows)
    except BadValue as error:
        raise InvalidInput(
            _("%(field)s: %(error)s.") % {"field": field.agent_label, "error": error},
            code="invalid_field",
        ) from None
    exists = Exists(narrowed)
    return Q(~exists) if condition.op == "not_set" else exists


def _narrow(
    field: TicketField, condition: FieldCondition, rows: QuerySet[TicketFieldValue]
) -> QuerySet[TicketFieldValue]:
    kind, op = field.kind, condition.op
    if op not in OPS:
        raise BadValue(_("the condition is one of %(ops)s") % {"ops": ", ".join(OPS)})
    if op in ("set", "not_set"):
        return rows
    if op == "between":
        if kind not in (FieldKind.NUMBER, FieldKind.DATE):
            raise BadValue(_("only numbers and dates have a range"))
        if not condition.low and not condition.high:
            raise BadValue(_("give a lower or an upper bound"))
        parse: Any = parse_number if kind == FieldKind.NUMBER else parse_date
        column = "value_number" if kind == FieldKind.NUMBER else "value_date"
        bounds: dict[str, Decimal | date] = {}
        if condition.low:
            bounds[f"{column}__gte"] = parse(condition.low)
        if condition.high:
            bounds[f"{column}__lte"] = parse(condition.high)
        return rows.filter(**bounds)
    value = condition.value.strip()
    if kind == FieldKind.NUMBER:
        return rows.filter(value_number=parse_number(value))
    if kind == FieldKind.DATE:
        return rows.filter(value_date=parse_date(value))
    if kind == FieldKind.CHECKBOX:
        return rows.filter(value_text="true")
    if kind in CHOICE_KINDS and value not in {c.value for c in field.choices.all()}:
        raise BadValue(_("%(value)r is not one of its choices") % {"value": value})
    return rows.filter(value_text=value)
