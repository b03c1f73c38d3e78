"""The brand every page and email wears (tickets.models_branding.Brand), kept per process.

`current()` is what templates (through tickets.branding.context), mail
(tickets.branding.mail) and the addresses (tickets.addressing) read: no query while the
brand is unchanged. It is kept with the rest of what admins set up and every message or
page reads (tickets.services.desk_setup, a helpdesk.kept value): one version to check per
use, one read after a change. Saving it (brand_update, the admin) moves the version on.
"""

import hashlib
from dataclasses import dataclass
from email.utils import formataddr

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.templatetags.static import static
from django.urls import reverse

from tickets.branding.colors import WHITE, hover_shade

DEFAULT_PRIMARY = "#1e5bb8"
DEFAULT_ACCENT = "#1e5bb8"


@dataclass(frozen=True)
class Look:
    """The brand as pages and mail use it, defaults filled in."""

    company_name: str  # empty until an admin names the company
    support_address: str  # empty: the configured address (settings)
    primary: str
    accent: str
    footer_text: str
    logo: bytes
    logo_type: str
    favicon: bytes
    favicon_type: str

    @property
    def name(self) -> str:
        """The name customers see: the company's, or the configured sender name."""
        return self.company_name or settings.HELPDESK_SENDER_NAME

    @property
    def primary_ink(self) -> str:
        return WHITE  # the primary colour is refused unless white text reads on it

    @property
    def primary_hover(self) -> str:
        return hover_shade(self.primary)

    @property
    def logo_version(self) -> str:
        return hashlib.sha256(self.logo).hexdigest()[:12] if self.logo else ""

    @property
    def favicon_version(self) -> str:
        return hashlib.sha256(self.favicon).hexdigest()[:12] if self.favicon else ""

    @property
    def logo_url(self) -> str:
        """The logo's path on this site (the default one until an admin uploads one)."""
        if not self.logo:
            return static("brand/logo.png")
        return reverse("brand-logo", args=[self.logo_version])

    @property
    def favicon_url(self) -> str:
        if not self.favicon:
            return static("brand/favicon.png")
        return reverse("brand-favicon", args=[self.favicon_version])

    @property
    def favicon_type_or_default(self) -> str:
        return self.favicon_type or "image/png"

    def from_address(self, fallback: str = "") -> str:
        """The From of our mail: the brand's name and support address over the configured
        ones (`fallback`, else DEFAULT_FROM_EMAIL)."""
        address = self.support_address or fallback or settings.DEFAULT_FROM_EMAIL
        return formataddr((self.company_name or settings.HELPDESK_SENDER_NAME, address))


def read_look() -> Look:
    """The brand as saved (a query: tickets.services.desk_setup keeps it)."""
    from tickets.models import Brand

    brand = Brand.objects.order_by("pk").first()
    if brand is None:
        return Look("", "", DEFAULT_PRIMARY, DEFAULT_ACCENT, "", b"", "", b"", "")
    return Look(
        company_name=brand.company_name,
        support_address=brand.support_address.lower(),
        primary=brand.primary_color or DEFAULT_PRIMARY,
        accent=brand.accent_color or brand.primary_color or DEFAULT_ACCENT,
        footer_text=brand.footer_text,
        logo=bytes(brand.logo or b""),
        logo_type=brand.logo_type,
        favicon=bytes(brand.favicon or b""),
        favicon_type=brand.favicon_type,
    )


def current() -> Look:
    """The brand as this process last read it (read again once it changed)."""
    from tickets.services import desk_setup

    return desk_setup.current().brand


def changed(**kwargs: object) -> None:
    """A signal receiver: every process reads the brand (with the desk's set-up) again."""
    from tickets.services import desk_setup

    desk_setup.setup_changed(**kwargs)


def connect_signals() -> None:
    from tickets.models import Brand

    post_save.connect(changed, sender=Brand, dispatch_uid="brand-saved")
    post_delete.connect(changed, sender=Brand, dispatch_uid="brand-deleted")
