"""Automations: rules on time ("waiting on the customer for 3 business days: remind them").

A beat task runs `run_automations` every minute. Each automation selects the tickets whose
clock (its `since`: a moment kept as an indexed column) started at least its hours ago,
through an index of the open tickets and the conditions that narrow it (status, tier,
assignee), never by reading every ticket; its other conditions and business hours are then
checked in Python on those few. It acts once per ticket for each start of that clock (the
firing record's constraint), through the same services as triggers, as
"Automation: <name>".

Each ticket is handled in a savepoint of its own (tickets.automation.isolation, as the
triggers' batch is): an error of ours on one (a bug, a stored value the rules cannot read)
undoes what the automation did to it, is logged with its traceback and said on the ticket
("Rule could not act"), and the run goes on. Like a refusal, it counts as that start of the
ticket's clock handled: the automation does not try the ticket again, nor say so again,
every minute (nor fill its batch with tickets that fail), until the clock starts again. An
outage (the database gone) is raised on, for the task's retry. When even the failure
cannot be said on the ticket, that start of its clock is still marked handled.

Each automation's own selection (its query) is kept apart too: one whose stored conditions
cannot be read is skipped and the others act; it is logged, shown on its page and told to
the admins and leads once, until a run selects its tickets again.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext_noop

from helpdesk.faults import is_transient
from tickets import sla
from tickets.automation import actions, isolation
from tickets.automation.facts import TicketFacts, calendar_for
from tickets.automation.rules import holds
from tickets.errors import DomainError
from tickets.models import (
    ACTIVE_STATUSES,
    Automation,
    AutomationFiring,
    EventKind,
    Ticket,
)
from tickets.roles import lead_and_admin_ids
from tickets.services import desk_setup
from tickets.services._common import record_event
from tickets.services.notices import Said, notify_staff

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Anchor:
    label: str
    column: str  # the ticket's column (or a related one) the clock starts at


# What an automation's time counts from.
ANCHORS: dict[str, Anchor] = {
    "status_changed": Anchor("Since it entered its present status", "status_since"),
    "created": Anchor("Since it was created", "created_at"),
    "customer_waiting": Anchor(
        "Since the customer has waited for an answer", "awaiting_reply_since"
    ),
    "last_message": Anchor("Since the last message", "last_message_at"),
    "tier_entered": Anchor("Since it entered its present tier", "metrics__tier_since"),
}
# Tickets one automation handles in one run; the rest wait for the next minute. They are
# read from the table a few at a time, as they are handled.
BATCH = 500
READ_AT_ONCE = 50
# Conditions that become SQL (and so narrow the index range); the rest are checked after.
_SQL_FIELDS = {"status": "status", "tier": "tier_id", "priority": "priority",
               "channel": "channel"}  # fmt: skip


def due_ids(automation: Automation, now: datetime) -> QuerySet[Ticket, tuple[int, datetime]]:
    """(id, clock start) of the tickets whose clock started at least the automation's hours
    ago and that it has not acted on for that start, oldest first: a range of an index of
    the open tickets, and its firings' unique index, both read without their tables."""
    column = ANCHORS[automation.since].column
    cutoff = now - timedelta(hours=float(automation.hours))
    fired = AutomationFiring.objects.filter(
        automation=automation, ticket=OuterRef("pk"), anchor_at=OuterRef(column)
    )
    tickets = (
        Ticket.objects.filter(**{f"{column}__lte": cutoff}, merged_into__isnull=True)
        .filter(_sql_conditions(automation.conditions.get("all", [])))
        .exclude(Exists(fired))
    )
    if automation.since != "status_changed":
        tickets = tickets.filter(status__in=ACTIVE_STATUSES)
    else:
        tickets = tickets.exclude(status="closed")
    return tickets.order_by(column, "pk").values_list("pk", column)


def _read(starts: dict[int, datetime]) -> list[Ticket]:
    """These tickets with what the rules ask of them, each with its clock's start as
    `anchor`, in the order given."""
    tickets = Ticket.objects.select_related("customer", "tier", "assignee").in_bulk(starts)
    for pk, ticket in tickets.items():
        ticket.anchor = starts[pk]  # type: ignore[attr-defined]
    return [tickets[pk] for pk in starts if pk in tickets]


def _sql_conditions(conditions: list[dict[str, Any]]) -> Q:
    narrowed = Q()
    for condition in conditions:
        column, op, value = _SQL_FIELDS.get(condition["field"]), condition["op"], condition["value"]
        if column == "tier_id" and op in ("is", "in"):  # levels to ids: the index has ids
            value = _tier_ids(value if op == "in" else [value])
            op = "in"
        if column and op == "is":
            narrowed &= Q(**{column: value})
        elif column and op == "in":
            narrowed &= Q(**{f"{column}__in": value})
        elif condition["field"] == "assignee" and op == "is_empty":
            narrowed &= Q(assignee__isnull=True)
        elif condition["field"] == "assignee" and op == "is":
            narrowed &= Q(assignee_id=value)
    return narrowed


def _tier_ids(levels: list[int]) -> list[int]:
    tiers = desk_setup.current().tiers
    return [tiers[level].pk for level in levels if level in tiers]


def run_automations(*, now: datetime | None = None) -> int:
    """Run every active automation once; returns how many times they acted."""
    now = now or timezone.now()
    acted = 0
    for automation in Automation.objects.filter(active=True).order_by("position", "id"):
        starts = _select_apart(automation, now)
        if starts is None:
            continue  # its own selection failed: said on it, the others still run
        for first in range(0, len(starts), READ_AT_ONCE):
            for ticket in _read(dict(starts[first : first + READ_AT_ONCE])):
                acted += _act_apart(automation, ticket, now)
    return acted


def _select_apart(automation: Automation, now: datetime) -> list[tuple[int, datetime]] | None:
    """The automation's due tickets, selected in a savepoint of their own: None when an
    error of ours (a stored condition it cannot read) stopped its query, after saying so on
    the automation. An outage is raised on, for the task's retry."""
    starts = isolation.apart(
        lambda: list(due_ids(automation, now)[:BATCH]),
        report=lambda error: _report_broken(automation, error, now),
    )
    if starts is not None and automation.failing_since is not None:
        Automation.objects.filter(pk=automation.pk).update(failing_since=None, failure="")
        logger.info("automation %s (%s) selects its tickets again", automation.pk, automation.name)
    return starts


def _report_broken(automation: Automation, error: Exception, now: datetime) -> None:
    """The automation could not select its tickets: logged with its traceback, kept on the
    automation (its page shows it) and told to the admins and leads, once until it selects
    again, not every minute."""
    if automation.failing_since is not None:
        logger.debug("automation %s still cannot select its tickets", automation.pk)
        return
    logger.exception(
        "automation %s (%s): %s selecting its tickets; it is skipped, the others run",
        automation.pk,
        automation.name,
        type(error).__name__,
    )
    # Kept in the default language, as what is kept is; the error's type only (its message
    # can quote stored values).
    failure = type(error).__name__[:500]
    with transaction.atomic():
        marked = Automation.objects.filter(pk=automation.pk, failing_since__isnull=True).update(
            failing_since=now, failure=failure
        )
        if marked:
            notify_staff(
                user_ids=lead_and_admin_ids(),
                kind="rule_stopped",
                text=Said(
                    gettext_noop(
                        "Automation “%(name)s” could not run: an unexpected error (%(error)s) "
                        "stopped the selection of its tickets. The details are in the server "
                        "log."
                    ),
                    {"name": automation.name, "error": failure},
                ),
                now=now,
            )


def _act_apart(automation: Automation, ticket: Ticket, now: datetime) -> int:
    """The automation on one ticket, in a savepoint of its own."""
    return (
        isolation.apart(
            lambda: _maybe_act(automation, ticket, now),
            report=lambda error: _report_error(automation, ticket, error),
        )
        or 0
    )


def _maybe_act(automation: Automation, ticket: Ticket, now: datetime) -> int:
    anchor: datetime = ticket.anchor  # type: ignore[attr-defined]
    if automation.business_hours and not _business_hours_passed(automation, ticket, anchor, now):
        return 0
    if not holds(automation.conditions, TicketFacts(ticket, None, now)):
        return 0
    firing = AutomationFiring(automation=automation, ticket=ticket, anchor_at=anchor)
    try:
        # A refusal is kept on the ticket: in the default language, as history is.
        with translation.override(settings.LANGUAGE_CODE):
            actions.perform(automation, firing, ticket=ticket, event=None)
    except IntegrityError:
        return 0  # another run acted already
    except DomainError as refusal:
        logger.info(
            "automation %s could not act on %s: %s", automation.pk, ticket.reference, refusal
        )
        _say_once(automation, ticket, anchor, str(refusal))
        return 0
    return 1


def _business_hours_passed(
    automation: Automation, ticket: Ticket, anchor: datetime, now: datetime
) -> bool:
    calendar = calendar_for(ticket)
    if calendar is None:
        return True
    worked = sla.business_minutes_between(anchor, now, calendar)
    return worked >= float(automation.hours) * 60


def _report_error(automation: Automation, ticket: Ticket, error: Exception) -> None:
    """An unexpected error stopped the automation on the ticket: logged with its traceback,
    and said on the ticket as a refusal is. When even that cannot be written, the start of
    the ticket's clock is still marked handled, so the ticket is not tried (and logged)
    again every minute."""
    logger.exception(
        "automation %s (%s): %s on %s; its changes there undone, the run goes on",
        automation.pk,
        automation.name,
        type(error).__name__,
        ticket.reference,
    )
    anchor: datetime = ticket.anchor  # type: ignore[attr-defined]
    try:
        _say_once(automation, ticket, anchor, isolation.unexpected(error))
    except Exception as unsaid:
        if is_transient(unsaid):
            raise
        logger.exception(
            "automation %s: could not say the failure on %s; marked handled without it",
            automation.pk,
            ticket.reference,
        )
        with transaction.atomic():
            AutomationFiring.objects.get_or_create(
                automation=automation, ticket=ticket, anchor_at=anchor
            )


def _say_once(automation: Automation, ticket: Ticket, anchor: datetime, error: str) -> None:
    """The automation could not act (a closed ticket, an agent gone, an error of ours): said
    once on the ticket, and not tried again for this start of its clock."""
    with transaction.atomic():
        _, created = AutomationFiring.objects.get_or_create(
            automation=automation, ticket=ticket, anchor_at=anchor
        )
        if created:
            record_event(
                ticket,
                EventKind.RULE_FAILED,
                actor=None,
                label=f"Automation: {automation.name}",
                automation=automation.pk,
                error=error[:500],
            )
