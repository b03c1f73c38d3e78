"""The public status page (/status/): the known issues now and those ended lately, and
"tell me when it's fixed" (an email address or a mobile number) without opening a ticket."""

import hashlib
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST, require_safe

from helpdesk.ratelimit import client_address, count_hit
from tickets import selectors
from tickets.errors import Conflict, InvalidInput
from tickets.models import ContactKind
from tickets.problems import known_issues

# How far back the page lists the known issues that ended.
ENDED_DAYS = 14
RATE_WINDOW_SECONDS = 600
_UNREADABLE = {
    ContactKind.EMAIL: _("Enter an email address like name@example.com."),
    ContactKind.PHONE: _(
        "Enter a mobile number we can text, with its country code "
        "(like +44 7700 900123), or an email address."
    ),
}


class NotifyForm(forms.Form):
    contact = forms.CharField(
        max_length=320,
        label=_("Your email or mobile number"),
        help_text=_("We write once, when it is fixed, and never for anything else."),
        widget=forms.TextInput(attrs={"autocomplete": "email"}),
    )

    @property
    def kind(self) -> str:
        """An address with an @ is an email address; anything else is taken for a number."""
        return ContactKind.EMAIL if "@" in self.cleaned_data["contact"] else ContactKind.PHONE


def _form(
    issue_id: int, data: dict[str, str] | None = None, initial: dict[str, str] | None = None
) -> NotifyForm:
    # Each issue's form on the page has its own field ids.
    return NotifyForm(data, initial=initial, auto_id=f"notify-{issue_id}-%s")


@require_safe
def status_page(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
def notify(request: HttpRequest, known_issue_id: int) -> HttpResponse:
    form = _form(known_issue_id, request.POST.dict())
    if not form.is_valid():
        return _page(request, failed=(known_issue_id, form), status=400)
    if _over_limit(request, form.cleaned_data["contact"]):
        limited = gettext("You asked several times in a short time. Please wait a few minutes.")
        return _page(request, failed=(known_issue_id, form), limited=limited, status=429)
    try:
        subscriber = known_issues.known_issue_subscribe(
            known_issue_id=known_issue_id,
            kind=form.kind,
            address=form.cleaned_data["contact"],
            customer=selectors.customer_for_user(request.user),
        )
    except InvalidInput:
        form.add_error("contact", _UNREADABLE[ContactKind(form.kind)])
        return _page(request, failed=(known_issue_id, form), status=400)
    except Conflict as error:
        messages.error(request, error.message)
        return redirect("status")
    told = (
        gettext("Thank you. We will email %(address)s once, when it is fixed.")
        if subscriber.kind == ContactKind.EMAIL
        else gettext("Thank you. We will text %(address)s once, when it is fixed.")
    )
    messages.success(request, told % {"address": subscriber.address})
    return redirect(f"{reverse('status')}#known-issue-{known_issue_id}")


def _page(
    request: HttpRequest,
    *,
    failed: tuple[int, NotifyForm] | None = None,
    limited: str = "",
    status: int = 200,
) -> HttpResponse:
    """The page, with the form that failed (if one did) as it was sent: nothing is lost."""
    failed_id, failed_form = failed if failed else (None, None)
    initial = {"contact": getattr(request.user, "email", "")} if _is_customer(request) else {}
    current = [
        (
            issue,
            failed_form
            if issue.id == failed_id and failed_form is not None
            else _form(issue.id, initial=initial),
        )
        for issue in known_issues.current()
    ]
    if failed_id is not None and all(issue.id != failed_id for issue, _ in current):
        limited = limited or gettext("This issue is fixed already, or no longer known.")
    context = {
        "current": current,
        "ended": known_issues.ended_since(timezone.now() - timedelta(days=ENDED_DAYS)),
        "days": ENDED_DAYS,
        "failed_id": failed_id,
        "limited": limited,
    }
    return render(request, "support/status.html", context, status=status)


def _is_customer(request: HttpRequest) -> bool:
    return request.user.is_authenticated and not request.user.is_staff


def _over_limit(request: HttpRequest, contact: str) -> bool:
    """At most N requests per address and per client IP in ten minutes (as the contact
    form)."""
    limit = settings.HELPDESK_WEB_FORM_PER_10_MINUTES
    # The address as typed, in any case and spacing, hashed: any character is a safe key.
    typed = hashlib.sha256("".join(contact.lower().split()).encode()).hexdigest()
    keys = (f"status-notify:ip:{client_address(request)}", f"status-notify:to:{typed}")
    counts = [count_hit(key, window_seconds=RATE_WINDOW_SECONDS) for key in keys]
    return max(counts) > limit
