"""Verifying a contact point: a signed link sent to the address or number; the customer
opens it and confirms, which proves the address or number is theirs.

The link names the contact point and its value, so it stops working when the contact is
removed or moved to another customer; confirming is a POST (mail scanners open links).
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from tickets.branding.mail import branded_email
from tickets.errors import Conflict, InvalidInput
from tickets.models import ContactKind, ContactPoint
from tickets.services.notices import customer_language

logger = logging.getLogger(__name__)

_SALT = "helpdesk.contact-verification"
LINK_DAYS = 7


@dataclass(frozen=True)
class VerificationNotice:
    to: str
    text: str
    subject: str


def verification_token(contact: ContactPoint) -> str:
    return signing.dumps({"c": contact.pk, "v": contact.value}, salt=_SALT, compress=True)


def verification_link(contact: ContactPoint) -> str:
    path = reverse("verify-contact", args=[verification_token(contact)])
    return f"{settings.PUBLIC_BASE_URL}{path}"


def contact_from_token(token: str) -> ContactPoint | None:
    """The contact point a valid, unexpired link names, if it still holds the same value."""
    try:
        data = signing.loads(token, salt=_SALT, max_age=LINK_DAYS * 86400)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("c"), int):
        return None
    return (
        ContactPoint.objects.select_related("customer")
        .filter(pk=data["c"], value=str(data.get("v", "")), customer__merged_into__isnull=True)
        .first()
    )


def contact_point_send_verification(*, contact: ContactPoint) -> None:
    """Send the customer a link to confirm the address or number (after commit)."""
    if contact.kind not in (ContactKind.EMAIL, ContactKind.PHONE):
        raise InvalidInput(
            _("Only email addresses and phone numbers are verified."), code="invalid"
        )
    if contact.verified_at is not None:
        raise Conflict(
            _("%(contact)s is verified already.") % {"contact": contact.value}, code="verified"
        )
    task = (
        "tickets.tasks.send_contact_verification"
        if contact.kind == ContactKind.EMAIL
        else settings.HELPDESK_SMS_VERIFICATION_TASK
    )
    contact_id = contact.pk
    transaction.on_commit(lambda: import_string(task).delay(contact_id))


def verification_notice(contact_id: int, *, short: bool = False) -> VerificationNotice | None:
    """What to send to the contact point, in the customer's language (None: it is gone or
    verified meanwhile)."""
    contact = (
        ContactPoint.objects.select_related("customer")
        .filter(pk=contact_id, verified_at__isnull=True)
        .first()
    )
    if contact is None:
        return None
    link = verification_link(contact)
    with translation.override(customer_language(contact.customer)):
        if short:
            text = gettext("Confirm this number for support: %(link)s") % {"link": link}
            return VerificationNotice(contact.value, text, "")
        text = gettext(
            "Hello,\n\nplease confirm that this address is yours, so we know where to reach "
            "you about your support requests:\n\n%(link)s\n\nThe link works for %(days)s "
            "days. If you did not expect this message, ignore it.\n"
        ) % {"link": link, "days": LINK_DAYS}
        return VerificationNotice(contact.value, text, gettext("Please confirm your email address"))


def send_verification_email(contact_id: int) -> bool:
    notice = verification_notice(contact_id)
    if notice is None:
        return False
    branded_email(
        subject=notice.subject,
        text=notice.text,
        to=[notice.to],
        headers={"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"},
    ).send()
    return True


def contact_point_verify(*, token: str, now: datetime | None = None) -> ContactPoint:
    """Mark the linked contact point verified (a repeated confirm changes nothing)."""
    contact = contact_from_token(token)
    if contact is None:
        raise InvalidInput(
            _("This link is not valid any more: ask us for a new one."), code="bad_link"
        )
    if contact.verified_at is None:
        contact.verified_at = now or timezone.now()
        ContactPoint.objects.filter(pk=contact.pk, verified_at__isnull=True).update(
            verified_at=contact.verified_at
        )
    return contact
