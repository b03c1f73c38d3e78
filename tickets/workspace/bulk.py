"""Bulk actions on the tickets ticked in a queue: one service call per ticket.

Each ticket succeeds or fails on its own; the agent is told which ones were refused and why.
The rules are the services' (tickets.policy): a bulk action can do nothing a ticket's own
page could not. Merging asks for confirmation first and names both tickets of each merge.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.http import QueryDict
from django.utils.translation import gettext as _

from tickets import services
from tickets.errors import DomainError, InvalidInput
from tickets.ids import id_from
from tickets.models import Problem, Ticket
from tickets.problems import services as problems
from tickets.workspace.forms import BulkForm

MAX_BULK = 200


@dataclass
class Outcome:
    """What a bulk action did: how many tickets it changed, what it says of them, the
    refusals, and, for a merge not yet confirmed, what to confirm."""

    done: int = 0
    said: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    to_confirm: dict[str, Any] | None = None


def _action(form: BulkForm, actor: User, target: Ticket | None) -> Callable[[Ticket], Any]:
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
    reason, note = data["reason"].strip(), data["handoff_note"].strip()
    if action == "tier" and data["tier"] is not None and reason and note:
        return lambda t: services.ticket_move_tier(
            ticket=t, tier_level=data["tier"], reason=reason, handoff_note=note, actor=actor
        )
    if action == "tag" and data["tags"].strip():
        names = services.parse_tags(data["tags"])
        return lambda t: services.ticket_add_tags(ticket=t, names=names, actor=actor)
    if action == "merge" and target is not None:
        return lambda t: services.ticket_merge(source=t, target=target, actor=actor)
    raise InvalidInput(
        {
            "status": _("Choose the status to set."),
            "priority": _("Choose the priority to set."),
            "tier": _("Choose the tier, and give a reason and a hand-off note for the move."),
            "tag": _("Give the tags to add."),
            "merge": _("Choose, among the ticked tickets, the one to merge the others into."),
            "problem": _("Choose the problem to link the ticked tickets to."),
        }.get(action, _("Choose an action."))
    )


def _merge_target(form: BulkForm, tickets: list[Ticket]) -> Ticket | None:
    """The ticked ticket named to keep ("HD-12" or "12"), if the action is a merge."""
    if form.cleaned_data["action"] != "merge":
        return None
    named = id_from(form.cleaned_data["merge_into"].strip().rsplit("-", 1)[-1])
    return next((t for t in tickets if t.pk == named), None)


def _merge_refusal(source: Ticket, target: Ticket) -> str:
    """Why `source` may never be merged into `target` ("" when it may be asked)."""
    try:
        services.refuse_merging_customers(source, target)
    except DomainError as error:
        return error.message
    return ""


def _link_to_problem(form: BulkForm, tickets: list[Ticket], actor: User) -> Outcome:
    """All the ticked tickets at once (problems.problem_link is a bulk path)."""
    problem = Problem.objects.filter(pk=form.cleaned_data["problem"] or 0).first()
    if problem is None:
        return Outcome(errors=[_("Choose the problem to link the ticked tickets to.")])
    try:
        linked = problems.problem_link(problem=problem, tickets=tickets, actor=actor)
    except DomainError as error:
        return Outcome(errors=[error.message])
    outcome = Outcome(done=len(linked.linked))
    outcome.said.append(
        _("Linked to %(reference)s %(title)s.")
        % {"reference": problem.reference, "title": problem.title}
    )
    outcome.errors += [
        _("%(reference)s: not linked, %(why)s.") % {"reference": ref, "why": why}
        for ref, why in linked.refused.items()
    ]
    return outcome


def apply(data: QueryDict, *, actor: User) -> Outcome:
    """Run the chosen action on each ticked ticket."""
    form = BulkForm(data)
    if not form.is_valid():
        return Outcome(errors=[_("Tick at least one ticket and choose an action.")])
    ids = form.cleaned_data["tickets"][:MAX_BULK]
    tickets = {t.pk: t for t in Ticket.objects.filter(pk__in=ids)}
    ordered = [tickets[pk] for pk in ids if pk in tickets]
    if not ordered:
        return Outcome(errors=[_("None of the ticked tickets exists any more.")])
    if form.cleaned_data["action"] == "problem":
        return _link_to_problem(form, ordered, actor)
    target = _merge_target(form, ordered)
    try:
        action = _action(form, actor, target)
    except DomainError as error:
        return Outcome(errors=[error.message])
    sources = [t for t in ordered if t.pk != (target.pk if target else None)]
    if target is not None:
        if not sources:
            return Outcome(errors=[_("Tick the tickets to merge as well as the one to keep.")])
        strangers = [_merge_refusal(t, target) for t in sources]
        if any(strangers):
            return Outcome(errors=[refusal for refusal in strangers if refusal])
        if not form.cleaned_data["confirm"]:
            return Outcome(to_confirm={"target": target, "sources": sources})
    outcome = Outcome()
    for ticket in sources:
        try:
            action(ticket)
        except DomainError as error:
            outcome.errors.append(f"{ticket.reference}: {error.message}")
        else:
            outcome.done += 1
            if target is not None:
                outcome.said.append(
                    _("Merged %(source)s into %(target)s.")
                    % {"source": ticket.reference, "target": target.reference}
                )
    return outcome
