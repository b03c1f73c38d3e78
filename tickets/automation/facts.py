"""A ticket's facts as rule conditions ask for them (tickets.automation.rules.FIELDS): each
read from the database only when a condition asks, and once."""

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from tickets import sla
from tickets.automation.rules import CUSTOM_PREFIX
from tickets.fields import selectors as field_selectors
from tickets.models import (
    ContactKind,
    EventKind,
    Message,
    MessageKind,
    Ticket,
    TicketEvent,
)
from tickets.services import desk_setup
from tickets.services._common import message_in_hand

_PREVIOUS = {
    "previous_status": (EventKind.STATUS_CHANGED,),
    "previous_priority": (EventKind.PRIORITY_CHANGED,),
    "previous_tier": (EventKind.ESCALATED, EventKind.DEESCALATED),
}


class TicketFacts(Mapping[str, Any]):
    """The facts of `ticket` (read fresh, with customer and tier) for `event`, if any, at
    `now` (for business hours). `shared` holds what does not depend on the event (the tags,
    the customer's latest message), for the facts of the ticket's other events as long as
    it does not change."""

    def __init__(
        self,
        ticket: Ticket,
        event: TicketEvent | None,
        now: datetime,
        shared: dict[str, Any] | None = None,
    ) -> None:
        self.ticket, self.event, self.now = ticket, event, now
        self._known: dict[str, Any] = {}
        self._shared = shared if shared is not None else {}
        self._message: Message | bool | None = False  # False: not read yet
        self._loaders: dict[str, Callable[[], Any]] = {
            "channel": lambda: ticket.channel,
            "tier": lambda: ticket.tier.level,
            "priority": lambda: ticket.priority,
            "status": lambda: ticket.status,
            "assignee": lambda: ticket.assignee_id,
            "tags": lambda: self._once("tags", self._tags),
            "organization": lambda: ticket.customer.organization_id,
            "customer": lambda: ticket.customer_id,
            "sender": self._sender,
            "sender_domain": lambda: self._sender().rpartition("@")[2] or None,
            "subject": lambda: ticket.subject.lower(),
            "body": lambda: self.message.body_text.lower() if self.message else "",
            "business_hours": self._in_business_hours,
            "rating": self._rating,
            **{name: self._previous(kinds) for name, kinds in _PREVIOUS.items()},
        }

    def __getitem__(self, name: str) -> Any:
        if name not in self._known:
            if name.startswith(CUSTOM_PREFIX):
                values = self._once("custom_fields", self._custom_fields)
                self._known[name] = values.get(name.removeprefix(CUSTOM_PREFIX), [])
            else:
                self._known[name] = self._loaders[name]()
        return self._known[name]

    def _custom_fields(self) -> dict[str, list[str]]:
        """The ticket's custom field values as text, by key (one query)."""
        return field_selectors.values_as_text(self.ticket.pk)

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaders)

    def __len__(self) -> int:
        return len(self._loaders)

    @property
    def message(self) -> Message | None:
        """The customer's message the event is about, else their latest."""
        if self._message is False:
            found = None
            message_id = self.event.data.get("message") if self.event else None
            in_hand = message_in_hand(self.event) if self.event else None
            if in_hand is not None and in_hand.pk == message_id:
                found = in_hand
            elif message_id:
                found = Message.objects.filter(pk=message_id, ticket=self.ticket).first()
            if found is None:
                found = self._once("latest_message", self._latest_message)
            self._message = found
        return self._message if isinstance(self._message, Message) else None

    def _once(self, name: str, read: Callable[[], Any]) -> Any:
        if name not in self._shared:
            self._shared[name] = read()
        return self._shared[name]

    def _tags(self) -> set[str]:
        return {tag.lower() for tag in self.ticket.tags.values_list("name", flat=True)}

    def _latest_message(self) -> Message | None:
        latest = self.ticket.messages.filter(kind=MessageKind.INBOUND)
        return latest.order_by("-created_at", "-id").first()

    def _sender(self) -> str:
        message = self.message
        if message is not None and "@" in (message.sender or ""):
            return message.sender.lower()
        contact = self.ticket.customer.contact_points.filter(kind=ContactKind.EMAIL).first()
        return contact.value.lower() if contact else ""

    def _previous(self, kinds: tuple[str, ...]) -> Callable[[], Any]:
        def read() -> Any:
            if self.event is None or self.event.kind not in kinds:
                return None
            return self.event.data.get("from")

        return read

    def _rating(self) -> int | None:
        if self.event is not None and self.event.kind == EventKind.RATED:
            return int(self.event.data.get("rating") or 0) or None
        return self.ticket.satisfaction

    def _in_business_hours(self) -> bool:
        calendar = calendar_for(self.ticket)
        if calendar is None:
            return True
        at = self.event.created_at if self.event else self.now
        return sla.business_minutes_between(at, at + timedelta(minutes=1), calendar) > 0


def calendar_for(ticket: Ticket) -> sla.Calendar | None:
    """The business calendar of the ticket's SLA policy (else the default policy's), as this
    process keeps it (tickets.services.desk_setup); None without any policy."""
    policies = desk_setup.current().policies
    policy = policies.get(ticket.sla_policy_id) or next(
        (p for p in policies.policies if p.is_default), None
    )
    return policies.calendars.of(policy) if policy is not None else None
