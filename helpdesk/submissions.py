"""One id per rendered form, sent back with it: a second submit of the same form (a double
click, a retry after an error or a lost answer) is recognised and stored once."""

import re
import uuid
from typing import Any

from django import forms

_SUBMISSION_ID = re.compile(r"^[0-9a-f]{32}$")


def new_submission_id() -> str:
    return uuid.uuid4().hex


class SubmissionField(forms.CharField):
    """The form's hidden id; anything but a well-formed id is cleaned to "" (no dedup)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.HiddenInput)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> str:
        cleaned: str = super().clean(value)
        return cleaned if _SUBMISSION_ID.match(cleaned) else ""
