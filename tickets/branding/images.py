"""The logo and favicon admins upload: only raster types browsers and mail readers show
safely (no SVG: it can carry script), checked by their bytes, not their names."""

import filetype
from django.utils.translation import gettext as _

from tickets.errors import InvalidInput

LOGO_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WebP"}
FAVICON_TYPES = {"image/png": "PNG", "image/x-icon": "ICO", "image/vnd.microsoft.icon": "ICO"}
LOGO_MAX_BYTES = 512 * 1024
FAVICON_MAX_BYTES = 100 * 1024


def _checked(data: bytes, *, allowed: dict[str, str], max_bytes: int, what: str) -> str:
    if not data:
        raise InvalidInput(_("The %(what)s file is empty.") % {"what": what}, code="empty_file")
    if len(data) > max_bytes:
        raise InvalidInput(
            _("The %(what)s is %(size)s KB; at most %(most)s KB.")
            % {"what": what, "size": len(data) // 1024, "most": max_bytes // 1024},
            code="file_too_large",
        )
    kind = filetype.guess(data)
    mime = kind.mime if kind else ""
    if mime not in allowed:
        names = ", ".join(sorted(set(allowed.values())))
        raise InvalidInput(
            _("The %(what)s must be a %(names)s image (this file is %(kind)s).")
            % {"what": what, "names": names, "kind": mime or _("not an image")},
            code="invalid_image",
        )
    return "image/x-icon" if allowed[mime] == "ICO" else mime


def logo_type(data: bytes) -> str:
    """The logo's content type; refuses anything but PNG, JPEG and WebP up to 512 KB."""
    return _checked(data, allowed=LOGO_TYPES, max_bytes=LOGO_MAX_BYTES, what=_("logo"))


def favicon_type(data: bytes) -> str:
    """The favicon's content type; refuses anything but PNG and ICO up to 100 KB."""
    return _checked(data, allowed=FAVICON_TYPES, max_bytes=FAVICON_MAX_BYTES, what=_("favicon"))
