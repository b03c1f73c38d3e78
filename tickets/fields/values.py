"""What a custom field's value may be: one function turns what a door received (a form's
text, JSON from the API, a rule's value) into the rows stored, or says what is wrong."""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from tickets.errors import InvalidInput
from tickets.models import FieldKind, TicketField

TEXT_MAX = 500
_TRUE = {"true", "on", "1", "yes"}
_FALSE = {"false", "off", "0", "no", ""}


@dataclass(frozen=True)
class Stored:
    """One stored value: the row's columns."""

    text: str | None = None
    number: Decimal | None = None
    day: date | None = None


class FieldErrors(InvalidInput):
    """Values refused, each by its field's key; the message names them all."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(" ".join(errors.values()), code="invalid_field")
        self.errors = errors


class BadValue(ValueError):
    pass


def choice_values(field: TicketField) -> list[str]:
    return [choice.value for choice in field.choices.all()]


def clean(field: TicketField, raw: Any) -> list[Stored]:
    """The rows for `raw` (none: the field is empty), or BadValue saying why not."""
    if raw is None or raw == "" or raw == []:
        return []
    kind = field.kind
    if kind == FieldKind.CHECKBOX:
        return [Stored(text="true")] if _boolean(raw) else []
    if kind == FieldKind.MULTISELECT:
        items = raw.split(",") if isinstance(raw, str) else raw
        if not isinstance(items, list | tuple):
            raise BadValue(_("give a list of choices"))
        chosen = list(dict.fromkeys(str(item).strip() for item in items if str(item).strip()))
        return [Stored(text=_choice(field, value)) for value in chosen]
    if isinstance(raw, list | tuple | dict | bool):
        raise BadValue(_("give one value"))
    if kind == FieldKind.DROPDOWN:
        return [Stored(text=_choice(field, str(raw).strip()))]
    if kind == FieldKind.NUMBER:
        return [Stored(number=_number(field, raw))]
    if kind == FieldKind.DATE:
        return [Stored(day=parse_date(raw))]
    return [Stored(text=_text(field, str(raw)))]


def _boolean(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    raise BadValue(_("give true or false"))


def _choice(field: TicketField, value: str) -> str:
    allowed = choice_values(field)
    if value not in allowed:
        raise BadValue(
            _("choose one of %(allowed)s, not %(value)r")
            % {"allowed": ", ".join(allowed), "value": value}
        )
    return value


def parse_number(raw: Any) -> Decimal:
    try:
        number = Decimal(str(raw).strip())
    except InvalidOperation:
        raise BadValue(_("give a number, not %(raw)r") % {"raw": raw}) from None
    if not number.is_finite() or abs(number) >= Decimal(10) ** 14:
        raise BadValue(_("give a number below 100,000,000,000,000"))
    return number.quantize(Decimal("0.000001"))


def _number(field: TicketField, raw: Any) -> Decimal:
    number = parse_number(raw)
    low, high = field.min_value, field.max_value
    if low is not None and number < low:
        raise BadValue(_("give at least %(low)s") % {"low": _plain(low)})
    if high is not None and number > high:
        raise BadValue(_("give at most %(high)s") % {"high": _plain(high)})
    return number


def _plain(number: Decimal | int) -> str:
    return f"{Decimal(str(number)).normalize():f}"


def parse_date(raw: Any) -> date:
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        raise BadValue(_("give a date as YYYY-MM-DD, not %(raw)r") % {"raw": raw}) from None


def _text(field: TicketField, raw: str) -> str:
    if "\x00" in raw:  # PostgreSQL cannot store it (it was a server error at every door)
        raise BadValue(_("null characters are not allowed"))
    text = raw.strip()
    limit = min(field.max_length or TEXT_MAX, TEXT_MAX)
    if len(text) > limit:
        raise BadValue(
            _("at most %(limit)s characters (it has %(length)s)")
            % {"limit": limit, "length": len(text)}
        )
    if field.pattern and not re.fullmatch(field.pattern, text):
        raise BadValue(
            field.pattern_message or _("it must match %(pattern)s") % {"pattern": field.pattern}
        )
    return text


def clean_many(
    fields: dict[str, TicketField], raw: dict[str, Any], *, for_customer: bool = False
) -> dict[str, list[Stored]]:
    """Every value cleaned, by key; FieldErrors naming each wrong or unknown one."""
    cleaned, errors = {}, {}
    for key, value in raw.items():
        field = fields.get(key)
        if field is None or (for_customer and not field.customer_editable):
            errors[key] = _("There is no field %(key)r.") % {"key": key}
            continue
        label = field.label_for_customers if for_customer else field.agent_label
        try:
            cleaned[key] = clean(field, value)
        except BadValue as error:
            errors[key] = f"{label}: {error}."
    if errors:
        raise FieldErrors(errors)
    return cleaned


def as_value(kind: str, rows: Iterable[Stored]) -> Any:
    """Stored rows as the API and rules see the value (None when empty)."""
    rows = list(rows)
    if kind == FieldKind.CHECKBOX:
        return bool(rows)
    if kind == FieldKind.MULTISELECT:
        return sorted(row.text for row in rows if row.text is not None)
    if not rows:
        return None
    row = rows[0]
    if kind == FieldKind.NUMBER and row.number is not None:
        return (
            int(row.number) if row.number == row.number.to_integral_value() else float(row.number)
        )
    if kind == FieldKind.DATE:
        return row.day.isoformat() if row.day else None
    return row.text


def definition_errors(
    *,
    kind: str,
    min_value: Decimal | None,
    max_value: Decimal | None,
    max_length: int | None,
    pattern: str,
) -> dict[str, str]:
    """What is wrong with a field's definition, by attribute (empty: nothing), in the
    reader's language."""
    errors = {}
    numeric = kind == FieldKind.NUMBER
    text = kind == FieldKind.TEXT
    if not numeric and (min_value is not None or max_value is not None):
        errors["min_value"] = _("Only number fields have a minimum and a maximum.")
    if min_value is not None and max_value is not None and min_value > max_value:
        errors["max_value"] = _("The maximum is below the minimum.")
    if max_length is not None and not text:
        errors["max_length"] = _("Only text fields have a maximum length.")
    elif max_length is not None and not 1 <= max_length <= TEXT_MAX:
        errors["max_length"] = _("Between 1 and %(most)s characters.") % {"most": TEXT_MAX}
    if pattern and not text:
        errors["pattern"] = _("Only text fields have a regular expression.")
    elif pattern:
        try:
            re.compile(pattern)
        except re.error as error:
            # What is wrong in it is Python's own words (English).
            errors["pattern"] = _("This is not a regular expression: %(error)s.") % {"error": error}
    return errors
