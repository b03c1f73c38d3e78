"""Admins' and leads' writes of rules (webhooks are admins' alone, tickets.policy):
triggers, automations and webhooks, checked before they are kept (a rule that cannot mean
anything is refused with what to change), and a trigger's dry run against an existing
ticket."""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from tickets import policy
from tickets.automation import active as active_rules
from tickets.automation import rules, webhooks
from tickets.automation.facts import TicketFacts
from tickets.automation.timed import ANCHORS
from tickets.errors import InvalidInput
from tickets.ids import whole_number
from tickets.models import Automation, Ticket, TicketEvent, Trigger, Webhook, WebhookFormat
from tickets.services._common import Actor


def _checked(check: Any, data: Any) -> Any:
    try:
        return check(data)
    except rules.RuleError as wrong:
        raise InvalidInput(str(wrong), code="invalid_rule") from None


def _name(name: str, model: type[Trigger | Automation | Webhook], pk: int | None) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput(_("Give it a name."), code="name_required")
    longest = model._meta.get_field("name").max_length
    if longest is not None and len(name) > longest:
        raise InvalidInput(
            _("A name has at most %(longest)s characters.") % {"longest": longest},
            code="name_too_long",
        )
    _checked(
        lambda text: rules.refuse_nul(text, _("The name holds a NUL character; remove it.")), name
    )
    same = model._default_manager.filter(name__iexact=name)
    if (same.exclude(pk=pk) if pk is not None else same).exists():
        raise InvalidInput(
            _("There is already one called “%(name)s”.") % {"name": name}, code="name_taken"
        )
    return name


def trigger_save(
    *,
    trigger: Trigger | None,
    name: str,
    events: Any,
    conditions: Any,
    actions: Any,
    actor: Actor,
    description: str = "",
    active: bool = True,
    position: int | None = None,
) -> Trigger:
    """Create (trigger None) or change a trigger."""
    policy.refuse_unless_may(actor, "rules", _("manage rules"))
    trigger = trigger or Trigger(created_by=actor)
    trigger.name = _name(name, Trigger, trigger.pk)
    trigger.events = _checked(rules.check_events, events)
    trigger.conditions = _checked(rules.check_conditions, conditions)
    trigger.actions = _checked(rules.check_actions, actions)
    _check_webhook_actions(trigger.actions)
    trigger.description, trigger.active = _description(description), active
    if position is not None:
        trigger.position = _position(position)
    elif trigger.pk is None:
        last = Trigger.objects.order_by("-position").values_list("position", flat=True).first()
        trigger.position = (last or 0) + 1
    with transaction.atomic():
        trigger.save()
    active_rules.changed()
    return trigger


def automation_save(
    *,
    automation: Automation | None,
    name: str,
    since: str,
    hours: Any,
    conditions: Any,
    actions: Any,
    actor: Actor,
    business_hours: bool = False,
    description: str = "",
    active: bool = True,
) -> Automation:
    """Create (automation None) or change an automation."""
    policy.refuse_unless_may(actor, "rules", _("manage rules"))
    automation = automation or Automation(created_by=actor)
    automation.name = _name(name, Automation, automation.pk)
    if since not in ANCHORS:
        raise InvalidInput(
            _("Count the time from one of: %(choices)s.") % {"choices": ", ".join(ANCHORS)},
            code="invalid_rule",
        )
    automation.since = since
    statuses = [c for c in (conditions or {}).get("all", []) if isinstance(c, dict)]
    if since == "status_changed" and not any(
        c.get("field") == "status" and c.get("op") in ("is", "in") for c in statuses
    ):
        raise InvalidInput(
            _("Say which status the time is counted in (a condition: status is …)."),
            code="invalid_rule",
        )
    automation.hours = _hours(hours)
    automation.business_hours = business_hours
    automation.conditions = _checked(rules.check_conditions, conditions)
    automation.actions = _checked(rules.check_actions, actions)
    _check_webhook_actions(automation.actions)
    automation.description, automation.active = _description(description), active
    if automation.pk is None:
        last = Automation.objects.order_by("-position").values_list("position", flat=True)
        automation.position = (last.first() or 0) + 1
    automation.save()
    return automation


def _hours(value: Any) -> Decimal:
    try:
        hours = Decimal(str(value))
    except (InvalidOperation, ValueError):
        hours = Decimal("NaN")
    if not hours.is_finite():  # NaN cannot even be compared
        raise InvalidInput(_("Give the time in hours, e.g. 4 or 0.5."), code="invalid_rule")
    if not Decimal("0.01") <= hours <= Decimal("87600"):
        raise InvalidInput(_("The time is between 0.01 hours and ten years."), code="invalid_rule")
    return hours


# A rule's place in the order is a PositiveIntegerField: 32 bits on every database.
POSITION_MAX = 2**31 - 1


def _position(position: int) -> int:
    if not 0 <= position <= POSITION_MAX:
        raise InvalidInput(
            _("The position is a whole number from 0 to %(most)s.") % {"most": POSITION_MAX},
            code="invalid_rule",
        )
    return position


def position_from(text: str | None) -> int | None:
    """The position typed on a trigger's form (blank: keep its place; a new one goes last)."""
    if not (text or "").strip():
        return None
    number = whole_number(text)
    return _position(-1 if number is None else number)


def _description(text: str) -> str:
    _checked(
        lambda text: rules.refuse_nul(text, _("The description holds a NUL character; remove it.")),
        text,
    )
    return text.strip()


def _check_webhook_actions(actions: list[dict[str, Any]]) -> None:
    wanted = {a["value"] for a in actions if a["type"] == "webhook"}
    known = set(Webhook.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    if wanted - known:
        raise InvalidInput(
            _("There is no webhook %(webhook_id)s.") % {"webhook_id": min(wanted - known)},
            code="invalid_rule",
        )


def webhook_save(
    *,
    webhook: Webhook | None,
    name: str,
    url: str,
    events: Any,
    actor: Actor,
    format: str = WebhookFormat.HELPDESK,
    active: bool = True,
    allow_private_network: bool = False,
) -> Webhook:
    """Create (webhook None) or change a webhook; its address is checked (no private
    network unless allowed)."""
    policy.refuse_unless_may(actor, "settings", _("manage webhooks"))
    webhook = webhook or Webhook()
    webhook.name = _name(name, Webhook, webhook.pk)
    if format not in WebhookFormat.values:
        raise InvalidInput(
            _("The format is one of %(choices)s.") % {"choices": ", ".join(WebhookFormat.values)}
        )
    url = url.strip()
    webhooks.check_target(url, allow_private=allow_private_network)
    subscribed = _checked(rules.check_events, events) if events else []
    webhook.url, webhook.format, webhook.events = url, format, subscribed
    webhook.active, webhook.allow_private_network = active, allow_private_network
    webhook.save()
    active_rules.changed()
    return webhook


def rule_delete(*, rule: Trigger | Automation | Webhook, actor: Actor) -> None:
    if isinstance(rule, Webhook):
        policy.refuse_unless_may(actor, "settings", _("manage webhooks"))
    policy.refuse_unless_may(actor, "rules", _("manage rules"))
    rule.delete()
    active_rules.changed()


@dataclass(frozen=True)
class Preview:
    """What a trigger would do to a ticket now, without doing it."""

    event: str
    conditions: list[tuple[str, bool]]  # each condition in words, and whether it holds
    fires: bool
    actions: list[str]


def trigger_preview(*, trigger: Trigger, ticket: Ticket, event: str = "") -> Preview:
    """Whether `trigger` would act on `ticket` for `event` (its first event unless given),
    judged on the ticket as it is and its latest event of that kind, and what it would do."""
    from django.utils import timezone

    event = event if event in trigger.events else trigger.events[0]
    latest = _latest_event(ticket, event)
    facts = TicketFacts(ticket, latest, timezone.now())
    checks = [
        (rules.describe_condition(c), rules.holds({"all": [c]}, facts))
        for c in trigger.conditions.get("all", [])
    ]
    some = trigger.conditions.get("any", [])
    checks += [
        (f"or: {rules.describe_condition(c)}", rules.holds({"all": [c]}, facts)) for c in some
    ]
    return Preview(
        event=str(rules.EVENTS[event]),
        conditions=checks,
        fires=rules.holds(trigger.conditions, facts),
        actions=[rules.describe_action(a) for a in trigger.actions],
    )


def _latest_event(ticket: Ticket, event: str) -> TicketEvent | None:
    kinds = [kind for kind, name in rules.KIND_NAMES.items() if name == event]
    return ticket.events.filter(kind__in=kinds).order_by("-created_at", "-id").first()
