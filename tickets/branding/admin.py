"""The branding page in the admin (Admin > Tickets > Branding): one row, saved through
tickets.branding.services, so the admin refuses what the service refuses."""

from typing import Any

from django import forms
from django.contrib import admin
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext

from tickets.branding import current, images
from tickets.branding.services import BrandInput, brand_cleaned, brand_update
from tickets.errors import InvalidInput
from tickets.models import Brand
from tickets.roles import is_admin

_FIELD_OF_CODE = {
    "invalid_address": "support_address",
    "invalid_color": None,  # primary or accent: said by the message
    "low_contrast": "primary_color",
}


def _read(upload: UploadedFile | None, limit: int) -> bytes | None:
    if upload is None:
        return None
    return upload.read(limit + 1)


class BrandForm(forms.ModelForm):
    logo_upload = forms.FileField(
        required=False,
        label="Logo",
        help_text="PNG, JPEG or WebP, at most 512 KB; shown about 40 pixels high.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
    )
    remove_logo = forms.BooleanField(required=False, label="Remove the logo")
    favicon_upload = forms.FileField(
        required=False,
        label="Favicon",
        help_text="PNG or ICO, at most 100 KB (32 by 32 pixels is best).",
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/x-icon,.ico"}),
    )
    remove_favicon = forms.BooleanField(required=False, label="Remove the favicon")

    class Meta:
        model = Brand
        fields = ["company_name", "support_address", "primary_color", "accent_color",
                  "footer_text"]  # fmt: skip
        widgets = {
            "primary_color": forms.TextInput(attrs={"placeholder": "#1e5bb8", "size": 8}),
            "accent_color": forms.TextInput(attrs={"placeholder": "#1e5bb8", "size": 8}),
        }

    def brand_input(self) -> BrandInput:
        data = self.cleaned_data
        logo = _read(data.get("logo_upload"), images.LOGO_MAX_BYTES)
        favicon = _read(data.get("favicon_upload"), images.FAVICON_MAX_BYTES)
        return BrandInput(
            company_name=data.get("company_name") or "",
            support_address=data.get("support_address") or "",
            primary_color=data.get("primary_color") or "",
            accent_color=data.get("accent_color") or "",
            footer_text=data.get("footer_text") or "",
            logo=b"" if data.get("remove_logo") else logo,
            favicon=b"" if data.get("remove_favicon") else favicon,
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        try:
            self._brand_input = self.brand_input()
            brand_cleaned(self._brand_input)
        except InvalidInput as error:
            field = _FIELD_OF_CODE.get(error.code)
            if error.code in ("invalid_image", "file_too_large", "empty_file"):
                # Which upload: the message names it (in the language it was written in).
                field = "logo_upload" if gettext("logo") in error.message else "favicon_upload"
            self.add_error(field, error.message)
        return cleaned


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    """One brand: opened from the list, never a second one, never deleted."""

    form = BrandForm
    list_display = ("__str__", "support_address", "primary_color", "updated_at")
    readonly_fields = ("preview",)
    fieldsets = [
        (None, {"fields": ["company_name", "support_address", "footer_text"]}),
        ("Colours", {"fields": ["primary_color", "accent_color"]}),
        ("Images", {"fields": ["preview", "logo_upload", "remove_logo", "favicon_upload",
                               "remove_favicon"]}),
    ]  # fmt: skip

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_admin(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_admin(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_admin(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_admin(request.user) and not Brand.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Now")
    def preview(self, obj: Brand | None) -> str:
        look = current()
        logo = (
            format_html('<img src="{}" alt="Logo" height="40"> ', look.logo_url)
            if look.logo
            else "No logo (the default one is shown). "
        )
        favicon = (
            format_html('<img src="{}" alt="Favicon" height="16">', look.favicon_url)
            if look.favicon
            else "No favicon (the default one is shown)."
        )
        return format_html("{}{}", logo, favicon)

    def save_model(self, request: HttpRequest, obj: Brand, form: Any, change: bool) -> None:
        saved = brand_update(data=form._brand_input, actor=request.user)  # type: ignore[arg-type]
        obj.pk = saved.pk

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        pass
