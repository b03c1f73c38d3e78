"""What a rule does, done through the same services a person's change goes through (so the
status rules, SLA clocks, notices and history follow as for anyone), as "Trigger: <name>"."""

from collections.abc import Callable, Mapping
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Model, Q
from django.utils.translation import gettext as _

from tickets import placeholders, services
from tickets.automation import webhooks
from tickets.automation.rules import describe_action
from tickets.errors import InvalidInput
from tickets.models import Automation, EventKind, Ticket, TicketEvent, Trigger
from tickets.roles import ADMINS_GROUP, LEADS_GROUP
from tickets.services._common import acting_as, record_event
from tickets.services.notices import notify_agents
from tickets.services.routing import ticket_assign_in_turn

Action = dict[str, Any]


def apply(action: Action, *, ticket: Ticket, event: TicketEvent | None, label: str) -> None:
    """Do one checked action (tickets.automation.rules.check_actions) to the ticket.
    Raises tickets.errors.DomainError when the ticket refuses it (a closed ticket, no such
    agent): the caller reports it."""
    _DOERS[action["type"]](action, ticket, event, label)


def perform(
    rule: Trigger | Automation, firing: Model, *, ticket: Ticket, event: TicketEvent | None
) -> None:
    """A rule doing its actions, triggers and automations alike, in one transaction: its
    firing record (whose unique constraint raises IntegrityError when it acted already),
    each action through the services as "Trigger: <name>" (or "Automation: ..."), and what it
    did in the history. A refusal (DomainError) undoes all of it; the caller reports it."""
    kind = type(rule).__name__
    label = f"{kind}: {rule.name}"
    with transaction.atomic(), acting_as(label):
        firing.save(force_insert=True)
        for action in rule.actions:
            apply(action, ticket=ticket, event=event, label=label)
        record_fired(ticket, label, rule.actions, **{kind.lower(): rule.pk})


def record_fired(ticket: Ticket, label: str, done: list[Action], **rule: int) -> None:
    """What the rule did, in the ticket's history (its notices and webhook calls leave no
    other trace there)."""
    record_event(
        ticket,
        EventKind.RULE_FIRED,
        actor=None,
        label=label,
        actions=[describe_action(action) for action in done],
        **rule,
    )


def would_change(actions: list[Action], ticket: Ticket, facts: Mapping[str, Any]) -> bool:
    """Whether doing these actions again would change anything: a status, priority, tier or
    assignee it already has, or tags already there (or gone), would not; a note, a message,
    a notice or a webhook call always would. `facts`: the ticket's (for its tags)."""
    return any(_changes(action, ticket, facts) for action in actions)


def _changes(action: Action, ticket: Ticket, facts: Mapping[str, Any]) -> bool:
    kind, value = action["type"], action.get("value")
    if kind == "set_status":
        return bool(ticket.status != value)
    if kind == "set_priority":
        return bool(ticket.priority != value)
    if kind == "set_tier":
        return bool(ticket.tier.level != value)
    if kind == "assign":
        return bool(ticket.assignee_id != value)
    if kind in ("assign_round_robin", "unassign"):
        return (ticket.assignee_id is None) == (kind == "assign_round_robin")
    if kind in ("add_tags", "remove_tags"):
        present = facts["tags"]
        named = set(action["value"])
        return not named <= present if kind == "add_tags" else bool(named & present)
    return True


def _set_status(action: Action, ticket: Ticket, event: TicketEvent | None, label: str) -> None:
    if ticket.status != action["value"]:
        services.ticket_change_status(
            ticket=ticket, status=action["value"], actor=None, reason=label
        )


def _set_priority(action: Action, ticket: Ticket, event: TicketEvent | None, label: str) -> None:
    services.ticket_change_priority(ticket=ticket, priority=action["value"], actor=None)


def _set_tier(action: Action, ticket: Ticket, event: TicketEvent | None, label: str) -> None:
    if ticket.tier.level != action["value"]:
        services.ticket_move_tier(
            ticket=ticket,
            tier_level=action["value"],
            reason=label,
            handoff_note=_filled(action["note"], ticket),
            actor=None,
            label=label,
        )


def _assign(action: Action, ticket: Ticket, event: TicketEvent | None, label: str) -> None:
    agent = User.objects.filter(pk=action["value"], is_active=True).first()
    if agent is None:
        raise InvalidInput(
            _("There is no active user %(user)s.") % {"user": action["value"]},
            code="no_such_user",
        )
    services.ticket_assign(ticket=ticket, assignee=agent, actor=None, label=label)


def _assign_in_turn(action: Action, ticket: Ticket, event: TicketEvent | None, label: str) -> None:
    if ticket.assignee_id is None:
        ticket_assign_in_turn(ticket=ticket, tier_level=action["value"], label=label)


def _unassign(action: Action, ticket: Ticket, event: TicketEvent | None, label: str) -> None:
    services.ticket_unassign(ticket=ticket, actor=None, reason=label)


def _change_tags(action: Action, ticket: Ticket, event: TicketEvent | None, label: str) -> None:
    present = set(ticket.tags.values_list("name", flat=True))
    wanted = set(action["value"])
    after = present | wanted if action["type"] == "add_tags" else present - wanted
    if after != present:
        services.ticket_set_tags(ticket=ticket, names=sorted(after), actor=None)


def _add_note(action: Action, ticket: Ticket, event: TicketEvent | None, label: str) -> None:
    text = _filled(action["value"], ticket)
    services.ticket_add_note(ticket=ticket, actor=None, text=f"{label}: {text}")


def _message_customer(
    action: Action, ticket: Ticket, event: TicketEvent | None, label: str
) -> None:
    text = _filled(action["value"], ticket)
    # One line: a subject typed over two would be a header of its own.
    subject = " ".join(_filled(action.get("subject", ""), ticket).split())
    subject = subject or f"Re: {ticket.subject} [{ticket.reference}]"
    services.ticket_send_automatic_reply(ticket=ticket, text=text, subject=subject)


def _notify(action: Action, ticket: Ticket, event: TicketEvent | None, label: str) -> None:
    targets = action["to"]
    who = Q(pk__in=[t for t in targets if isinstance(t, int)])
    if "assignee" in targets and ticket.assignee_id:
        who |= Q(pk=ticket.assignee_id)
    if "tier" in targets:
        who |= Q(agent_profile__tiers=ticket.tier_id)
    if "leads" in targets:
        who |= Q(groups__name=LEADS_GROUP)
    if "admins" in targets:
        who |= Q(groups__name=ADMINS_GROUP) | Q(is_superuser=True)
    # Staff only: a user id that is a customer's portal account is no one to tell here.
    staff = User.objects.filter(who, is_active=True, is_staff=True)
    users = staff.values_list("pk", flat=True).distinct()
    text = _filled(action["value"], ticket)
    notify_agents(user_ids=list(users), ticket=ticket, kind="rule", text=f"{label}: {text}")


def _webhook(action: Action, ticket: Ticket, event: TicketEvent | None, label: str) -> None:
    from tickets.automation.rules import event_name

    webhooks.for_action(
        webhook_id=action["value"],
        event_name=(event_name(event.kind) if event else None) or "ticket.rule",
        event=event,
        ticket=ticket,
        text=action.get("text", ""),
    )


def _filled(text: str, ticket: Ticket) -> str:
    """A text of the rule with the ticket's placeholders filled (every text an action
    holds may use them: the rules' page says so)."""
    return placeholders.fill(text, placeholders.ticket_values(ticket))


_DOERS: dict[str, Callable[[Action, Ticket, TicketEvent | None, str], None]] = {
    "set_status": _set_status,
    "set_priority": _set_priority,
    "set_tier": _set_tier,
    "assign": _assign,
    "assign_round_robin": _assign_in_turn,
    "unassign": _unassign,
    "add_tags": _change_tags,
    "remove_tags": _change_tags,
    "add_note": _add_note,
    "message_customer": _message_customer,
    "notify": _notify,
    "webhook": _webhook,
}
