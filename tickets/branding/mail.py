"""Every email we send wears the brand, built here: From (the brand's name and support
address over the configured ones), an HTML part framed with the logo, the colours and the
footer, and a plain-text part ending in the company's name and support address."""

from collections.abc import Sequence

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from tickets.branding import Look, current
from tickets.html import text_to_html


def text_footer(look: Look) -> str:
    lines = [look.name]
    if look.footer_text:
        lines.append(look.footer_text)
    lines.append(look.support_address or settings.HELPDESK_SUPPORT_ADDRESS)
    return "\n".join(lines)


def branded_text(text: str, look: Look | None = None) -> str:
    """The plain-text part: the text, then (after the usual "-- " line) who we are."""
    look = look or current()
    return f"{text.rstrip()}\n\n-- \n{text_footer(look)}\n"


def branded_html(body_html: str, look: Look | None = None) -> str:
    """The HTML part: `body_html` (already sanitised or escaped) in the brand's frame."""
    look = look or current()
    return render_to_string(
        "email/branded.html",
        {
            "brand": look,
            "logo_src": f"{settings.PUBLIC_BASE_URL}{look.logo_url}",
            "body": mark_safe(body_html),  # noqa: S308 - the callers' sanitised HTML
            "address": look.support_address or settings.HELPDESK_SUPPORT_ADDRESS,
        },
    )


def branded_email(
    *,
    subject: str,
    text: str,
    to: Sequence[str],
    html: str | SafeString = "",
    cc: Sequence[str] = (),
    reply_to: Sequence[str] = (),
    headers: dict[str, str] | None = None,
    fallback_address: str = "",
) -> EmailMultiAlternatives:
    """A mail ready to send: `text` as the plain part, `html` (or the text made HTML) framed.
    From: the brand's support address, else `fallback_address`, else DEFAULT_FROM_EMAIL."""
    look = current()
    email = EmailMultiAlternatives(
        subject=subject,
        body=branded_text(text, look),
        from_email=look.from_address(fallback_address),
        to=list(to),
        cc=list(cc),
        reply_to=list(reply_to) or None,
        headers=headers or {},
    )
    email.attach_alternative(branded_html(html or text_to_html(text), look), "text/html")
    return email
