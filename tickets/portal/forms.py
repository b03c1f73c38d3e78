"""The portal's forms: sign-in, a customer's message with attachments, the survey."""

import re
import uuid
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import User
from django.template.defaultfilters import filesizeformat

from helpdesk.uploads import MAX_FILES, MultipleFileField
from tickets import selectors
from tickets.roles import is_staff_member
from tickets.services.satisfaction import COMMENT_MAX_CHARS

MESSAGE_MAX_CHARS = 20_000


class SignInLinkForm(forms.Form):
    email = forms.EmailField(
        label="Your email address",
        max_length=320,
        help_text="The address you wrote to us from. We email you a link to sign in.",
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput)


class PortalAuthenticationForm(AuthenticationForm):
    """Username (or email address) and password of a customer account; never staff."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "Email address or username"

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


_SUBMISSION_ID = re.compile(r"^[0-9a-f]{32}$")


class ReplyForm(forms.Form):
    text = forms.CharField(
        widget=forms.Textarea,
        max_length=MESSAGE_MAX_CHARS,
        label="Your message",
        error_messages={"required": "Write a message before sending."},
    )
    attachments = MultipleFileField(
        required=False,
        label="Attach files",
        help_text="Screenshots or logs, up to 10 files.",
        too_large_hint="; attach a smaller file (your message is kept below)",
    )
    # One id per rendered form: a second submit of the same form stores the message once.
    submission = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"submission": uuid.uuid4().hex})
        super().__init__(*args, **kwargs)
        limit = filesizeformat(settings.HELPDESK_MAX_ATTACHMENT_BYTES)
        help_text = f"Screenshots or logs: up to {MAX_FILES} files, {limit} each."
        self.fields["attachments"].help_text = help_text

    def clean_text(self) -> str:
        text: str = self.cleaned_data["text"]
        if not text.strip():
            raise forms.ValidationError("Write a message before sending.")
        return text

    def clean_submission(self) -> str:
        value: str = self.cleaned_data.get("submission", "")
        return value if _SUBMISSION_ID.match(value) else ""


RATING_CHOICES = [
    (5, "5: Very good"),
    (4, "4: Good"),
    (3, "3: OK"),
    (2, "2: Poor"),
    (1, "1: Very poor"),
]


class RatingForm(forms.Form):
    rating = forms.TypedChoiceField(
        choices=RATING_CHOICES,
        coerce=int,
        widget=forms.RadioSelect,
        label="How did we do?",
        error_messages={"required": "Choose a rating from 1 to 5."},
    )
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        max_length=COMMENT_MAX_CHARS,
        label="Anything you want to tell us? (optional)",
    )
