"""Feeding the rules the events the services write, and applying what they decide.

Every written event reaches `on_events` (registered in AppConfig.ready). After commit, when
any trigger or webhook subscription is active, a task on the `rules` queue runs `dispatch`:
per ticket, each event is offered to the active triggers in order and to the webhooks
subscribed to it. A trigger that fires acts through the services as "Trigger: <name>",
in one transaction with its firing record (so it acts at most once per event, even if the
task runs again). The events its changes write are offered to the triggers in turn, as a
cascade. A trigger that would change the ticket again in answer to changes its own action
led to is a loop, and one that would act more than HELPDESK_RULES_MAX_DEPTH rules deep in
a chain is stopped; both are reported on the ticket and to the admins. (One whose actions
would change nothing, a tag already there, is simply passed over.)

A batch's tickets are each handled in a savepoint of their own: an error of ours on one (a
bug, a stored value the rules cannot read) undoes what the rules did to that ticket, is
logged with its traceback and recorded on it ("Rule could not act"), and the batch goes on
with the next ticket; the task ends normally, so the failing ticket is not tried again and
again. An outage (the database gone) is raised on, for the task's retry.
"""

import logging
from collections import deque
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_noop

from tickets.automation import actions, active, isolation, webhooks
from tickets.automation.facts import TicketFacts
from tickets.automation.rules import event_name, holds
from tickets.errors import DomainError
from tickets.models import EventKind, Ticket, TicketEvent, Trigger, TriggerFiring
from tickets.roles import admin_ids
from tickets.services._common import message_in_hand, record_event
from tickets.services.notices import Said, notify_agents

logger = logging.getLogger(__name__)


@dataclass
class _Cascade:
    """The events a rule's actions wrote, collected instead of dispatched on their own."""

    caused: list[TicketEvent] = field(default_factory=list)


_cascade: ContextVar[_Cascade | None] = ContextVar("rules_cascade", default=None)


def on_events(events: list[TicketEvent]) -> None:
    """Told of every event written: inside a rule's actions they join its cascade; otherwise
    they are dispatched after commit."""
    cascade = _cascade.get()
    if cascade is not None:
        cascade.caused.extend(events)
        return
    transaction.on_commit(lambda: _schedule(events))


def _schedule(events: list[TicketEvent]) -> None:
    """Queue the `rules` task for these events if a webhook subscribes to one of them, or a
    trigger's conditions hold for one as the door left its ticket. Most events (a customer's
    reply no trigger is about) end here, at the cost of the conditions they ask: no task."""
    rules = active.current()
    if not rules.in_use or not _worth_a_task(events, rules):
        return
    from tickets.automation.tasks import dispatch_events

    dispatch_events.delay([event.pk for event in events])


def _worth_a_task(events: list[TicketEvent], rules: active.ActiveRules) -> bool:
    opened = {e.ticket_id for e in events if e.kind == EventKind.CREATED}
    names = [event_name(e.kind, opens_ticket=e.ticket_id in opened) for e in events]
    if any(name in hook.events for hook in rules.hooks for name in names):
        return True
    now = timezone.now()
    shared_by_ticket: dict[int, dict[str, Any]] = {}
    try:
        for event, name in zip(events, names, strict=True):
            if name is None or name not in rules.listened:
                continue
            shared = shared_by_ticket.setdefault(event.ticket_id, _known(event, opened, events))
            facts = TicketFacts(event.ticket, event, now, shared)
            if any(name in t.events and holds(t.conditions, facts) for t in rules.triggers):
                return True
    except Exception:  # a fact the door's objects cannot give: the task reads afresh
        logger.warning("rules: could not judge events at the door", exc_info=True)
        return True
    return False


def _known(event: TicketEvent, opened: set[int], events: list[TicketEvent]) -> dict[str, Any]:
    """What is known of the event's ticket without asking: a ticket opened by these events
    and given no tags in them has none, and its latest message is the one it was opened
    with (when the door still has it in hand)."""
    ticket_id = event.ticket_id
    if ticket_id not in opened:
        return {}
    own = [e for e in events if e.ticket_id == ticket_id]
    known: dict[str, Any] = {}
    if not any(e.kind == EventKind.TAGS_CHANGED for e in own):
        known["tags"] = set()
    received = [message_in_hand(e) for e in own if e.kind == EventKind.MESSAGE_RECEIVED]
    if len(received) == 1 and received[0] is not None:
        known["latest_message"] = received[0]
    return known


def rules_in_use() -> bool:
    return active.current().in_use


def forget_rules_in_use() -> None:
    """Read the active rules again at the next use (this process only)."""
    active.forget()


def dispatch(event_ids: Iterable[int], *, now: datetime | None = None) -> int:
    """Offer these events to the triggers and the webhook subscriptions; returns how many
    triggers acted."""
    rules = active.current()
    if not rules.in_use:
        return 0
    events = list(
        TicketEvent.objects.filter(pk__in=list(event_ids))
        .select_related("ticket__customer", "ticket__tier", "ticket__assignee")
        .order_by("ticket_id", "id")
    )
    opened = {e.ticket_id for e in events if e.kind == EventKind.CREATED}
    run = _Run(rules, opened, now or timezone.now())
    by_ticket: dict[int, list[TicketEvent]] = {}
    for event in events:
        by_ticket.setdefault(event.ticket_id, []).append(event)
    for ticket_events in by_ticket.values():
        run.ticket_apart(ticket_events)
    return run.acted


class _Run:
    def __init__(self, rules: active.ActiveRules, opened: set[int], now: datetime) -> None:
        self.triggers, self.hooks, self.listened = rules.triggers, rules.hooks, rules.listened
        self.opened, self.now = opened, now
        self.fired: set[tuple[int, int]] = set()
        self.acted = 0
        self.stopped: set[tuple[int, int]] = set()
        self.max_depth = int(settings.HELPDESK_RULES_MAX_DEPTH)
        # The trigger being tried, to name in a failure's report.
        self.trying: Trigger | None = None

    def ticket_apart(self, events: list[TicketEvent]) -> None:
        """The ticket's cascade in a savepoint of its own (tickets.automation.isolation): an
        error of ours undoes it and is reported on the ticket, and the batch's other tickets
        go on; an outage is raised on."""
        acted, fired, self.trying = self.acted, set(self.fired), None

        def report(error: Exception) -> None:
            self.acted, self.fired = acted, fired
            _report_error(self.trying, events[0], error)

        isolation.apart(lambda: self.ticket_cascade(events), report=report)

    def ticket_cascade(self, events: list[TicketEvent]) -> None:
        # The ticket as read with its events; read again once a trigger changed it.
        ticket: Ticket | None = events[0].ticket
        if ticket is None or ticket.merged_into_id is not None:
            return
        # The ticket's facts that are the same for each of its events.
        shared = _known(events[0], self.opened, events)
        # Each event with the triggers whose changes led to it, first to last.
        pending: deque[tuple[TicketEvent, tuple[int, ...]]] = deque((e, ()) for e in events)
        while pending and ticket is not None:
            event, chain = pending.popleft()
            name = event_name(event.kind, opens_ticket=event.ticket_id in self.opened)
            if name is None or name not in self.listened:
                continue
            self._tell_webhooks(name, event, ticket)
            facts = TicketFacts(ticket, event, self.now, shared)
            for trigger in self.triggers:
                if name not in trigger.events or (trigger.pk, event.pk) in self.fired:
                    continue
                self.trying = trigger
                if not holds(trigger.conditions, facts):
                    continue
                if not actions.would_change(trigger.actions, ticket, facts):
                    continue  # what it would do is done
                if trigger.pk in chain or len(chain) >= self.max_depth:
                    self._stop(trigger, ticket, looped=trigger.pk in chain)
                    continue
                caused = self._act(trigger, ticket, event)
                if caused is None:
                    continue
                # A later trigger on this event acts on what this one changed: after it.
                chain = (*chain, trigger.pk)
                pending.extend((later, chain) for later in caused)
                ticket = _read_ticket(event.ticket_id)  # later triggers see the changes
                if ticket is None:
                    return
                shared = {}
                facts = TicketFacts(ticket, event, self.now, shared)
            self.trying = None

    def _stop(self, trigger: Trigger, ticket: Ticket, *, looped: bool) -> None:
        """Report a stopped trigger, once per ticket in a run."""
        if (trigger.pk, ticket.pk) not in self.stopped:
            self.stopped.add((trigger.pk, ticket.pk))
            _report_stop(trigger, ticket, looped=looped)

    def _tell_webhooks(self, name: str, event: TicketEvent, ticket: Ticket) -> None:
        subscribed = [hook for hook in self.hooks if name in hook.events]
        if subscribed:
            with transaction.atomic():
                webhooks.subscribed(name, event, ticket, subscribed)

    def _act(
        self, trigger: Trigger, ticket: Ticket, event: TicketEvent
    ) -> list[TicketEvent] | None:
        """The trigger's actions with its firing, in one transaction; the events they
        wrote, or None if it had fired already or could not act."""
        cascade = _Cascade()
        token = _cascade.set(cascade)
        try:
            firing = TriggerFiring(trigger=trigger, event=event, ticket=ticket)
            # A refusal is kept on the ticket: in the default language, as history is.
            with translation.override(settings.LANGUAGE_CODE):
                actions.perform(trigger, firing, ticket=ticket, event=event)
        except IntegrityError:
            return None  # a run before this one acted on this event (the task ran again)
        except DomainError as refusal:
            _report_failure(trigger, ticket, event, str(refusal))
            return None
        finally:
            _cascade.reset(token)
        self.fired.add((trigger.pk, event.pk))
        self.acted += 1
        return cascade.caused


def _read_ticket(ticket_id: int) -> Ticket | None:
    return (
        Ticket.objects.select_related("customer", "tier", "assignee")
        .filter(pk=ticket_id, merged_into__isnull=True)
        .first()
    )


def _report_stop(trigger: Trigger, ticket: Ticket, *, looped: bool) -> None:
    values = {"trigger": trigger.name, "reference": ticket.reference}
    if looped:
        text = Said(
            gettext_noop(
                "Trigger “%(trigger)s” was stopped on %(reference)s: it would act again on "
                "changes it caused (a loop between rules)."
            ),
            values,
        )
    else:
        text = Said(
            gettext_noop(
                "Trigger “%(trigger)s” was stopped on %(reference)s: rules changed the ticket "
                "%(times)s times in a row."
            ),
            {**values, "times": settings.HELPDESK_RULES_MAX_DEPTH},
        )
    logger.warning("%s", text)
    with transaction.atomic():
        record_event(
            ticket,
            EventKind.RULE_STOPPED,
            actor=None,
            label=f"Trigger: {trigger.name}",
            trigger=trigger.pk,
            reason="loop" if looped else "depth",
        )
        notify_agents(user_ids=admin_ids(), ticket=ticket, kind="rule_stopped", text=text)


def _report_failure(trigger: Trigger, ticket: Ticket, event: TicketEvent, error: str) -> None:
    logger.info("trigger %s could not act on %s: %s", trigger.pk, ticket.reference, error)
    with transaction.atomic():
        record_event(
            ticket,
            EventKind.RULE_FAILED,
            actor=None,
            label=f"Trigger: {trigger.name}",
            trigger=trigger.pk,
            error=error[:500],
        )


def _report_error(trigger: Trigger | None, event: TicketEvent, error: Exception) -> None:
    """An unexpected error stopped the rules on the event's ticket: logged with its traceback,
    and said once on the ticket, where a trigger's refusal is (its text names the error's type
    only: its message can quote personal data)."""
    ticket = event.ticket
    logger.exception(
        "rules: %s on %s (trigger %s); its rules' changes undone, the batch goes on",
        type(error).__name__,
        ticket.reference,
        trigger.pk if trigger else None,
    )
    if TicketEvent.objects.filter(
        ticket=ticket, kind=EventKind.RULE_FAILED, data__event=event.pk
    ).exists():
        return  # the task ran again on these events: said already
    text = isolation.unexpected(error)
    with transaction.atomic():
        record_event(
            ticket,
            EventKind.RULE_FAILED,
            actor=None,
            label=f"Trigger: {trigger.name}" if trigger else "Rules",
            trigger=trigger.pk if trigger else None,
            event=event.pk,
            error=text,
        )
