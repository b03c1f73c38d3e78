"""Customer-facing pages of tickets that need no sign-in: the signed "solved" link, and the
signed "this is my problem" link of a known issue."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from tickets.models import Problem, Ticket
from tickets.problems import offers
from tickets.services import self_service


@require_http_methods(["GET", "HEAD", "POST"])
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


@require_http_methods(["GET", "HEAD", "POST"])
def known_issue_mine(request: HttpRequest, problem_id: int, token: str) -> HttpResponse:
    """GET asks for confirmation (mail scanners follow links); POST links the ticket to the
    known issue's problem: the customer is written to when it is fixed."""
    ticket_id = offers.ticket_id_from_mine_token(token, problem_id)
    ticket = Ticket.objects.filter(pk=ticket_id).first() if ticket_id else None
    problem = Problem.objects.select_related("known_issue").filter(pk=problem_id).first()
    if ticket is None or problem is None:
        return render(request, "support/known_issue_mine.html", {"state": "invalid"}, status=404)
    context = {"ticket": ticket, "problem": problem, "state": "confirm"}
    if request.method == "POST":
        linked = offers.ticket_is_of_problem(ticket_id=ticket.pk, problem_id=problem.pk)
        context["state"] = "linked" if linked else "fixed"
    return render(request, "support/known_issue_mine.html", context)
