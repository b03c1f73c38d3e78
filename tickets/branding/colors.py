"""Colours as admins give them (#rrggbb) and whether text stays readable on them: WCAG 2.1
relative luminance and contrast ratio, pure."""

import re

from django.utils.translation import gettext as _

from tickets.errors import InvalidInput

_HEX = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
WHITE = "#ffffff"
PAGE = "#f5f7fa"  # the pages' background (static/css/helpdesk.css --bg)
DARK = "#1f2933"  # the pages' ink (static/css/helpdesk.css --ink)
AA_TEXT = 4.5  # WCAG 2.1 AA, normal text


def normalize_hex(value: str, *, field: str | None = None) -> str:
    """'#1E5BB8', '1e5bb8' or '#15b' as '#1e5bb8'; refuses anything else."""
    match = _HEX.match(value.strip())
    if not match:
        raise InvalidInput(
            _("The %(field)s must be a hex colour such as #1e5bb8.")
            % {"field": field or _("colour")},
            code="invalid_color",
        )
    digits = match.group(1).lower()
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return f"#{digits}"


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(color: str) -> float:
    digits = normalize_hex(color)[1:]
    r, g, b = (int(digits[i : i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(first: str, second: str) -> float:
    """The WCAG contrast ratio of two colours, 1 to 21."""
    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def refuse_unreadable_primary(color: str) -> None:
    """The primary colour carries white button text and is the links' colour on the
    pages (white cards, a light grey background): each needs 4.5:1."""
    ratio = min(contrast(color, WHITE), contrast(color, PAGE))
    if ratio < AA_TEXT:
        raise InvalidInput(
            _(
                "%(color)s has a contrast of %(ratio).1f:1 with white text and "
                "with the pages' background; WCAG AA needs %(needed)s:1. Choose "
                "a darker colour."
            )
            % {"color": color, "ratio": ratio, "needed": AA_TEXT},
            code="low_contrast",
        )


def hover_shade(color: str) -> str:
    """The colour a sixth darker (buttons' hover)."""
    digits = normalize_hex(color)[1:]
    parts = (int(int(digits[i : i + 2], 16) * 5 / 6) for i in (0, 2, 4))
    return "#" + "".join(f"{p:02x}" for p in parts)
