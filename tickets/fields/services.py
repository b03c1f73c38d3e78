"""The one writer of a ticket's custom field values: every door (contact form, workspace,
API) calls ticket_set_fields, which validates them all, writes the rows and the history
("fields changed", with each value before and after) in one transaction."""

from typing import Any

from django.db import transaction

from tickets.fields import selectors
from tickets.fields.values import as_value, clean_many
from tickets.models import EventKind, Ticket, TicketFieldValue
from tickets.services._common import Actor, lock_ticket, record_event, refuse_if_merged


def ticket_set_fields(
    *,
    ticket: Ticket,
    values: dict[str, Any],
    actor: Actor,
    for_customer: bool = False,
    form_name: str = "",
) -> dict[str, dict[str, Any]]:
    """Set these fields (by key; None or "" empties one) and return what changed, as
    {key: {"from", "to", "label"}}. `for_customer`: a customer sent them, so only the fields
    they fill are accepted. Raises FieldErrors (nothing written) naming each wrong value.
    The history keeps the changes as a list in the fields' order (a JSON object's keys are
    not kept in order by every database)."""
    fields = selectors.active_fields()
    cleaned = clean_many(fields, values, for_customer=for_customer)
    if not cleaned:
        return {}
    with transaction.atomic():
        ticket = lock_ticket(ticket)
        refuse_if_merged(ticket)
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
