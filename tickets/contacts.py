"""Normalising contact points, so one address or number always means one customer."""

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from tickets.errors import InvalidInput
from tickets.models import ContactKind


def normalize_email(raw: str) -> str:
    # Mailboxes are case-insensitive in practice; every mail client treats them so.
    value = raw.strip().lower()
    try:
        validate_email(value)
    except ValidationError:
        raise InvalidInput(
            _("%(raw)r is not a valid email address.") % {"raw": raw}, code="invalid_email"
        ) from None
    return value


def normalize_phone(raw: str) -> str:
    """E.164 form, e.g. '+14155550123'; numbers without a country code use the default region."""
    try:
        number = phonenumbers.parse(raw, settings.HELPDESK_PHONE_REGION)
    except phonenumbers.NumberParseException:
        raise InvalidInput(
            _("%(raw)r is not a phone number.") % {"raw": raw}, code="invalid_phone"
        ) from None
    if not phonenumbers.is_possible_number(number):
        raise InvalidInput(
            _("%(raw)r is not a possible phone number.") % {"raw": raw}, code="invalid_phone"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_contact(kind: str, raw: str) -> str:
    if kind == ContactKind.EMAIL:
        return normalize_email(raw)
    if kind == ContactKind.PHONE:
        return normalize_phone(raw)
    if kind in (ContactKind.CHAT, ContactKind.WEB):
        value = raw.strip()
        if not value:
            raise InvalidInput(_("A contact value is required."), code="invalid_contact")
        return value[:320]
    raise InvalidInput(_("Unknown contact kind %(kind)r.") % {"kind": kind}, code="invalid_contact")
