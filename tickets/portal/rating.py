"""The signed "How did we do?" link of the resolution email: works without signing in.

GET only shows the form (mail scanners follow links); POST records the rating.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from tickets import services
from tickets.errors import DomainError
from tickets.models import Ticket
from tickets.portal.forms import RatingForm
from tickets.services.satisfaction import is_rateable, ticket_id_from_rating_token


@require_http_methods(["GET", "POST"])
def rate_by_link(request: HttpRequest, token: str) -> HttpResponse:
    ticket_id = ticket_id_from_rating_token(token)
    ticket = Ticket.objects.filter(pk=ticket_id).first() if ticket_id else None
    if ticket is None:
        return render(request, "support/rate.html", {"state": "invalid"}, status=404)
    if not is_rateable(ticket):
        return render(request, "support/rate.html", {"state": "not-resolved", "ticket": ticket})
    form = RatingForm(request.POST or None, initial={"rating": ticket.satisfaction})
    if request.method != "POST" or not form.is_valid():
        status = 400 if request.method == "POST" else 200
        context = {"state": "form", "ticket": ticket, "rating_form": form}
        return render(request, "support/rate.html", context, status=status)
    try:
        services.ticket_rate(
            ticket=ticket,
            rating=form.cleaned_data["rating"],
            comment=form.cleaned_data["comment"],
            actor=None,
        )
    except DomainError as error:
        context = {"state": "form", "ticket": ticket, "rating_form": form, "error": error.message}
        return render(request, "support/rate.html", context, status=409)
    return render(request, "support/rate.html", {"state": "thanks", "ticket": ticket})
