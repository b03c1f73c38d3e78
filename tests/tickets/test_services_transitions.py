"""Every status transition, allowed or not, and the event it leaves."""

import itertools

import pytest
from django.utils import timezone

from tickets import services
from tickets.errors import InvalidTransition
from tickets.models import EventKind, Ticket, TicketEvent, TicketStatus

pytestmark = pytest.mark.django_db

S = TicketStatus
ALLOWED = {
    (S.NEW, S.OPEN), (S.NEW, S.PENDING_CUSTOMER), (S.NEW, S.ON_HOLD), (S.NEW, S.RESOLVED),
    (S.NEW, S.CLOSED),
    (S.OPEN, S.PENDING_CUSTOMER), (S.OPEN, S.ON_HOLD), (S.OPEN, S.RESOLVED), (S.OPEN, S.CLOSED),
    (S.PENDING_CUSTOMER, S.OPEN), (S.PENDING_CUSTOMER, S.ON_HOLD),
    (S.PENDING_CUSTOMER, S.RESOLVED), (S.PENDING_CUSTOMER, S.CLOSED),
    (S.ON_HOLD, S.OPEN), (S.ON_HOLD, S.PENDING_CUSTOMER), (S.ON_HOLD, S.RESOLVED),
    (S.ON_HOLD, S.CLOSED),
    (S.RESOLVED, S.OPEN), (S.RESOLVED, S.CLOSED),
}  # fmt: skip
ALL_PAIRS = [(a, b) for a, b in itertools.product(S, S) if a != b]


def put_in(ticket: Ticket, status: str) -> Ticket:
    """Bring a new ticket to `status` the way an agent would."""
    path = {
        S.NEW: [],
        S.OPEN: [S.OPEN],
        S.PENDING_CUSTOMER: [S.PENDING_CUSTOMER],
        S.ON_HOLD: [S.ON_HOLD],
        S.RESOLVED: [S.RESOLVED],
        S.CLOSED: [S.CLOSED],
    }[status]
    for step in path:
        services.ticket_change_status(ticket=ticket, status=step, actor=None)
    ticket.refresh_from_db()
    return ticket


def test_the_map_in_code_is_the_documented_map():
    code = {(a, b) for a, targets in services.ALLOWED_TRANSITIONS.items() for b in targets}
    assert code == ALLOWED


@pytest.mark.parametrize("from_status, to_status", sorted(ALLOWED))
def test_allowed_transition_changes_status_and_records_event(
    open_ticket, agent, from_status, to_status
):
    ticket = put_in(open_ticket(), from_status)
    before = TicketEvent.objects.filter(ticket=ticket).count()

    services.ticket_change_status(ticket=ticket, status=to_status, actor=agent)

    ticket.refresh_from_db()
    assert ticket.status == to_status
    event = TicketEvent.objects.filter(ticket=ticket).last()
    assert TicketEvent.objects.filter(ticket=ticket).count() == before + 1
    assert (event.kind, event.actor, event.data) == (
        EventKind.STATUS_CHANGED,
        agent,
        {"from": from_status, "to": to_status},
    )


@pytest.mark.parametrize(
    "from_status, to_status", [pair for pair in ALL_PAIRS if pair not in ALLOWED]
)
def test_forbidden_transition_raises_and_changes_nothing(
    open_ticket, agent, from_status, to_status
):
    ticket = put_in(open_ticket(), from_status)
    before = TicketEvent.objects.filter(ticket=ticket).count()

    with pytest.raises(InvalidTransition) as error:
        services.ticket_change_status(ticket=ticket, status=to_status, actor=agent)

    assert ticket.reference in error.value.message
    ticket.refresh_from_db()
    assert ticket.status == from_status
    assert TicketEvent.objects.filter(ticket=ticket).count() == before


def test_same_status_is_a_no_op(open_ticket, agent):
    ticket = put_in(open_ticket(), S.OPEN)
    before = TicketEvent.objects.count()
    services.ticket_change_status(ticket=ticket, status=S.OPEN, actor=agent)
    assert TicketEvent.objects.count() == before


def test_resolve_reopen_close_keep_their_timestamps(open_ticket, agent):
    ticket = open_ticket()
    resolved_at = timezone.now()
    services.ticket_resolve(ticket=ticket, actor=agent, now=resolved_at)
    ticket.refresh_from_db()
    assert ticket.resolved_at == resolved_at

    services.ticket_reopen(ticket=ticket, actor=agent, reason="Customer says it is back")
    ticket.refresh_from_db()
    assert (ticket.status, ticket.resolved_at) == (S.OPEN, None)
    reopened = TicketEvent.objects.filter(ticket=ticket).last()
    assert reopened.data["reason"] == "Customer says it is back"

    services.ticket_close(ticket=ticket, actor=agent)
    ticket.refresh_from_db()
    assert ticket.status == S.CLOSED and ticket.closed_at is not None


def test_only_resolved_tickets_can_be_reopened(open_ticket, agent):
    ticket = put_in(open_ticket(), S.CLOSED)
    with pytest.raises(InvalidTransition, match="Only a resolved ticket"):
        services.ticket_reopen(ticket=ticket, actor=agent)


def test_unknown_status_is_refused(open_ticket, agent):
    with pytest.raises(InvalidTransition) as error:
        services.ticket_change_status(ticket=open_ticket(), status="deleted", actor=agent)
    assert error.value.code == "invalid_status"
