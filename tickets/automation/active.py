"""The active triggers and webhook subscriptions, kept per process (helpdesk.kept): every
ticket event is offered to them, so they are not read from the database each time. Saving,
deleting, switching a rule off or on moves the version on (`changed`), and every process
reads them again."""

from dataclasses import dataclass

from helpdesk.kept import KeptPerProcess
from tickets.models import Trigger, Webhook


@dataclass(frozen=True)
class ActiveRules:
    triggers: list[Trigger]  # in their order
    hooks: list[Webhook]  # on, and subscribed to some event
    listened: frozenset[str]  # the event names some trigger or webhook listens to

    @property
    def in_use(self) -> bool:
        return bool(self.listened)


def _read() -> ActiveRules:
    triggers = list(Trigger.objects.filter(active=True).order_by("position", "id"))
    hooks = list(Webhook.objects.filter(active=True, disabled_at__isnull=True).exclude(events=[]))
    names = {name for trigger in triggers for name in trigger.events}
    names |= {name for hook in hooks for name in hook.events}
    return ActiveRules(triggers, hooks, frozenset(names))


_kept = KeptPerProcess("active-rules", _read, max_seconds=60)


def current() -> ActiveRules:
    return _kept.current()


def changed() -> None:
    """A rule changed: this process reads them again now, every process once committed."""
    _kept.changed()


def forget() -> None:
    """Read them again at the next use (this process only; tests start afresh)."""
    _kept.forget()
