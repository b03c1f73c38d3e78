"""Setting the brand: one row, validated here whichever door (the admin, the shell)."""

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from tickets.branding import colors, images
from tickets.errors import InvalidInput, NotAllowed
from tickets.models import Brand
from tickets.roles import is_admin

KEEP = None  # an image left as it is


@dataclass(frozen=True)
class BrandInput:
    company_name: str = ""
    support_address: str = ""
    primary_color: str = ""
    accent_color: str = ""
    footer_text: str = ""
    logo: bytes | None = KEEP  # b"": removed
    favicon: bytes | None = KEEP  # b"": removed


def brand_cleaned(data: BrandInput) -> dict[str, object]:
    """The row's values for `data`, or InvalidInput saying what is wrong."""
    values: dict[str, object] = {
        "company_name": " ".join(data.company_name.split())[:100],
        "footer_text": " ".join(data.footer_text.split())[:300],
    }
    address = data.support_address.strip().lower()
    if address:
        try:
            validate_email(address)
        except ValidationError:
            raise InvalidInput(
                _("%(address)r is not an email address.") % {"address": address},
                code="invalid_address",
            ) from None
    values["support_address"] = address
    primary = data.primary_color.strip()
    if primary:
        primary = colors.normalize_hex(primary, field=_("primary colour"))
        colors.refuse_unreadable_primary(primary)
    values["primary_color"] = primary
    accent = data.accent_color.strip()
    values["accent_color"] = (
        colors.normalize_hex(accent, field=_("accent colour")) if accent else ""
    )
    if data.logo is not None:
        values["logo"] = data.logo
        values["logo_type"] = images.logo_type(data.logo) if data.logo else ""
    if data.favicon is not None:
        values["favicon"] = data.favicon
        values["favicon_type"] = images.favicon_type(data.favicon) if data.favicon else ""
    return values


def brand_update(*, data: BrandInput, actor: User | None) -> Brand:
    """Set the brand (admins only; None: the system, as the demo data does)."""
    if actor is not None and not is_admin(actor):
        raise NotAllowed(_("Only admins set the branding."), code="not_admin")
    values = brand_cleaned(data)
    with transaction.atomic():
        brand = Brand.objects.select_for_update().order_by("pk").first() or Brand()
        for field, value in values.items():
            setattr(brand, field, value)
        brand.save()  # the post_save signal moves the kept brand on
    return brand
