"""The link that confirms a customer's address or number: the page asks for a click (POST)
before it verifies, since mail scanners follow links."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from tickets.errors import DomainError
from tickets.services.verification import contact_from_token, contact_point_verify


@require_http_methods(["GET", "HEAD", "POST"])
def verify_contact(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "POST":
        try:
            verified = contact_point_verify(token=token)
        except DomainError:
            return render(request, "support/verify_contact.html", {"state": "bad"}, status=400)
        context = {"state": "done", "contact": verified}
        return render(request, "support/verify_contact.html", context)
    contact = contact_from_token(token)
    if contact is None:
        return render(request, "support/verify_contact.html", {"state": "bad"}, status=400)
    state = "done" if contact.verified_at else "confirm"
    return render(request, "support/verify_contact.html", {"state": state, "contact": contact})
