"""Signing in to the portal: a one-time link by email, or a password; and signing out.

The link page asks for a click (POST) before it signs in: mail scanners follow links in
emails, and must not spend the link.
"""

import logging

from django.contrib.auth import login
from django.contrib.auth.views import LoginView, LogoutView
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from helpdesk.auth_backends import USER_BACKEND
from helpdesk.faults import is_transient
from helpdesk.ratelimit import too_many_links
from tickets import selectors, services, tasks
from tickets.portal.forms import PortalAuthenticationForm, SignInLinkForm
from tickets.services.portal import sign_in_link_is_valid

logger = logging.getLogger(__name__)

_NEXT = "portal_next"


@require_http_methods(["GET", "HEAD", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    if selectors.customer_for_user(request.user) is not None:
        return redirect("portal-tickets")
    form = SignInLinkForm(request.POST or None, initial={"next": request.GET.get("next", "")})
    if request.method != "POST":
        return render(request, "support/login.html", {"form": form})
    if not form.is_valid():
        return render(request, "support/login.html", {"form": form}, status=400)
    email = form.cleaned_data["email"]
    try:
        if too_many_links("portal-link", request, email):
            limited = gettext(
                "You asked for several links in a short time. Please wait a few minutes."
            )
            context = {"form": form, "limited": limited}
            return render(request, "support/login.html", context, status=429)
        # The same page follows, as fast, whether or not the address is known: the look-up
        # and the mail happen in a worker, so nobody learns who is a customer.
        tasks.send_sign_in_link.delay(email)
    except Exception as error:
        if not is_transient(error):
            raise
        # Redis (the limit's counter, the task queue) down: said alike for any address.
        logger.warning("portal sign-in link not queued: %s", type(error).__name__)
        unsent = gettext(
            "We could not send you a link just now because of a problem on our side. "
            "Please try again in a few minutes, or sign in with your password."
        )
        return render(request, "support/login.html", {"form": form, "limited": unsent}, status=503)
    next_url = form.cleaned_data["next"]
    if _is_safe(request, next_url):
        request.session[_NEXT] = next_url
    return redirect("portal-login-sent")


def link_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "support/login_sent.html")


@require_http_methods(["GET", "HEAD", "POST"])
def sign_in_by_link(request: HttpRequest, token: str) -> HttpResponse:
    if request.method != "POST":  # GET, or HEAD (a mail scanner): only a POST signs in
        valid = sign_in_link_is_valid(token)
        state = "confirm" if valid else "invalid"
        return render(
            request, "support/login_link.html", {"state": state}, status=200 if valid else 400
        )
    user = services.customer_sign_in_by_link(token=token)
    if user is None:
        return render(request, "support/login_link.html", {"state": "invalid"}, status=400)
    # Signed in by the link, not by a password: the backend that reads them on each request.
    login(request, user, backend=USER_BACKEND)
    next_url = request.session.pop(_NEXT, "")
    if _is_safe(request, next_url):
        return HttpResponseRedirect(next_url)
    return redirect("portal-tickets")


class PasswordSignInView(LoginView):
    """For customers who have an account with a password (username or email address)."""

    template_name = "support/login_password.html"
    authentication_form = PortalAuthenticationForm
    next_page = "portal-tickets"


class SignOutView(LogoutView):
    next_page = "portal-login"


def _is_safe(request: HttpRequest, url: str) -> bool:
    """Only back to a portal page of this site."""
    if not url or not url.startswith(reverse("portal-home")):
        return False
    return url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
