"""The customer portal's writes: one-time sign-in links, and what a signed-in customer does
with their own tickets (write, reopen within a window, follow up on a closed one).

A sign-in link is signed and timestamped (it expires) and carries a fingerprint of the
account's state, including its last login: signing in changes the state, so each link works
once, and a new link outdates older ones.
"""

import logging
import uuid
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from tickets.branding.mail import branded_email
from tickets.contacts import normalize_email
from tickets.errors import Conflict, InvalidInput
from tickets.inbound import InboundAttachment, InboundMessage, IngestResult
from tickets.models import Channel, ContactKind, ContactPoint, Customer, Ticket, TicketStatus
from tickets.roles import is_staff_member
from tickets.services._common import Actor
from tickets.services.customers import customer_add_contact_point
from tickets.services.messages import ticket_add_inbound, ticket_open
from tickets.services.notices import customer_language
from tickets.services.reopening import takes_customer_message, within_reopen_window
from tickets.services.transitions import ticket_reopen

logger = logging.getLogger(__name__)

_SIGN_IN_SALT = "helpdesk.portal-sign-in"


# --- Sign-in by a one-time link ----------------------------------------------------------


def _account_state(customer: Customer, user: User | None) -> str:
    """Changes whenever the account does: created, signed in, password set, deactivated."""
    parts: list[object] = [customer.pk]
    if user is not None:
        last_login = user.last_login.replace(microsecond=0, tzinfo=None) if user.last_login else ""
        parts += [user.pk, user.password, last_login, user.is_active]
    value = "|".join(str(part) for part in parts)
    return salted_hmac(_SIGN_IN_SALT, value, algorithm="sha256").hexdigest()[:32]


def sign_in_token(contact: ContactPoint) -> str:
    state = _account_state(contact.customer, contact.customer.user)
    return signing.dumps({"c": contact.pk, "s": state}, salt=_SIGN_IN_SALT, compress=True)


def _may_use_portal(user: User | None) -> bool:
    """Staff sign in to the agent area, never through a customer's door."""
    if user is None:
        return True
    return user.is_active and not user.is_staff and not is_staff_member(user)


def customer_send_sign_in_link(*, email: str) -> bool:
    """Email a one-time sign-in link if the address belongs to a customer (after commit).

    Returns whether a link was sent; callers must not tell the visitor (no enumeration).
    """
    try:
        address = normalize_email(email)
    except InvalidInput:
        return False
    contact = (
        ContactPoint.objects.select_related("customer__user")
        .filter(kind=ContactKind.EMAIL, value=address, customer__merged_into__isnull=True)
        .first()
    )
    if contact is None or not _may_use_portal(contact.customer.user):
        return False
    link = settings.PUBLIC_BASE_URL + reverse("portal-login-link", args=[sign_in_token(contact)])
    language = customer_language(contact.customer)
    transaction.on_commit(lambda: _send_sign_in_mail(address, link, language))
    return True


def _send_sign_in_mail(address: str, link: str, language: str) -> None:
    minutes = settings.HELPDESK_SIGN_IN_LINK_MINUTES
    try:
        with translation.override(language):
            text = gettext(
                "Hello,\n\nuse this link to sign in and see your support requests:\n\n"
                "%(link)s\n\nIt works once, for %(minutes)s minutes. If you did not ask for "
                "it, ignore this message: nobody can sign in without the link.\n"
            ) % {"link": link, "minutes": minutes}
            subject = gettext("Your sign-in link")
        branded_email(subject=subject, text=text, to=[address]).send()
    except Exception:
        # The visitor already saw "check your email"; they can ask again.
        logger.exception("could not send a portal sign-in link")


def customer_sign_in_by_link(*, token: str, now: datetime | None = None) -> User | None:
    """The portal account a valid, unused, unexpired link signs in; None otherwise.

    On first sign-in the customer gets an account (no usable password). Using the link
    records the login, which spends it.
    """
    data = _read_token(token)
    if data is None:
        return None
    contact_id, state = data
    with transaction.atomic():
        contact = ContactPoint.objects.filter(pk=contact_id, kind=ContactKind.EMAIL).first()
        if contact is None:
            return None
        # Locked, so two clicks on one link cannot both sign in.
        customer = Customer.objects.select_for_update().get(pk=contact.customer_id)
        user = customer.user
        if not _link_matches(customer, user, state):
            return None
        if user is None:
            user = _create_portal_account(customer, contact.value)
        if contact.verified_at is None:  # the link reached them: the address is theirs
            ContactPoint.objects.filter(pk=contact.pk).update(verified_at=now or timezone.now())
        user.last_login = now or timezone.now()
        user.save(update_fields=["last_login"])
    return user


def sign_in_link_is_valid(token: str) -> bool:
    """Whether the link would sign someone in now (without spending it)."""
    data = _read_token(token)
    if data is None:
        return False
    contact = (
        ContactPoint.objects.select_related("customer__user")
        .filter(pk=data[0], kind=ContactKind.EMAIL)
        .first()
    )
    return contact is not None and _link_matches(contact.customer, contact.customer.user, data[1])


def _read_token(token: str) -> tuple[int, str] | None:
    max_age = settings.HELPDESK_SIGN_IN_LINK_MINUTES * 60
    try:
        data = signing.loads(token, salt=_SIGN_IN_SALT, max_age=max_age)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("c"), int):
        return None
    return data["c"], str(data.get("s", ""))


def _link_matches(customer: Customer, user: User | None, state: str) -> bool:
    return (
        customer.merged_into_id is None
        and _may_use_portal(user)
        and constant_time_compare(_account_state(customer, user), state)
    )


def _create_portal_account(customer: Customer, email: str) -> User:
    username = f"customer-{customer.pk}"
    if User.objects.filter(username=username).exists():
        username = f"{username}-{uuid.uuid4().hex[:8]}"
    user = User(username=username, email=email, first_name=customer.name[:150])
    user.set_unusable_password()
    user.save()
    customer.user = user
    customer.save(update_fields=["user", "updated_at"])
    return user


# --- A customer's own tickets ------------------------------------------------------------


def ticket_customer_reopen(*, ticket: Ticket, actor: Actor, now: datetime | None = None) -> Ticket:
    """The customer reopens their resolved ticket, within HELPDESK_REOPEN_DAYS."""
    now = now or timezone.now()
    if ticket.status == TicketStatus.RESOLVED and not within_reopen_window(ticket, now):
        raise Conflict(
            _(
                "%(reference)s was resolved more than %(days)s days ago, so it cannot be "
                "reopened; write to us and we open a follow-up request."
            )
            % {
                "reference": ticket.reference,
                "days": settings.HELPDESK_REOPEN_DAYS,
            },
            code="reopen_window_passed",
        )
    return ticket_reopen(ticket=ticket, actor=actor, reason="reopened by the customer", now=now)


def ticket_customer_write(
    *,
    ticket: Ticket,
    customer: Customer,
    text: str,
    attachments: tuple[InboundAttachment, ...] = (),
    submission_id: str = "",
    now: datetime | None = None,
) -> IngestResult:
    """The customer writes on their ticket in the portal (channel web).

    Where it goes is the rule of every door (tickets/services/reopening.py): an active
    ticket, or one resolved within the reopen window (which reopens), takes it; otherwise it
    opens a follow-up ticket linked to it. `submission_id`
    (one per rendered form) makes a double submit store the message once.
    """
    now = now or timezone.now()
    if ticket.customer_id != customer.pk:
        raise InvalidInput(_("This is not the customer's ticket."), code="not_owner")
    # A message on a ticket merged since (the page was open) goes where it went, as an
    # email's reply does.
    ticket = _merged_into(ticket)
    if ticket.customer_id != customer.pk or ticket.merged_into_id is not None:
        raise Conflict(
            _("%(reference)s was merged into another request; write there.")
            % {"reference": ticket.reference},
            code="ticket_merged",
        )
    kind, sender = _portal_sender(customer)
    inbound = InboundMessage(
        channel=Channel.WEB,
        sender_kind=kind,
        sender=sender,
        sender_name=customer.name,
        subject=ticket.subject,
        text=text,
        attachments=attachments,
        external_id=f"portal:{submission_id}" if submission_id else None,
    )
    if not takes_customer_message(ticket, now):
        return ticket_open(inbound=inbound, priority=ticket.priority, follow_up_of=ticket, now=now)
    return ticket_add_inbound(ticket=ticket, inbound=inbound, now=now)


# How far a chain of merges is followed (merges cannot form cycles; this is a guard).
_MAX_MERGE_HOPS = 20


def _merged_into(ticket: Ticket) -> Ticket:
    """The ticket a merged one ended in (itself when not merged)."""
    for _hop in range(_MAX_MERGE_HOPS):
        if ticket.merged_into_id is None:
            break
        ticket = Ticket.objects.get(pk=ticket.merged_into_id)
    return ticket


def _portal_sender(customer: Customer) -> tuple[ContactKind, str]:
    """How a portal message names its sender: the customer's email address, or (for an
    account without one) a web identity of the customer, so follow-ups find them."""
    email = (
        customer.contact_points.filter(kind=ContactKind.EMAIL)
        .order_by("-created_at", "-id")
        .values_list("value", flat=True)
        .first()
    )
    if email:
        return ContactKind.EMAIL, email
    contact = customer_add_contact_point(
        customer=customer, kind=ContactKind.WEB, value=f"portal-customer:{customer.pk}"
    )
    return ContactKind.WEB, contact.value
