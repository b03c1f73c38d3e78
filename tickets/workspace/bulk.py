"""Bulk actions on the tickets ticked in a queue: one service call per ticket.

Each ticket succeeds or fails on its own; the agent is told which ones were refused and why.
"""

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User
from django.http import QueryDict

from tickets import services
from tickets.errors import DomainError, InvalidInput
from tickets.models import Ticket
from tickets.workspace.forms import BulkForm

MAX_BULK = 200


def _action(form: BulkForm, actor: User, first: Ticket) -> Callable[[Ticket], Any]:
    data = form.cleaned_data
    action = data["action"]
    if action == "assign_me":
        return lambda t: services.ticket_assign(ticket=t, assignee=actor, actor=actor)
    if action == "status" and data["status"]:
        return lambda t: services.ticket_change_status(ticket=t, status=data["status"], actor=actor)
    if action == "priority" and data["priority"]:
        return lambda t: services.ticket_change_priority(
            ticket=t, priority=data["priority"], actor=actor
        )
    if action == "tier" and data["tier"] is not None and data["reason"].strip():
        reason = data["reason"].strip()
        return lambda t: services.ticket_move_tier(
            ticket=t, tier_level=data["tier"], reason=reason, handoff_note=reason, actor=actor
        )
    if action == "tag" and data["tags"].strip():
        names = services.parse_tags(data["tags"])
        return lambda t: services.ticket_add_tags(ticket=t, names=names, actor=actor)
    if action == "merge":
        return lambda t: (
            None if t.pk == first.pk else services.ticket_merge(source=t, target=first, actor=actor)
        )
    raise InvalidInput(
        {
            "status": "Choose the status to set.",
            "priority": "Choose the priority to set.",
            "tier": "Choose the tier and give a reason for the move.",
            "tag": "Give the tags to add.",
        }.get(action, "Choose an action.")
    )


def apply(data: QueryDict, *, actor: User) -> tuple[int, list[str]]:
    """Run the chosen action on each ticked ticket; (how many succeeded, error messages)."""
    form = BulkForm(data)
    if not form.is_valid():
        return 0, ["Tick at least one ticket and choose an action."]
    ids = form.cleaned_data["tickets"][:MAX_BULK]
    tickets = {t.pk: t for t in Ticket.objects.filter(pk__in=ids)}
    ordered = [tickets[pk] for pk in ids if pk in tickets]
    if not ordered:
        return 0, ["None of the ticked tickets exists any more."]
    try:
        action = _action(form, actor, ordered[0])
    except DomainError as error:
        return 0, [error.message]
    done, errors = 0, []
    for ticket in ordered:
        try:
            action(ticket)
        except DomainError as error:
            errors.append(f"{ticket.reference}: {error.message}")
        else:
            done += 1
    return done, errors
