"""The customer's chat page (/support/chat/), also shown in the embeddable widget's iframe.

The page is a shell: static/chat/chat.js speaks the protocol (docs/chat-protocol.md) on
/ws/chat/. Only the embedded version (`?embed=1`) may be framed by other sites.
"""

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from tickets import selectors
from tickets.fields import forms as field_forms
from tickets.fields import selectors as field_selectors
from tickets.portal.forms import RATING_CHOICES


@require_safe
def chat_page(request: HttpRequest) -> HttpResponse:
    embedded = request.GET.get("embed") == "1"
    name, email = _known_customer(request)
    offered = field_selectors.offered_forms()
    chosen = field_selectors.chosen_form(offered, request.GET.get("form"))
    fields = forms.Form()
    if chosen is not None:  # the kind of request's own questions (custom fields and forms)
        field_forms.add_inputs(fields, field_selectors.form_fields(chosen), for_customer=True)
    response = render(
        request,
        "support/chat.html",
        {
            "embedded": embedded,
            "customer_name": name,
            "customer_email": email,
            "rating_choices": RATING_CHOICES,
            "ticket_forms": offered,
            "chosen_form": chosen,
            "fields_form": fields,
        },
    )
    if embedded:
        # The widget shows this page in an iframe on customers' websites.
        response.xframe_options_exempt = True
        response._csp_replace = {"frame-ancestors": ["*"]}  # type: ignore[attr-defined]
    return response


def _known_customer(request: HttpRequest) -> tuple[str, str]:
    """The signed-in portal customer's name and email address, to fill in the start form."""
    customer = selectors.customer_for_user(request.user)
    if customer is None:
        return "", ""
    # A portal account is made with the customer's address (tickets.services.portal).
    return customer.name, getattr(request.user, "email", "")
