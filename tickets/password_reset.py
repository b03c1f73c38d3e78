"""Staff password reset (Django's own views) with the mail sent by a worker.

Django's PasswordResetForm looks the address up and sends the mail inside the request, so
the answer came 80 times slower for a staff address than for an unknown one. Here the
request only queues the address; the look-up and the mail happen in
tickets.tasks.send_password_reset, and every address gets the same page as fast. The link
points at PUBLIC_BASE_URL, like every link we mail, never at the Host the request named.
"""

import logging
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.views import PasswordResetView, redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.utils import translation
from django.utils.translation import gettext

from helpdesk.faults import is_transient
from helpdesk.ratelimit import too_many_links
from tickets.branding.mail import branded_email

logger = logging.getLogger(__name__)


class QueuedPasswordResetForm(PasswordResetForm):
    def save(self, **kwargs: Any) -> None:  # type: ignore[override]
        from tickets.tasks import send_password_reset

        send_password_reset.delay(self.cleaned_data["email"])


class QueuedPasswordResetView(PasswordResetView):
    """Django's reset page, queueing the mail, with as many links per address and per
    client as the portal's sign-in links (helpdesk.ratelimit): else anyone could fill a
    colleague's mailbox with reset mails."""

    form_class = QueuedPasswordResetForm

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        if too_many_links("password-reset", self.request, form.cleaned_data["email"]):
            limited = gettext(
                "You asked for several links in a short time. Please wait a few minutes."
            )
            context = self.get_context_data(form=form, limited=limited)
            return self.render_to_response(context, status=429)
        try:
            return super().form_valid(form)
        except Exception as error:
            if not is_transient(error):
                raise
            # The task queue (Redis) down: said alike for any address, the address kept.
            logger.warning("password reset mail not queued: %s", type(error).__name__)
            unsent = gettext(
                "We could not send you a link just now because of a problem on our side. "
                "Please try again in a few minutes."
            )
            context = self.get_context_data(form=form, limited=unsent)
            return self.render_to_response(context, status=503)


class BrandedPasswordResetForm(PasswordResetForm):
    """Django's reset mail, in the brand's frame and from its address, in the language of
    the staff member it goes to (My settings, else the desk's default)."""

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        from tickets.services.notices import agent_languages

        user = context["user"]
        with translation.override(agent_languages([user.pk])[user.pk]):
            subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
            text = loader.render_to_string(email_template_name, context)
        branded_email(subject=subject, text=text, to=[to_email]).send()


def send_password_reset_mail(*, email: str) -> None:
    site = urlsplit(settings.PUBLIC_BASE_URL)
    form = BrandedPasswordResetForm(data={"email": email})
    if form.is_valid():
        form.save(domain_override=site.netloc, use_https=site.scheme == "https")


def staff_sign_in_instead(request: HttpRequest) -> HttpResponse:
    """The admin's sign-in page sends staff to the one staff sign-in (with its second factor)."""
    return redirect_to_login(request.GET.get("next") or "/admin/", login_url="account_login")
