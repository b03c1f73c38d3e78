"""Where a customer's message on a finished ticket goes: one rule for every door (an email
or a text threaded onto the ticket, a reply in the portal).

An active ticket takes the message; a resolved one takes it, and reopens, within
HELPDESK_REOPEN_DAYS of its resolution. A closed ticket, or one resolved longer ago, opens
a follow-up ticket linked to it instead: what the customer wrote is never refused, and an
old conversation is not brought back to life in the queues.
"""

from datetime import datetime, timedelta

from django.conf import settings

from tickets.models import Ticket, TicketStatus


def reopen_deadline(ticket: Ticket) -> datetime | None:
    """Until when a resolved or closed ticket can be taken up again by its customer."""
    if ticket.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        return None
    done_at = ticket.resolved_at or ticket.closed_at
    if done_at is None:
        return None
    return done_at + timedelta(days=settings.HELPDESK_REOPEN_DAYS)


def within_reopen_window(ticket: Ticket, now: datetime) -> bool:
    deadline = reopen_deadline(ticket)
    return ticket.merged_into_id is None and deadline is not None and now <= deadline


def takes_customer_message(ticket: Ticket, now: datetime) -> bool:
    """Whether a customer's message goes on this (unmerged) ticket; if not, it opens a
    follow-up of it."""
    if ticket.status == TicketStatus.RESOLVED:
        return within_reopen_window(ticket, now)
    return ticket.is_active
