"""Rules in the workspace, for admins and leads (webhooks: admins only): triggers,
automations and webhooks built in the browser (rows of conditions and actions), tried on a
ticket, and webhooks' delivery logs. What a rule means is checked by tickets.automation
(manage, rules), not here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from tickets import policy
from tickets.automation import manage, rules, webhooks
from tickets.automation.timed import ANCHORS
from tickets.errors import DomainError, InvalidInput, NotAllowed
from tickets.fields import selectors as field_selectors
from tickets.ids import whole_number
from tickets.models import (
    Automation,
    Ticket,
    Trigger,
    Webhook,
    WebhookDelivery,
    WebhookFormat,
)
from tickets.roles import is_admin, role_of
from tickets.selectors import ticket_id_from_reference
from tickets.workspace import sidebar
from tickets.workspace.access import agent_required

# Blank rows offered beside a rule's own; "More rows" adds as many again.
BLANK_ROWS = 2
_MANY_OPS = {"in", "not_in", "contains_any", "contains_all", "contains_none"}
# What an action's second box holds, by action type.
DETAILS = {
    "set_tier": "note",
    "message_customer": "subject",
    "notify": "to",
    "webhook": "text",
}


def _admin(request: HttpRequest) -> User:
    if not is_admin(request.user):
        raise PermissionDenied(_("Webhooks are set up by admins."))
    assert isinstance(request.user, User)
    return request.user


def _rules_manager(request: HttpRequest) -> User:
    """Admins and leads manage triggers and automations (tickets.policy, "rules")."""
    if not policy.may(role_of(request.user), "rules"):
        raise PermissionDenied(_("Rules are set up by admins and leads."))
    assert isinstance(request.user, User)
    return request.user


def _context(user: User, **extra: Any) -> dict[str, Any]:
    return {**sidebar.sidebar(user, now=timezone.now()), "view": "rules", **extra}


@agent_required
@require_http_methods(["GET"])
def rules_home(request: HttpRequest) -> HttpResponse:
    user = _rules_manager(request)
    return render(
        request,
        "agent/rules/home.html",
        _context(
            user,
            triggers=Trigger.objects.all(),
            automations=Automation.objects.all(),
            webhooks=Webhook.objects.all() if is_admin(user) else None,
            events=rules.EVENTS,
        ),
    )


# --- Rows of conditions and actions ---------------------------------------------------------


@dataclass
class Rows:
    """A rule's conditions and actions as the form shows them (and as it was posted)."""

    conditions: list[dict[str, str]] = field(default_factory=list)
    actions: list[dict[str, str]] = field(default_factory=list)

    def with_blanks(self, extra: int = BLANK_ROWS) -> Rows:
        blank_condition = {"group": "all", "field": "", "op": "", "value": ""}
        blank_action = {"type": "", "value": "", "details": ""}
        return Rows(
            self.conditions + [dict(blank_condition) for _ in range(extra)],
            self.actions + [dict(blank_action) for _ in range(extra)],
        )


def rows_of(conditions: dict[str, Any], actions: list[dict[str, Any]]) -> Rows:
    """A stored rule as rows. A part stored incomplete (an old import, a rule the runs
    cannot read) shows as far as it goes, so the admin can open the rule and mend it."""
    shown = Rows()
    for group in ("all", "any"):
        for c in conditions.get(group, []) if isinstance(conditions, dict) else []:
            if not isinstance(c, dict):
                continue
            value = c.get("value")
            text = ", ".join(map(str, value)) if isinstance(value, list) else value
            shown.conditions.append(
                {"group": group, "field": _text(c.get("field")), "op": _text(c.get("op")),
                 "value": _text(text)}
            )  # fmt: skip
    for a in actions if isinstance(actions, list) else []:
        if not isinstance(a, dict):
            continue
        kind = _text(a.get("type"))
        details = a.get(DETAILS.get(kind, ""), "")
        value = a.get("value")
        if kind in ("add_tags", "remove_tags") and isinstance(value, list):
            value = ", ".join(map(str, value))
        if kind == "notify" and isinstance(a.get("to"), list):
            details = ", ".join(map(str, a["to"]))
        shown.actions.append({"type": kind, "value": _text(value), "details": _text(details)})
    return shown


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def posted_rows(data: Any) -> Rows:
    """The rows as posted, blank ones left out."""
    posted = Rows()
    groups, fields_, ops, values = (
        data.getlist(name) for name in ("cond_group", "cond_field", "cond_op", "cond_value")
    )
    for group, name, op, value in zip(groups, fields_, ops, values, strict=False):
        if name or op or value.strip():
            posted.conditions.append({"group": group, "field": name, "op": op, "value": value})
    types, act_values, details = (
        data.getlist(name) for name in ("act_type", "act_value", "act_details")
    )
    for kind, value, detail in zip(types, act_values, details, strict=False):
        if kind or value.strip() or detail.strip():
            posted.actions.append({"type": kind, "value": value, "details": detail})
    return posted


def rule_of(rows: Rows) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """The rows as the rule's data, unchecked (tickets.automation.manage checks it)."""
    conditions: dict[str, list[dict[str, Any]]] = {"all": [], "any": []}
    for row in rows.conditions:
        value: Any = row["value"].strip()
        if row["op"] in _MANY_OPS:
            value = [v.strip() for v in value.split(",") if v.strip()]
        group = row["group"] if row["group"] in conditions else "all"
        conditions[group].append({"field": row["field"], "op": row["op"], "value": value})
    actions = [_action(row) for row in rows.actions]
    return conditions, actions


def _action(row: dict[str, str]) -> dict[str, Any]:
    kind, value, details = row["type"], row["value"].strip(), row["details"].strip()
    action: dict[str, Any] = {"type": kind, "value": value}
    if kind in ("add_tags", "remove_tags"):
        action["value"] = [t.strip() for t in value.split(",") if t.strip()]
    elif kind == "notify":
        action["to"] = [_number_or_word(t.strip()) for t in details.split(",") if t.strip()]
    elif kind in DETAILS:
        action[DETAILS[kind]] = details
    return action


def _number_or_word(text: str) -> int | str:
    number = whole_number(text)
    return text if number is None else number


def _posted_rule(request: HttpRequest) -> tuple[Rows, dict[str, Any]]:
    """The posted rows, and what triggers and automations are saved with alike."""
    rows = posted_rows(request.POST)
    conditions, actions = rule_of(rows)
    return rows, {
        "name": request.POST.get("name", ""),
        "description": request.POST.get("description", ""),
        "active": "active" in request.POST,
        "conditions": conditions,
        "actions": actions,
    }


def _builder_context(rows: Rows, more: bool) -> dict[str, Any]:
    # Custom fields (tickets.fields), asked about as field:<key>.
    custom = [
        (
            rules.CUSTOM_PREFIX + key,
            rules.custom_field(key, _("Field: %(label)s") % {"label": field.agent_label}),
            ", ".join(c.value for c in field.choices.all()),
        )
        for key, field in field_selectors.active_fields().items()
    ]
    return {
        "rows": rows.with_blanks(BLANK_ROWS * (2 if more else 1)),
        "fields": [
            *((name, f.label) for name, f in rules.FIELDS.items()),
            *((name, f.label) for name, f, _ in custom),
        ],
        "ops": sorted({op for f in rules.FIELDS.values() for op in f.ops} | {*rules.CUSTOM_OPS}),
        "field_help": [
            *((f.label, ", ".join(f.ops), ", ".join(f.choices)) for f in rules.FIELDS.values()),
            *((f.label, ", ".join(f.ops), choices) for _, f, choices in custom),
        ],
        "action_types": [(name, label) for name, (label, _) in rules.ACTIONS.items()],
        "action_help": [(label, what) for label, what in rules.ACTIONS.values()],
        "all_webhooks": Webhook.objects.all(),
    }


# --- Triggers ---------------------------------------------------------------------------------


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def trigger_edit(request: HttpRequest, trigger_id: int | None = None) -> HttpResponse:
    user = _rules_manager(request)
    trigger = get_object_or_404(Trigger, pk=trigger_id) if trigger_id else None
    if request.method == "POST" and "save" in request.POST:
        rows, common = _posted_rule(request)
        try:
            saved = manage.trigger_save(
                trigger=trigger,
                events=request.POST.getlist("events"),
                position=manage.position_from(request.POST.get("position")),
                actor=user,
                **common,
            )
        except InvalidInput as wrong:
            return _trigger_form(request, user, trigger, rows, error=wrong.message, status=400)
        messages.success(request, _("Trigger “%(name)s” saved.") % {"name": saved.name})
        return redirect("agent:trigger", trigger_id=saved.pk)
    if request.method == "POST":  # "More rows": the form again, as posted, with more rows
        return _trigger_form(request, user, trigger, posted_rows(request.POST), more=True)
    rows = rows_of(trigger.conditions, trigger.actions) if trigger else Rows()
    preview, tried = None, request.GET.get("try", "").strip()
    error = ""
    if trigger and tried:
        found = _ticket_by_reference(tried)
        if found is None:
            error = _("There is no ticket %(reference)s.") % {"reference": tried}
        else:
            preview = manage.trigger_preview(
                trigger=trigger, ticket=found, event=request.GET.get("event", "")
            )
    return _trigger_form(request, user, trigger, rows, preview=preview, tried=tried, error=error)


def _trigger_form(
    request: HttpRequest,
    user: User,
    trigger: Trigger | None,
    rows: Rows,
    *,
    more: bool = False,
    error: str = "",
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    posted = request.method == "POST"
    values = {
        "name": request.POST.get("name", "") if posted else (trigger.name if trigger else ""),
        "description": request.POST.get("description", "")
        if posted
        else (trigger.description if trigger else ""),
        "active": ("active" in request.POST) if posted else (trigger.active if trigger else True),
        "events": request.POST.getlist("events") if posted else (trigger.events if trigger else []),
        "position": request.POST.get("position", "")
        if posted
        else (trigger.position if trigger else ""),
    }
    context = _context(
        user,
        trigger=trigger,
        values=values,
        events=list(rules.EVENTS.items()),
        error=error,
        **_builder_context(rows, more),
        **extra,
    )
    return render(request, "agent/rules/trigger.html", context, status=status)


def _ticket_by_reference(text: str) -> Ticket | None:
    pk = ticket_id_from_reference(text)
    if pk is None:
        return None
    return Ticket.objects.select_related("customer", "tier", "sla_policy").filter(pk=pk).first()


@agent_required
@require_POST
def rule_delete(request: HttpRequest, kind: str, rule_id: int) -> HttpResponse:
    _rules_manager(request)
    rule: Trigger | Automation | Webhook
    if kind == "trigger":
        rule = get_object_or_404(Trigger, pk=rule_id)
    elif kind == "automation":
        rule = get_object_or_404(Automation, pk=rule_id)
    elif kind == "webhook":
        rule = get_object_or_404(Webhook, pk=rule_id)
    else:
        raise PermissionDenied
    try:
        manage.rule_delete(rule=rule, actor=request.user)  # type: ignore[arg-type]
    except NotAllowed as refused:  # a lead and a webhook: the service says no
        raise PermissionDenied(refused.message) from None
    messages.success(request, _("“%(name)s” deleted.") % {"name": rule.name})
    return redirect("agent:rules")


# --- Automations ------------------------------------------------------------------------------


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def automation_edit(request: HttpRequest, automation_id: int | None = None) -> HttpResponse:
    user = _rules_manager(request)
    automation = get_object_or_404(Automation, pk=automation_id) if automation_id else None
    if request.method == "POST" and "save" in request.POST:
        rows, common = _posted_rule(request)
        try:
            saved = manage.automation_save(
                automation=automation,
                since=request.POST.get("since", ""),
                hours=request.POST.get("hours", ""),
                business_hours="business_hours" in request.POST,
                actor=user,
                **common,
            )
        except InvalidInput as wrong:
            return _automation_form(
                request, user, automation, rows, error=wrong.message, status=400
            )
        messages.success(request, _("Automation “%(name)s” saved.") % {"name": saved.name})
        return redirect("agent:automation", automation_id=saved.pk)
    if request.method == "POST":
        return _automation_form(request, user, automation, posted_rows(request.POST), more=True)
    rows = rows_of(automation.conditions, automation.actions) if automation else Rows()
    return _automation_form(request, user, automation, rows)


def _automation_form(
    request: HttpRequest,
    user: User,
    automation: Automation | None,
    rows: Rows,
    *,
    more: bool = False,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    posted, a = request.method == "POST", automation
    values = {
        "name": request.POST.get("name", "") if posted else (a.name if a else ""),
        "description": request.POST.get("description", "")
        if posted
        else (a.description if a else ""),
        "active": ("active" in request.POST) if posted else (a.active if a else True),
        "since": request.POST.get("since", "") if posted else (a.since if a else "status_changed"),
        "hours": request.POST.get("hours", "") if posted else (_hours(a.hours) if a else ""),
        "business_hours": ("business_hours" in request.POST)
        if posted
        else (a.business_hours if a else False),
    }
    context = _context(
        user,
        automation=automation,
        values=values,
        anchors=[(name, anchor.label) for name, anchor in ANCHORS.items()],
        error=error,
        **_builder_context(rows, more),
    )
    return render(request, "agent/rules/automation.html", context, status=status)


def _hours(value: Any) -> str:
    return format(value.normalize(), "f")


# --- Webhooks ---------------------------------------------------------------------------------

LOG_PAGE = 50


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def webhook_edit(request: HttpRequest, webhook_id: int | None = None) -> HttpResponse:
    user = _admin(request)
    hook = get_object_or_404(Webhook, pk=webhook_id) if webhook_id else None
    error, status = "", 200
    if request.method == "POST":
        try:
            saved = manage.webhook_save(
                webhook=hook,
                name=request.POST.get("name", ""),
                url=request.POST.get("url", ""),
                format=request.POST.get("format", WebhookFormat.HELPDESK),
                events=request.POST.getlist("events"),
                active="active" in request.POST,
                allow_private_network="allow_private_network" in request.POST,
                actor=user,
            )
        except InvalidInput as wrong:
            error, status = wrong.message, 400
        else:
            messages.success(request, _("Webhook “%(name)s” saved.") % {"name": saved.name})
            return redirect("agent:webhook", webhook_id=saved.pk)
    posted = request.method == "POST"
    values = {
        "name": request.POST.get("name", "") if posted else (hook.name if hook else ""),
        "url": request.POST.get("url", "") if posted else (hook.url if hook else ""),
        "format": request.POST.get("format", "") if posted else (hook.format if hook else ""),
        "events": request.POST.getlist("events") if posted else (hook.events if hook else []),
        "active": ("active" in request.POST) if posted else (hook.active if hook else True),
        "allow_private_network": ("allow_private_network" in request.POST)
        if posted
        else (hook.allow_private_network if hook else False),
    }
    deliveries = (
        WebhookDelivery.objects.filter(webhook=hook)
        .select_related("ticket")
        .prefetch_related("tries")
        .order_by("-created_at", "-id")[:LOG_PAGE]
        if hook
        else []
    )
    context = _context(
        user,
        hook=hook,
        values=values,
        formats=WebhookFormat.choices,
        events=list(rules.EVENTS.items()),
        deliveries=deliveries,
        off=webhooks.off_reason(hook) if hook else None,
        error=error,
    )
    return render(request, "agent/rules/webhook.html", context, status=status)


@agent_required
@require_POST
def webhook_redeliver(request: HttpRequest, delivery_id: int) -> HttpResponse:
    user = _admin(request)
    delivery = get_object_or_404(WebhookDelivery, pk=delivery_id)
    try:
        webhooks.redeliver(delivery=delivery, actor=user)
    except DomainError as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(
            request, _("Delivery %(number)s will be sent again.") % {"number": delivery.pk}
        )
    return redirect("agent:webhook", webhook_id=delivery.webhook_id)


@agent_required
@require_POST
def webhook_enable(request: HttpRequest, webhook_id: int) -> HttpResponse:
    user = _admin(request)
    hook = get_object_or_404(Webhook, pk=webhook_id)
    webhooks.enable(webhook=hook, actor=user)
    messages.success(request, _("Webhook “%(name)s” is on again.") % {"name": hook.name})
    return redirect("agent:webhook", webhook_id=hook.pk)
