"""The one writer of a ticket's custom field values: every door (contact form, workspace,
API) calls ticket_set_fields, which validates them all, writes the rows and the history
("fields changed", with each value before and after) in one transaction."""

from typing import Any

from django.db import transaction

from tickets import policy
from tickets.fields import selectors
from tickets.fields.values import BadValue, Stored, as_value, clean, clean_many
from tickets.models import EventKind, Ticket, TicketField, TicketFieldValue
from tickets.services._common import Actor, lock_ticket, record_event, refuse_if_merged


def ticket_set_fields(
    *,
    ticket: Ticket,
    values: dict[str, Any],
    actor: Actor,
    for_customer: bool = False,
    form_name: str = "",
    shown: dict[str, Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """Set these fields (by key; None or "" empties one) and return what changed, as
    {key: {"from", "to", "label"}}. `for_customer`: a customer sent them, so only the fields
    they fill are accepted. Raises FieldErrors (nothing written) naming each wrong value.
    The history keeps the changes as a list in the fields' order (a JSON object's keys are
    not kept in order by every database). `shown`: the values a page showed when the agent
    edited them there (by key, as the API gives them); only those the agent changed are
    written, so what a colleague changed since the page was loaded stays."""
    fields = selectors.active_fields()
    cleaned = clean_many(fields, values, for_customer=for_customer)
    if shown is not None:
        cleaned = {
            key: rows
            for key, rows in cleaned.items()
            if not _as_shown(fields[key], rows, shown.get(key))
        }
    if not cleaned:
        return {}
    with transaction.atomic():
        ticket = lock_ticket(ticket)
        refuse_if_merged(ticket)
        policy.refuse_if_closed(ticket)
        before = selectors.values_of([ticket.pk]).get(ticket.pk, {})
        changes: dict[str, dict[str, Any]] = {}
        for key, rows in cleaned.items():
            field = fields[key]
            old = as_value(field.kind, before.get(field.pk, []))
            new = as_value(field.kind, rows)
            if old != new:
                changes[key] = {"from": old, "to": new, "label": field.agent_label}
        if not changes:
            return {}
        changed_ids = [fields[key].pk for key in changes]
        TicketFieldValue.objects.filter(ticket_id=ticket.pk, field_id__in=changed_ids).delete()
        TicketFieldValue.objects.bulk_create(
            TicketFieldValue(
                ticket_id=ticket.pk,
                field_id=fields[key].pk,
                value_text=row.text,
                value_number=row.number,
                value_date=row.day,
            )
            for key in changes
            for row in cleaned[key]
        )
        ordered = sorted(changes, key=lambda key: (fields[key].position, fields[key].pk))
        data: dict[str, Any] = {"changes": [{"key": key, **changes[key]} for key in ordered]}
        if form_name:
            data["form"] = form_name
        record_event(ticket, EventKind.FIELDS_CHANGED, actor=actor, **data)
    return changes


def _as_shown(field: TicketField, rows: list[Stored], shown: Any) -> bool:
    """Whether the value sent is the one the page showed (read as the field reads values)."""
    try:
        return as_value(field.kind, rows) == as_value(field.kind, clean(field, shown))
    except BadValue:  # a forged or outdated value shown: what was sent counts as a change
        return False
