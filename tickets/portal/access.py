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
from tickets.roles import is_staff_member

P = ParamSpec("P")


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
            return redirect_to_login(request.get_full_path(), reverse("portal-login"))
        if not isinstance(user, User) or user.is_staff or is_staff_member(user):
            return render(request, "support/forbidden.html", {"reason": "staff"}, status=403)
        customer = selectors.customer_for_user(user)
        if customer is None:
            return render(request, "support/forbidden.html", {"reason": "no-customer"}, status=403)
        return view(request, PortalVisitor(user=user, customer=customer), *args, **kwargs)

    return wrapper
