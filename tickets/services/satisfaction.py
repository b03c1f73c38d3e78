"""Customer satisfaction (CSAT): after resolution the customer rates our help from 1 to 5.

Every rating is a "rated" event; Ticket.satisfaction holds the latest one. The resolution
notice carries a signed link, so customers can rate without signing in.
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.signed import SignedId
from tickets import metrics
from tickets.errors import Conflict, InvalidInput
from tickets.models import EventKind, Ticket, TicketStatus
from tickets.services._common import Actor, lock_ticket, record_event, refuse_if_merged

RATING_MIN, RATING_MAX = 1, 5
COMMENT_MAX_CHARS = 2000
# Statuses in which a ticket can be rated: the help desk considers the work done.
RATEABLE_STATUSES = (TicketStatus.RESOLVED, TicketStatus.CLOSED)
# A rating link from a resolution notice keeps working this long.
_LINK_MAX_AGE = 60 * 24 * 3600


_RATING_LINKS = SignedId("helpdesk.satisfaction-rating", max_age_seconds=_LINK_MAX_AGE)


def rating_token(ticket_id: int) -> str:
    return _RATING_LINKS.token(ticket_id)


def ticket_id_from_rating_token(token: str) -> int | None:
    return _RATING_LINKS.value(token)


def is_rateable(ticket: Ticket) -> bool:
    return ticket.status in RATEABLE_STATUSES and ticket.merged_into_id is None


def ticket_to_rate(ticket: Ticket) -> Ticket | None:
    """The ticket a rating asked for `ticket` (its resolution notice's link) is given to:
    itself; once merged, the ticket its conversation went on in (the last of the merges),
    which holds its messages and is rated when it is rateable. None when that is another
    customer's (merges join one customer's tickets; one from before that rule may not)."""
    seen = {ticket.pk}
    target = ticket
    while target.merged_into_id is not None and target.merged_into_id not in seen:
        seen.add(target.merged_into_id)
        following = Ticket.objects.filter(pk=target.merged_into_id).first()
        if following is None:
            break
        target = following
    return target if target.customer_id == ticket.customer_id else None


def ticket_rate(
    *,
    ticket: Ticket,
    rating: int,
    comment: str = "",
    actor: Actor,
) -> Ticket:
    """Record the customer's rating; a new rating replaces the ticket's satisfaction and
    adds another event, so the history keeps every answer.

    `actor` is the customer's portal account, or None for the signed link in an email.
    """
    if not isinstance(rating, int) or not RATING_MIN <= rating <= RATING_MAX:
        raise InvalidInput(
            _("A rating is a whole number from %(lowest)s to %(highest)s.")
            % {"lowest": RATING_MIN, "highest": RATING_MAX},
            code="invalid_rating",
        )
    comment = comment.strip()
    if len(comment) > COMMENT_MAX_CHARS:
        raise InvalidInput(
            _("The comment is longer than %(most)s characters.") % {"most": COMMENT_MAX_CHARS},
            code="comment_too_long",
        )
    with transaction.atomic():
        ticket = lock_ticket(ticket)
        refuse_if_merged(ticket)
        if ticket.status not in RATEABLE_STATUSES:
            raise Conflict(
                _("%(reference)s can be rated once it is resolved.")
                % {"reference": ticket.reference},
                code="not_resolved",
            )
        ticket.satisfaction = rating
        ticket.save(update_fields=["satisfaction", "updated_at"])
        metrics.rated(ticket, rating, timezone.now())
        metrics.save(ticket)
        record_event(
            ticket,
            EventKind.RATED,
            actor=actor,
            label="" if actor is not None else "customer (rating link)",
            rating=rating,
            comment=comment,
        )
    return ticket
