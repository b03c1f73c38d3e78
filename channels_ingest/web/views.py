"""The portal's "contact support" form: the web channel's door."""

from dataclasses import replace

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from channels_ingest.web import held
from channels_ingest.web.forms import ContactForm
from helpdesk.languages import language_of_request
from helpdesk.ratelimit import count_hit
from knowledge.suggest_views import CONTACT_DRAFT
from tickets import selectors, services
from tickets.fields import selectors as field_selectors
from tickets.fields.services import ticket_set_fields
from tickets.inbound import IngestOutcome
from tickets.models import Ticket
from tickets.services._common import acting_as

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
    if _over_limit(request, form.cleaned_data["email"]):
        message = gettext("You sent several requests in a short time. Please wait a few minutes.")
        return render(request, "support/new.html", {**page, "limited": message}, status=429)
    if form.is_robot():
        # Kept for an admin, never dropped: a person's browser may have filled the field.
        held.hold(
            held.inbound_of_form(form.cleaned_data),
            urgency=form.cleaned_data["urgency"],
            reason="the hidden field was filled in",
        )
        return redirect("support-submitted")
    ticket = _open_ticket(form, language=language_of_request(request))
    request.session["submitted_reference"] = ticket.reference
    return redirect("support-submitted")


def submitted(request: HttpRequest) -> HttpResponse:
    reference = request.session.pop("submitted_reference", None)
    return render(request, "support/submitted.html", {"reference": reference})


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


def _over_limit(request: HttpRequest, email: str) -> bool:
    """At most N requests per address and per client IP in ten minutes."""
    limit = settings.HELPDESK_WEB_FORM_PER_10_MINUTES
    client = request.META.get("REMOTE_ADDR", "")
    keys = (f"webform:ip:{client}", f"webform:email:{email.lower()}")
    counts = [count_hit(key, window_seconds=RATE_WINDOW_SECONDS) for key in keys]
    return max(counts) > limit
