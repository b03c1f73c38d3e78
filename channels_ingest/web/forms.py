from typing import Any

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat

MAX_FILES = 10


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = data if isinstance(data, list | tuple) else [data] if data else []
        if len(files) > MAX_FILES:
            raise forms.ValidationError(f"Attach at most {MAX_FILES} files.")
        limit = settings.HELPDESK_MAX_ATTACHMENT_BYTES
        for upload in files:
            if upload.size > limit:
                raise forms.ValidationError(
                    f"{upload.name} is larger than {filesizeformat(limit)}."
                )
        return [super(MultipleFileField, self).clean(upload, initial) for upload in files]


class ContactForm(forms.Form):
    URGENCY = [("low", "Not urgent"), ("normal", "Normal"), ("high", "Urgent: I cannot work")]

    name = forms.CharField(max_length=200, label="Your name")
    email = forms.EmailField(label="Your email", help_text="We answer here.")
    subject = forms.CharField(max_length=200)
    description = forms.CharField(
        widget=forms.Textarea,
        max_length=20_000,
        label="What happened?",
        help_text="What you did, what you expected and what you saw instead.",
    )
    urgency = forms.ChoiceField(choices=URGENCY, initial="normal", label="How urgent is it?")
    attachments = MultipleFileField(
        required=False, help_text="Screenshots or logs, up to 10 files."
    )
    # Robots fill every field; people never see this one.
    website = forms.CharField(required=False, label="Leave this empty")

    def is_robot(self) -> bool:
        return bool(self.cleaned_data.get("website"))
