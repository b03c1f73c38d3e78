"""Who may enter the agent workspace: signed-in agents and admins, nobody else."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _

from tickets import policy
from tickets.roles import is_staff_member, role_of

View = Callable[..., HttpResponseBase]


def agent_required(view: View) -> View:
    """Anonymous visitors go to the sign-in page; customers get 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_staff_member(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def works_tickets_required(view: View) -> View:
    """For changes beyond notes: light agents get 403 (tickets.policy, "work_tickets").
    Goes under agent_required."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not policy.may(role_of(request.user), "work_tickets"):
            raise PermissionDenied(_("Light agents read tickets and write internal notes only."))
        return view(request, *args, **kwargs)

    return wrapper
