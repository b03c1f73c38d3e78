"""The file field of our forms: several files at once, within the attachment limits."""

from typing import Any

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.functional import Promise
from django.utils.translation import gettext, ngettext

MAX_FILES = 10


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Up to MAX_FILES files, each within HELPDESK_MAX_ATTACHMENT_BYTES, all of them within
    HELPDESK_MAX_UPLOAD_BYTES.

    `too_large_hint` is added to the size error (e.g. that the typed message is kept).
    """

    def __init__(self, *args: Any, too_large_hint: "str | Promise" = "", **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        self.too_large_hint = too_large_hint
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = data if isinstance(data, list | tuple) else [data] if data else []
        if len(files) > MAX_FILES:
            raise forms.ValidationError(
                ngettext(
                    "Attach at most %(most)d file.", "Attach at most %(most)d files.", MAX_FILES
                )
                % {"most": MAX_FILES}
            )
        limit = settings.HELPDESK_MAX_ATTACHMENT_BYTES
        for upload in files:
            if upload.size > limit:
                raise forms.ValidationError(
                    gettext("%(name)s is larger than %(limit)s%(hint)s.")
                    % {
                        "name": upload.name,
                        "limit": filesizeformat(limit),
                        "hint": self.too_large_hint,
                    }
                )
        total = settings.HELPDESK_MAX_UPLOAD_BYTES
        if sum(upload.size for upload in files) > total:
            raise forms.ValidationError(
                gettext("These files together are larger than %(limit)s%(hint)s.")
                % {"limit": filesizeformat(total), "hint": self.too_large_hint}
            )
        return [super(MultipleFileField, self).clean(upload, initial) for upload in files]
