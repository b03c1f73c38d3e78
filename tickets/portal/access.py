"""Who may use the portal: a signed-in customer, and only for their own tickets."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Concatenate, ParamSpec

from django.contrib.auth.models import User
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import render
from django.urls import reverse

from tickets import selectors
from tickets.models import Customer
from tickets.portal.forms import MESSAGE_MAX_CHARS
from tickets.roles import is_staff_member

P = ParamSpec("P")
# The session's key for a reply sent after the session ended (see _back_after_sign_in).
_UNSENT_REPLY = "portal_unsent_reply"


@dataclass(frozen=True)
class PortalVisitor:
    """The signed-in customer a portal view acts for."""

    user: User
    customer: Customer


def customer_required(
    view: Callable[Concatenate[HttpRequest, PortalVisitor, P], HttpResponseBase],
) -> Callable[Concatenate[HttpRequest, P], HttpResponseBase]:
    """Anonymous visitors go to the sign-in page; agents and admins get 403 (they work in
    the agent area, and must not act as a customer); accounts without a customer get 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(_back_after_sign_in(request), reverse("portal-login"))
        if not isinstance(user, User) or user.is_staff or is_staff_member(user):
            return render(request, "support/forbidden.html", {"reason": "staff"}, status=403)
        customer = selectors.customer_for_user(user)
        if customer is None:
            return render(request, "support/forbidden.html", {"reason": "no-customer"}, status=403)
        return view(request, PortalVisitor(user=user, customer=customer), *args, **kwargs)

    return wrapper


def _back_after_sign_in(request: HttpRequest) -> str:
    """Where signing in leads: the page asked for; for a form sent after the session ended
    (a reply, closing, a rating), the ticket's page, as an action's address answers only to
    a form (405). A reply's text is kept for its box there (`unsent_reply`)."""
    if request.method in ("GET", "HEAD"):
        return request.get_full_path()
    match = request.resolver_match
    ticket_id = match.kwargs.get("ticket_id") if match is not None else None
    if not isinstance(ticket_id, int):
        return reverse("portal-tickets")
    text = request.POST.get("text", "")
    if text.strip():
        request.session[_UNSENT_REPLY] = {"ticket": ticket_id, "text": text[:MESSAGE_MAX_CHARS]}
    return reverse("portal-ticket", args=[ticket_id])


def unsent_reply(request: HttpRequest, ticket_id: int) -> str:
    """The reply a customer sent to this ticket after their session ended, once (the
    portal only shows a ticket to its customer, so only they are given it back)."""
    unsent = request.session.get(_UNSENT_REPLY)
    if not isinstance(unsent, dict) or unsent.get("ticket") != ticket_id:
        return ""
    del request.session[_UNSENT_REPLY]
    return str(unsent.get("text", ""))
