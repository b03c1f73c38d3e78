"""The portal's "contact support" form: the web channel's door."""

import logging
from dataclasses import replace
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from channels_ingest.web import held
from channels_ingest.web.forms import ContactForm
from helpdesk.faults import is_transient
from helpdesk.languages import language_of_request
from helpdesk.ratelimit import client_address, count_hit, note_unless_down, noted_unless_down
from knowledge.suggest_views import CONTACT_DRAFT
from tickets import selectors, services
from tickets.fields import selectors as field_selectors
from tickets.fields.services import ticket_set_fields
from tickets.inbound import IngestOutcome
from tickets.models import Ticket
from tickets.services._common import acting_as

logger = logging.getLogger(__name__)

RATE_WINDOW_SECONDS = 600


@require_http_methods(["GET", "HEAD", "POST"])
def contact(request: HttpRequest) -> HttpResponse:
    # What the customer typed before a suggestion answered them, if they still need help.
    draft = request.session.pop(CONTACT_DRAFT, None) if request.method == "GET" else None
    customer = selectors.customer_for_user(request.user)
    offered = field_selectors.offered_forms()
    chosen = field_selectors.chosen_form(
        offered, request.POST.get("ticket_form") or request.GET.get("form")
    )
    form = ContactForm(
        request.POST or None,
        request.FILES or None,
        initial=draft,
        customer=customer,
        ticket_form=chosen,
    )
    page = {"form": form, "ticket_forms": offered, "chosen_form": chosen}
    if request.method != "POST" or not form.is_valid():
        return render(request, "support/new.html", page)
    if _over_limit(request, form.cleaned_data["email"], form.cleaned_data["submission"]):
        message = gettext("You sent several requests in a short time. Please wait a few minutes.")
        return render(request, "support/new.html", {**page, "limited": message}, status=429)
    if form.is_robot():
        # Kept for an admin, never dropped: a person's browser may have filled the field.
        held.hold(
            held.inbound_of_form(form.cleaned_data),
            urgency=form.cleaned_data["urgency"],
            reason="the hidden field was filled in",
            submission=form.cleaned_data["submission"],
        )
        return redirect("support-submitted")
    try:
        ticket = _open_ticket(form, language=language_of_request(request))
    except DatabaseError as error:
        if not is_transient(error):
            raise
        return _not_taken(request, page, had_files=bool(form.cleaned_data["attachments"]))
    request.session["submitted_reference"] = ticket.reference
    request.session["submitted_confirmed"] = services.confirmation_sent(ticket)
    return redirect("support-submitted")


def _not_taken(request: HttpRequest, page: dict[str, Any], *, had_files: bool) -> HttpResponse:
    """An outage of ours while opening the ticket: nothing was stored. The form comes back
    as it was sent (with its id, so sending it again can only open one ticket)."""
    logger.warning("contact form request not taken: the database is unavailable")
    message = gettext(
        "We could not take your request just now because of a problem on our side, and "
        "nothing was sent. Please send it again in a minute."
    )
    if had_files:
        message += " " + gettext("Please attach your files again.")
    return render(request, "support/new.html", {**page, "unsaved": message}, status=503)


def submitted(request: HttpRequest) -> HttpResponse:
    reference = request.session.pop("submitted_reference", None)
    # Said only when true: no confirmation goes while notices are off, nor to an address
    # flagged undeliverable (nor is one known of on a page opened again).
    confirmed = request.session.pop("submitted_confirmed", False)
    context = {"reference": reference, "confirmed": reference is not None and confirmed}
    return render(request, "support/submitted.html", context)


def _open_ticket(form: ContactForm, *, language: str) -> Ticket:
    submission = form.cleaned_data["submission"]
    inbound = replace(
        held.inbound_of_form(form.cleaned_data),
        language=language,
        # The same form sent again is found by this id: its ticket, not a second one.
        external_id=f"contact:{submission}" if submission else None,
    )
    values = {key: value for key, value in form.custom_values().items() if value}
    with transaction.atomic():
        # Opening the ticket also sends the customer the "received" notice with the reference.
        opened = services.ticket_open(inbound=inbound, priority=form.cleaned_data["urgency"])
        ticket = opened.ticket
        if opened.outcome == IngestOutcome.DUPLICATE:
            return ticket
        if values and form.ticket_form is not None:
            with acting_as("The customer, in the contact form"):
                ticket_set_fields(
                    ticket=ticket,
                    values=values,
                    actor=None,
                    for_customer=True,
                    form_name=form.ticket_form.name,
                )
    return ticket


def _over_limit(request: HttpRequest, email: str, submission: str) -> bool:
    """At most N requests per address and per client IP in ten minutes. One form sent
    again (after an outage, or twice) is one request: it can open only one ticket. (Only
    an accepted one is noted: a form refused for the limit stays refused.)"""
    accepted = f"webform:accepted:{submission}"
    if submission and noted_unless_down(accepted):
        return False
    limit = settings.HELPDESK_WEB_FORM_PER_10_MINUTES
    keys = (f"webform:ip:{client_address(request)}", f"webform:email:{email.lower()}")
    counts = [count_hit(key, window_seconds=RATE_WINDOW_SECONDS) for key in keys]
    if max(counts) > limit:
        return True
    if submission:
        note_unless_down(accepted, window_seconds=RATE_WINDOW_SECONDS)
    return False
