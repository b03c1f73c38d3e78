"""A signed-in customer's own tickets: the list, one thread, and what they can do with it.

Every view finds the ticket through a selector bound to the customer, so another
customer's ticket (or attachment) is simply not found: 404, never 403.
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import DatabaseError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST, require_safe

from helpdesk.faults import is_transient
from helpdesk.submissions import new_submission_id
from tickets import selectors, services
from tickets.downloads import attachment_response
from tickets.errors import DomainError
from tickets.fields import selectors as field_selectors
from tickets.inbound import InboundAttachment, IngestOutcome, IngestResult
from tickets.models import Ticket, TicketStatus
from tickets.portal.access import PortalVisitor, customer_required, unsent_reply
from tickets.portal.forms import RatingForm, ReplyForm
from tickets.services.reopening import reopen_deadline, takes_customer_message, within_reopen_window
from tickets.services.satisfaction import is_rateable, ticket_to_rate

logger = logging.getLogger(__name__)

TICKETS_PER_PAGE = 50

# Statuses in the customer's words (agents' labels, like "Waiting on customer", are theirs).
CUSTOMER_STATUS_LABELS = {
    TicketStatus.NEW: _("Received"),
    TicketStatus.OPEN: _("In progress"),
    TicketStatus.PENDING_CUSTOMER: _("Waiting for your reply"),
    TicketStatus.ON_HOLD: _("In progress"),
    TicketStatus.RESOLVED: _("Resolved"),
    TicketStatus.CLOSED: _("Closed"),
}


def status_label(ticket: Ticket) -> str:
    if ticket.merged_into_id is not None:
        return gettext("Merged")
    return str(CUSTOMER_STATUS_LABELS[TicketStatus(ticket.status)])


@dataclass(frozen=True)
class TicketRow:
    ticket: Ticket
    status: str
    # The ticket this one was merged into, when the customer may open it.
    merged_into: Ticket | None


@require_safe
@customer_required
def ticket_list(request: HttpRequest, me: PortalVisitor) -> HttpResponse:
    # A page at a time (a customer writing often, or an alarm's address, has thousands);
    # a page number past the end shows the last page.
    page = Paginator(
        selectors.customer_ticket_list(customer=me.customer), TICKETS_PER_PAGE
    ).get_page(request.GET.get("page"))
    rows = [
        TicketRow(ticket=t, status=status_label(t), merged_into=_own_merge_target(t, me))
        for t in page.object_list
    ]
    context = {
        "page": page,
        "open_rows": [row for row in rows if row.ticket.is_active],
        "closed_rows": [row for row in rows if not row.ticket.is_active],
    }
    return render(request, "support/tickets.html", context)


@require_safe
@customer_required
def ticket_thread(request: HttpRequest, me: PortalVisitor, ticket_id: int) -> HttpResponse:
    return _thread_page(request, me, _own_ticket(me, ticket_id))


@require_POST
@customer_required
def ticket_reply(request: HttpRequest, me: PortalVisitor, ticket_id: int) -> HttpResponse:
    ticket = _own_ticket(me, ticket_id)
    form = ReplyForm(request.POST, request.FILES)
    if not form.is_valid():
        return _thread_page(request, me, ticket, reply_form=form, status=400)
    data = form.cleaned_data
    try:
        result = services.ticket_customer_write(
            ticket=ticket,
            customer=me.customer,
            text=data["text"],
            attachments=tuple(
                InboundAttachment(upload.name, upload.content_type or "", upload.read())
                for upload in data["attachments"]
            ),
            submission_id=data["submission"],
        )
    except DomainError as error:
        return _thread_page(
            request, me, ticket, reply_form=form, reply_error=error.message, status=409
        )
    except DatabaseError as error:
        if not is_transient(error):
            raise
        # Nothing was stored; the box keeps the text and the form's id, so sending it
        # again stores it once.
        logger.warning("portal reply not taken: the database is unavailable")
        unsent = gettext(
            "We could not send your message just now because of a problem on our side. It "
            "is below: please send it again in a minute."
        )
        if data["attachments"]:
            unsent += " " + gettext("Please attach your files again.")
        return _thread_page(request, me, ticket, reply_form=form, reply_error=unsent, status=503)
    messages.success(request, _where_it_went(ticket, result))
    return redirect("portal-ticket", ticket_id=result.ticket.pk)


def _where_it_went(asked: Ticket, result: IngestResult) -> str:
    """What the customer is told of a message that went to another ticket than asked."""
    went_to = result.ticket
    if went_to.pk == asked.pk:
        return gettext("Your message was sent.")
    earlier = went_to.follow_up_of
    if earlier is not None and result.outcome == IngestOutcome.NEW:
        if earlier.status == TicketStatus.CLOSED:
            said = gettext("%(closed)s was closed, so we opened %(new)s for your message.")
        else:
            said = gettext(
                "%(closed)s was resolved more than %(days)s days ago, so we opened %(new)s "
                "for your message."
            )
        return said % {
            "closed": earlier.reference,
            "new": went_to.reference,
            "days": settings.HELPDESK_REOPEN_DAYS,
        }
    return gettext("%(merged)s was merged into %(target)s, so your message was added there.") % {
        "merged": asked.reference,
        "target": went_to.reference,
    }


@require_POST
@customer_required
def ticket_close(request: HttpRequest, me: PortalVisitor, ticket_id: int) -> HttpResponse:
    """Closing is final for the customer: the first post asks, the confirmed one closes."""
    ticket = _own_ticket(me, ticket_id)
    if request.POST.get("confirm") != "yes":
        return render(request, "support/close_confirm.html", {"ticket": ticket})
    try:
        services.ticket_close(ticket=ticket, actor=me.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            gettext("%(reference)s is closed. Thank you!") % {"reference": ticket.reference},
        )
    return redirect("portal-ticket", ticket_id=ticket.pk)


@require_POST
@customer_required
def ticket_reopen(request: HttpRequest, me: PortalVisitor, ticket_id: int) -> HttpResponse:
    ticket = _own_ticket(me, ticket_id)
    try:
        services.ticket_customer_reopen(ticket=ticket, actor=me.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            gettext("%(reference)s is open again; our team will answer.")
            % {"reference": ticket.reference},
        )
    return redirect("portal-ticket", ticket_id=ticket.pk)


@require_POST
@customer_required
def ticket_rate(request: HttpRequest, me: PortalVisitor, ticket_id: int) -> HttpResponse:
    ticket = _own_ticket(me, ticket_id)
    form = RatingForm(request.POST)
    if not form.is_valid():
        return _thread_page(request, me, ticket, rating_form=form, status=400)
    # A ticket merged since the page was shown is rated as the one it was merged into, as
    # the resolution email's link rates it (tickets.services.satisfaction).
    rated = ticket_to_rate(ticket) or ticket
    try:
        services.ticket_rate(
            ticket=rated,
            rating=form.cleaned_data["rating"],
            comment=form.cleaned_data["comment"],
            actor=me.user,
        )
    except DomainError as error:
        return _thread_page(
            request, me, ticket, rating_form=form, rating_error=error.message, status=409
        )
    messages.success(request, gettext("Thank you for your feedback!"))
    return redirect("portal-ticket", ticket_id=rated.pk)


@require_safe
@customer_required
def attachment_download(
    request: HttpRequest, me: PortalVisitor, attachment_id: int
) -> FileResponse:
    return attachment_response(
        selectors.customer_attachment(customer=me.customer, attachment_id=attachment_id)
    )


def _own_ticket(me: PortalVisitor, ticket_id: int) -> Ticket:
    ticket = selectors.customer_ticket_thread(customer=me.customer, ticket_id=ticket_id)
    if ticket is None:
        raise Http404
    return ticket


def _fields_shown(ticket: Ticket) -> list[field_selectors.Shown]:
    """The custom fields the customer may see, those with a value."""
    fields = field_selectors.active_fields()
    if not fields:
        return []
    values = field_selectors.values_of([ticket.pk]).get(ticket.pk, {})
    return field_selectors.shown(fields, values, for_customer=True)


def _own_merge_target(ticket: Ticket, me: PortalVisitor) -> Ticket | None:
    target = ticket.merged_into
    return target if target is not None and target.customer_id == me.customer.pk else None


def _reply_box(request: HttpRequest, ticket: Ticket) -> ReplyForm:
    """An empty reply box, or one holding what the customer sent after their session ended."""
    text = unsent_reply(request, ticket.pk)
    if not text:
        return ReplyForm()
    messages.warning(
        request,
        gettext("You were signed out, so your message was not sent. It is below: send it again."),
    )
    return ReplyForm(initial={"submission": new_submission_id(), "text": text})


def _thread_page(
    request: HttpRequest,
    me: PortalVisitor,
    ticket: Ticket,
    *,
    reply_form: ReplyForm | None = None,
    rating_form: RatingForm | None = None,
    reply_error: str = "",
    rating_error: str = "",
    status: int = 200,
) -> HttpResponse:
    now = timezone.now()
    merged = ticket.merged_into_id is not None
    context = {
        "ticket": ticket,
        "thread": ticket.public_messages,  # type: ignore[attr-defined]
        "status_label": status_label(ticket),
        "merged_into": _own_merge_target(ticket, me),
        "follow_up_of": ticket.follow_up_of
        if ticket.follow_up_of and ticket.follow_up_of.customer_id == me.customer.pk
        else None,
        # Whatever its state, a customer may write on their own (unmerged) ticket: where it
        # goes is the rule of every door (tickets/services/reopening.py).
        "can_write": not merged,
        "writes_follow_up": not merged and not takes_customer_message(ticket, now),
        "can_reopen": ticket.status == TicketStatus.RESOLVED and within_reopen_window(ticket, now),
        "can_close": not merged and ticket.status != TicketStatus.CLOSED,
        "reopen_deadline": reopen_deadline(ticket),
        "can_rate": is_rateable(ticket),
        "reply_form": reply_form or _reply_box(request, ticket),
        "rating_form": rating_form or RatingForm(initial={"rating": ticket.satisfaction}),
        "reply_error": reply_error,
        "rating_error": rating_error,
        "reopen_days": settings.HELPDESK_REOPEN_DAYS,
        "fields": _fields_shown(ticket),
    }
    return render(request, "support/thread.html", context, status=status)
