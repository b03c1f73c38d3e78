"""The portal's forms: sign-in, a customer's message with attachments, the survey."""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import User
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from helpdesk.submissions import SubmissionField, new_submission_id
from helpdesk.uploads import MAX_FILES, MultipleFileField
from tickets import selectors
from tickets.roles import is_staff_member
from tickets.services.satisfaction import COMMENT_MAX_CHARS

MESSAGE_MAX_CHARS = 20_000


class SignInLinkForm(forms.Form):
    email = forms.EmailField(
        label=_("Your email address"),
        max_length=320,
        help_text=_("The address you wrote to us from. We email you a link to sign in."),
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput)


class PortalAuthenticationForm(AuthenticationForm):
    """Username (or email address) and password of a customer account; never staff."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("Email address or username")

    def clean_username(self) -> str:
        username: str = self.cleaned_data["username"]
        if "@" in username:
            return selectors.portal_username_for_email(username) or username
        return username

    def confirm_login_allowed(self, user: User) -> None:
        super().confirm_login_allowed(user)
        # A staff member's right password gets the same answer as a wrong one: the page must
        # not confirm a staff password to whoever is guessing it.
        if user.is_staff or is_staff_member(user) or selectors.customer_for_user(user) is None:
            raise self.get_invalid_login_error()


class ReplyForm(forms.Form):
    text = forms.CharField(
        widget=forms.Textarea,
        max_length=MESSAGE_MAX_CHARS,
        label=_("Your message"),
        error_messages={"required": _("Write a message before sending.")},
    )
    attachments = MultipleFileField(
        required=False,
        label=_("Attach files"),
        help_text=_("Screenshots or logs, up to 10 files."),
        too_large_hint=_("; attach a smaller file (your message is kept below)"),
    )
    # One id per rendered form: a second submit of the same form stores the message once.
    submission = SubmissionField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"submission": new_submission_id()})
        super().__init__(*args, **kwargs)
        limit = filesizeformat(settings.HELPDESK_MAX_ATTACHMENT_BYTES)
        help_text = _("Screenshots or logs: up to %(files)s files, %(limit)s each.") % {
            "files": MAX_FILES,
            "limit": limit,
        }
        self.fields["attachments"].help_text = help_text

    def clean_text(self) -> str:
        text: str = self.cleaned_data["text"]
        if not text.strip():
            raise forms.ValidationError(_("Write a message before sending."))
        return text


RATING_CHOICES = [
    (5, _("5: Very good")),
    (4, _("4: Good")),
    (3, _("3: OK")),
    (2, _("2: Poor")),
    (1, _("1: Very poor")),
]


class RatingForm(forms.Form):
    rating = forms.TypedChoiceField(
        choices=RATING_CHOICES,
        coerce=int,
        widget=forms.RadioSelect,
        label=_("How did we do?"),
        error_messages={"required": _("Choose a rating from 1 to 5.")},
    )
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        max_length=COMMENT_MAX_CHARS,
        label=_("Anything you want to tell us? (optional)"),
    )
