"""Customer-facing pages of tickets that need no sign-in: the signed "solved" link."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from tickets.models import Ticket
from tickets.services import self_service


@require_http_methods(["GET", "POST"])
def self_service_solved(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks for confirmation (mail scanners follow links); POST resolves as deflected."""
    ticket_id = self_service.ticket_id_from_solved_token(token)
    ticket = Ticket.objects.filter(pk=ticket_id).first() if ticket_id else None
    if ticket is None:
        return render(request, "support/solved.html", {"state": "invalid"}, status=404)
    if request.method == "POST":
        resolved = self_service.ticket_resolve_deflected(ticket_id=ticket.pk, via="link")
        state = "resolved" if resolved else "with-team"
    else:
        state = "confirm"
    return render(request, "support/solved.html", {"state": state, "ticket": ticket})
