"""The signed "How did we do?" link of the resolution email: works without signing in.

GET only shows the form (mail scanners follow links); POST records the rating. A link of a
ticket merged since is answered for the ticket it was merged into (the survey's rules,
tickets.services.satisfaction).
"""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from tickets import services
from tickets.errors import DomainError
from tickets.models import Ticket
from tickets.portal.forms import RatingForm
from tickets.services.satisfaction import (
    is_rateable,
    ticket_id_from_rating_token,
    ticket_to_rate,
)


@require_http_methods(["GET", "HEAD", "POST"])
def rate_by_link(request: HttpRequest, token: str) -> HttpResponse:
    ticket_id = ticket_id_from_rating_token(token)
    asked = Ticket.objects.filter(pk=ticket_id).first() if ticket_id else None
    if asked is None:
        return render(request, "support/rate.html", {"state": "invalid"}, status=404)
    # A ticket merged since its link was sent is rated as the one it was merged into.
    ticket = ticket_to_rate(asked)
    if ticket is None:
        return render(request, "support/rate.html", {"state": "merged", "asked": asked})
    merged: dict[str, Any] = {"merged_from": asked if asked.pk != ticket.pk else None}
    if not is_rateable(ticket):
        context = {"state": "not-resolved", "ticket": ticket, **merged}
        return render(request, "support/rate.html", context)
    form = RatingForm(request.POST or None, initial={"rating": ticket.satisfaction})
    if request.method != "POST" or not form.is_valid():
        status = 400 if request.method == "POST" else 200
        context = {"state": "form", "ticket": ticket, "rating_form": form, **merged}
        return render(request, "support/rate.html", context, status=status)
    try:
        services.ticket_rate(
            ticket=ticket,
            rating=form.cleaned_data["rating"],
            comment=form.cleaned_data["comment"],
            actor=None,
        )
    except DomainError as error:
        context = {
            "state": "form",
            "ticket": ticket,
            "rating_form": form,
            "error": error.message,
            **merged,
        }
        return render(request, "support/rate.html", context, status=409)
    return render(request, "support/rate.html", {"state": "thanks", "ticket": ticket})
