"""The customer's chat page (/support/chat/), also shown in the embeddable widget's iframe.

The page is a shell: static/chat/chat.js speaks the protocol (docs/chat-protocol.md) on
/ws/chat/. Only the embedded version (`?embed=1`) may be framed by other sites.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from tickets import selectors
from tickets.portal.forms import RATING_CHOICES


@require_GET
def chat_page(request: HttpRequest) -> HttpResponse:
    embedded = request.GET.get("embed") == "1"
    name, email = _known_customer(request)
    response = render(
        request,
        "support/chat.html",
        {
            "embedded": embedded,
            "customer_name": name,
            "customer_email": email,
            "rating_choices": RATING_CHOICES,
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
