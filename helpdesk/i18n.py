"""The page's language for a signed-in customer, and the language switcher.

Django's LocaleMiddleware picks the language from the switcher's cookie, else the
browser's Accept-Language. A signed-in customer reads their own language instead (kept on
the customer, tickets.models.Customer.language): it is put in the session when they sign
in (or at their first request, for a session older than this) and by the switcher.
"""

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User
from django.contrib.auth.signals import user_logged_in
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from helpdesk.languages import default_language, language_of_request, supported_language
from tickets import selectors, services
from tickets.roles import is_staff_member

# Pages for staff only: in the agent's own language (My settings, applied by
# tickets.workspace.preferences), else the browser's as LocaleMiddleware chose it.
WORKSPACE = "/agent/"
# The signed-in customer's language in their session ("" when they have none).
SESSION_KEY = "customer_language"
_SESSION_USER = "customer_language_user"


class CustomerLanguage:
    """After AuthenticationMiddleware: a signed-in customer's kept language wins over the
    browser's; everyone else keeps LocaleMiddleware's choice."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # The workspace is staff's: no customer's language there (an agent's own is set
        # after this, by AgentPreferences).
        language = "" if request.path_info.startswith(WORKSPACE) else _customer_language(request)
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)


def _customer_language(request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.is_staff:
        return ""
    if request.session.get(_SESSION_USER) != user.pk:
        remember_customer_language(request=request, user=user)
    return supported_language(request.session.get(SESSION_KEY, ""))


def remember_customer_language(*, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Put a customer's kept language in their session (a user_logged_in receiver)."""
    if request is None or not hasattr(request, "session"):
        return
    customer = None
    if isinstance(user, User) and not user.is_staff and not is_staff_member(user):
        customer = selectors.customer_for_user(user)
    if customer is not None and not customer.language:
        # Not known yet: the browser she signs in with tells it (the default is not kept).
        told = language_of_request(request)
        if told != default_language():
            services.customer_note_language(customer=customer, language=told)
    request.session[_SESSION_USER] = user.pk
    request.session[SESSION_KEY] = customer.language if customer else ""


def connect_signals() -> None:
    user_logged_in.connect(remember_customer_language, dispatch_uid="customer-language")


@require_POST
def language_switch(request: HttpRequest) -> HttpResponse:
    """Django's set_language (the cookie, back to `next`), and for a signed-in customer
    their kept language too: automatic messages follow their choice."""
    response = set_language(request)
    language = supported_language(request.POST.get("language"))
    user = request.user
    if language and isinstance(user, User) and not user.is_staff and not is_staff_member(user):
        customer = selectors.customer_for_user(user)
        if customer is not None:
            services.customer_set_language(customer=customer, language=language)
            request.session[_SESSION_USER] = user.pk
            request.session[SESSION_KEY] = language
    return response
