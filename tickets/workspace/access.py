"""Who may enter the agent workspace: signed-in agents and admins, nobody else."""

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from tickets import policy
from tickets.roles import is_staff_member, role_of

View = Callable[..., HttpResponseBase]


def agent_required(view: View) -> View:
    """Anonymous visitors go to the sign-in page; customers get 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(_back_after_sign_in(request))
        if not is_staff_member(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def _back_after_sign_in(request: HttpRequest) -> str:
    """Where signing in leads: the page asked for; for a form sent after the session ended
    (a reply, a note), the workspace page it was sent from, as an action's address answers
    only to a form (the browser keeps the unsent text there: static/js/agent.js)."""
    if request.method in ("GET", "HEAD"):
        return request.get_full_path()
    referer = request.headers.get("referer", "")
    if url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        page = urlsplit(referer)
        if page.path.startswith("/agent/"):
            return page.path + (f"?{page.query}" if page.query else "")
    return "/agent/"


def works_tickets_required(view: View) -> View:
    """For changes beyond notes: light agents get 403, before what they sent is read. The
    rule is tickets.policy's ("work_tickets"), which the services ask again whatever the
    door; this only answers early. Goes under agent_required."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not policy.may(role_of(request.user), "work_tickets"):
            raise PermissionDenied(_("Light agents read tickets and write internal notes only."))
        return view(request, *args, **kwargs)

    return wrapper
