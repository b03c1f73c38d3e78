"""Email addresses automatic notices stop going to: one that hard-bounced, or whose owner
marked our mail as spam (a complaint). Flagged from the providers' and mail servers'
reports, cleared by an agent or, for a bounce, by a later report of a delivery to it; each
said in the ticket's history (and an agent's clearing beside the customer too).

Phone numbers no text goes to: one whose owner texted STOP (opted out). Every text asks
`texting_refused` before it goes (an agent's reply, an automatic notice, a known issue's
notice, a verification link); only its owner undoes it, by texting START.

Reports come in any order and sometimes twice: the provider's time of each decides, not
its arrival. A bounce dated before the address last worked (a delivery, an agent clearing
the flag) is older news and flags nothing; a delivery clears only a bounce dated before it.
A complaint outranks a bounce and is cleared only by an agent: mail to the address is
delivered, its owner does not want it."""

from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import formats, timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from helpdesk.languages import default_language
from tickets import policy
from tickets.errors import InvalidInput
from tickets.inbound import SmsConsent
from tickets.models import (
    Channel,
    ContactKind,
    ContactPoint,
    Customer,
    CustomerNote,
    EventKind,
    Message,
    MessageKind,
    TicketEvent,
    Undeliverable,
)
from tickets.outbound_selectors import ConversationRow, email_thread_for, sms_contact_for
from tickets.services._common import Actor, record_event

_REASON_CHARS = 1000


def address_record_bounce(*, message: Message, recipient: str, reason: str, at: datetime) -> None:
    """A hard bounce of `message` at `recipient`: the address is flagged (once), and the
    ticket's history says automatic notices to it stop."""
    point = _locked(recipient)
    if point is None or point.undeliverable:
        return  # not an address we know, or flagged already (a repeat, or a complaint)
    if point.deliverable_at is not None and point.deliverable_at >= at:
        return  # it worked after this bounce
    _flag(point, Undeliverable.BOUNCED, message=message, reason=reason, at=at)


def address_record_complaint(
    *, message: Message, recipient: str, reason: str, at: datetime
) -> None:
    """The owner of `recipient` marked `message` as spam: flagged like a bounce; nobody is
    notified (nothing is waiting on it), agents see it beside the customer."""
    point = _locked(recipient)
    if point is None or point.undeliverable == Undeliverable.COMPLAINED:
        return
    if point.flag_cleared_at is not None and point.flag_cleared_at >= at:
        return  # an agent cleared it since
    _flag(point, Undeliverable.COMPLAINED, message=message, reason=reason, at=at)


def address_record_delivery(*, message: Message, recipient: str, at: datetime) -> None:
    """`message` reached `recipient` at `at`: a bounce flag dated before it is cleared."""
    point = _locked(recipient)
    if point is None:
        return
    later = point.deliverable_at is None or point.deliverable_at < at
    cleared = (
        point.undeliverable == Undeliverable.BOUNCED
        and point.undeliverable_at is not None
        and point.undeliverable_at < at
    )
    if not (later or cleared):
        return  # older news: nothing to write
    if later:
        point.deliverable_at = at
    if cleared:
        _clear(point)
    point.save(update_fields=[*_FLAG_FIELDS, "deliverable_at"])
    if cleared:
        record_event(
            message.ticket,
            EventKind.CONTACT_DELIVERABLE,
            actor=None,
            address=point.value,
            message=message.pk,
        )


def phone_record_consent(
    *, message: Message, number: str, consent: SmsConsent, at: datetime
) -> None:
    """`message`, from `number`, said STOP (no text goes to the number from now) or START
    (texts go to it again); the ticket's history says so. A START dated before the STOP it
    would undo (processed late) undoes nothing."""
    point = _locked_phone(number)
    if point is None or not _apply_consent(point, consent, at):
        return
    if consent == SmsConsent.STOP:
        record_event(
            message.ticket,
            EventKind.CONTACT_UNDELIVERABLE,
            actor=None,
            address=point.value,
            flag=str(Undeliverable.OPTED_OUT),
            reason="",
            message=message.pk,
        )
        return
    record_event(
        message.ticket,
        EventKind.CONTACT_DELIVERABLE,
        actor=None,
        address=point.value,
        message=message.pk,
        consent=str(consent),
    )


def phone_record_consent_apart(
    *, number: str, consent: SmsConsent, keyword: str, at: datetime
) -> ContactPoint | None:
    """A STOP or START texted from `number` while no ticket of its customer is open: the
    number is flagged or cleared as phone_record_consent does, and said among the notes
    beside the customer, where agents look (a ticket of its own would be noise: nothing to
    answer). Returns the number's contact point; None when the desk does not know it."""
    point = _locked_phone(number)
    if point is None:
        return None
    _apply_consent(point, consent, at)
    with translation.override(default_language()):
        CustomerNote.objects.create(
            customer_id=point.customer_id,
            author=None,
            text=_consent_said(keyword, point),
            created_at=at,
        )
    return point


def _locked_phone(number: str) -> ContactPoint | None:
    return (
        ContactPoint.objects.select_for_update()
        .filter(kind=ContactKind.PHONE, value=number)
        .first()
    )


def _apply_consent(point: ContactPoint, consent: SmsConsent, at: datetime) -> bool:
    """Flag the number (STOP) or clear its flag (START); whether that changed it (saved)."""
    if consent == SmsConsent.STOP:
        if point.undeliverable == Undeliverable.OPTED_OUT:
            return False
        _set_flag(point, Undeliverable.OPTED_OUT, reason="", at=at)
        return True
    if point.undeliverable != Undeliverable.OPTED_OUT:
        return False
    if point.undeliverable_at is not None and point.undeliverable_at > at:
        return False  # a START dated before the STOP it would undo
    _clear(point)
    point.deliverable_at = at
    point.save(update_fields=[*_FLAG_FIELDS, "deliverable_at"])
    return True


def _consent_said(keyword: str, point: ContactPoint) -> str:
    """'Texted STOP from +1…: no text goes to this number until they text START.', in the
    active language, saying where the number stands after it."""
    values = {"keyword": keyword.strip()[:40], "number": point.value}
    if point.undeliverable == Undeliverable.OPTED_OUT:
        return (
            gettext(
                "Texted %(keyword)s from %(number)s: no text goes to this number until they "
                "text START."
            )
            % values
        )
    return gettext("Texted %(keyword)s from %(number)s: texts may go to this number.") % values


def phone_record_opted_out(*, message: Message, number: str, at: datetime) -> None:
    """The SMS provider refused `message` because `number` opted out of our texts (its owner
    texted STOP, perhaps before the desk knew): flagged as if the STOP had come here."""
    with transaction.atomic():
        phone_record_consent(message=message, number=number, consent=SmsConsent.STOP, at=at)


def texting_refused(number: str, *, read: ContactPoint | None = None) -> str | None:
    """Why no text may go to `number` (its owner texted STOP), in the desk's language; None
    when texts may go. Asked by every door that texts. `read`: the number's contact point
    when read already (a batch of replies reads them with their customers): no query."""
    point = read if read is not None and read.value == number else _opted_out(number)
    if point is None or point.undeliverable != Undeliverable.OPTED_OUT:
        return None
    return held_reason(point)


def contact_point_clear_flag(
    *, customer: Customer, contact_id: int, actor: Actor, now: datetime | None = None
) -> ContactPoint:
    """An agent says the address works again (the customer told them, say): automatic
    notices go to it again. Reports dated before now flag it no more."""
    policy.refuse_unless_works_tickets(actor, _("change customers"))
    now = now or timezone.now()
    with transaction.atomic():
        point = (
            ContactPoint.objects.select_for_update()
            .filter(pk=contact_id, customer_id=customer.pk)
            .first()
        )
        if point is None:
            raise InvalidInput(_("That is not one of this customer's contacts."))
        if point.undeliverable == Undeliverable.OPTED_OUT:
            raise InvalidInput(
                _("Only the customer can start texts again, by texting START to our number."),
                code="opted_out",
            )
        flag, since = point.undeliverable, point.undeliverable_at
        _clear(point)
        point.flag_cleared_at = now
        if point.deliverable_at is None or point.deliverable_at < now:
            point.deliverable_at = now
        point.save(update_fields=[*_FLAG_FIELDS, "flag_cleared_at", "deliverable_at"])
        if flag:
            _say_cleared(point, customer=customer, flag=flag, since=since, actor=actor)
    return point


def _say_cleared(
    point: ContactPoint, *, customer: Customer, flag: str, since: datetime | None, actor: Actor
) -> None:
    """Who cleared the flag, and when, where agents look, as flagging it is said: in the
    history of the ticket it was flagged on (else the customer's latest), and among the
    notes beside the customer."""
    flagged_on = (
        TicketEvent.objects.filter(
            ticket__customer_id=customer.pk,
            kind=EventKind.CONTACT_UNDELIVERABLE,
            data__address=point.value,
        )
        .select_related("ticket")
        .order_by("-created_at", "-id")
        .first()
    )
    ticket = flagged_on.ticket if flagged_on else customer.tickets.order_by("-created_at").first()
    if ticket is not None:
        record_event(
            ticket,
            EventKind.CONTACT_DELIVERABLE,
            actor=actor,
            address=point.value,
            flag=flag,
            cleared=True,
        )
    with translation.override(default_language()):
        CustomerNote.objects.create(
            customer=customer, author=actor, text=_cleared_said(flag, point.value, since)
        )


def _cleared_said(flag: str, address: str, since: datetime | None) -> str:
    """'Automatic notices go to x again: its flag since … (a bounce) was cleared.'"""
    when = formats.date_format(timezone.localtime(since), "j M Y H:i") if since else ""
    if flag == Undeliverable.COMPLAINED:
        said = gettext(
            "Automatic notices go to %(address)s again: its flag since %(date)s (its owner "
            "marked our email as spam) was cleared."
        )
    else:
        said = gettext(
            "Automatic notices go to %(address)s again: its flag since %(date)s (a bounce) "
            "was cleared."
        )
    return said % {"address": address, "date": when}


def flagged_destination(
    message: Message,
    conversation: list[ConversationRow] | None = None,
    flagged: dict[str, ContactPoint] | None = None,
) -> ContactPoint | None:
    """The flagged address an automatic email, or the opted-out number an automatic text,
    would go to, or None (it may go). `conversation` and `flagged`: read for a batch
    (tickets.outbound_selectors), else here."""
    if message.channel == Channel.SMS:
        point = sms_contact_for(message, conversation)
        return point if point is not None and texting_refused(point.value, read=point) else None
    if message.channel != Channel.EMAIL:
        return None
    if flagged is not None:
        if not flagged:
            return None
        thread = email_thread_for(message, conversation)
        return flagged.get(thread.to.strip().lower()) if thread is not None else None
    # Most tickets have none: one query says so, before the thread is worked out.
    senders = Message.objects.filter(
        ticket_id=message.ticket_id, kind=MessageKind.INBOUND, channel=Channel.EMAIL
    ).values("sender")
    candidates = ContactPoint.objects.filter(kind=ContactKind.EMAIL).exclude(undeliverable="")
    if not candidates.filter(
        Q(customer_id=message.ticket.customer_id) | Q(value__in=senders)
    ).exists():
        return None
    thread = email_thread_for(message, conversation)
    return flagged_address(thread.to) if thread is not None else None


def flagged_address(address: str) -> ContactPoint | None:
    """The contact point of this email address if it is flagged undeliverable, else None."""
    return (
        ContactPoint.objects.filter(kind=ContactKind.EMAIL, value=address.strip().lower())
        .exclude(undeliverable="")
        .first()
    )


def _opted_out(number: str | None) -> ContactPoint | None:
    if not number:
        return None
    return ContactPoint.objects.filter(
        kind=ContactKind.PHONE, value=number, undeliverable=Undeliverable.OPTED_OUT
    ).first()


def held_reason(point: ContactPoint) -> str:
    """Why an automatic message to `point` was not sent, in the desk's language (kept on
    the message, as the other reasons for holding one back are)."""
    with translation.override(default_language()):
        return flag_said(point.undeliverable, point.value, point.undeliverable_at)


def flag_said(flag: str, address: str, at: datetime | None) -> str:
    """'Not sent: x bounced on 6 Dec 2026 10:00', in the active language."""
    when = formats.date_format(timezone.localtime(at), "j M Y H:i") if at else ""
    if flag == Undeliverable.OPTED_OUT:
        return gettext(
            "Not sent: %(number)s replied STOP on %(date)s and gets no texts from us until "
            "they text START."
        ) % {"number": address, "date": when}
    if flag == Undeliverable.COMPLAINED:
        return gettext("Not sent: %(address)s marked our email as spam on %(date)s.") % {
            "address": address,
            "date": when,
        }
    return gettext("Not sent: %(address)s bounced on %(date)s.") % {
        "address": address,
        "date": when,
    }


_FLAG_FIELDS = ["undeliverable", "undeliverable_at", "undeliverable_reason"]


def _locked(recipient: str) -> ContactPoint | None:
    address = recipient.strip().lower()
    if not address:
        return None
    return (
        ContactPoint.objects.select_for_update()
        .filter(kind=ContactKind.EMAIL, value=address)
        .first()
    )


def _flag(
    point: ContactPoint, flag: Undeliverable, *, message: Message, reason: str, at: datetime
) -> None:
    _set_flag(point, flag, reason=reason, at=at)
    record_event(
        message.ticket,
        EventKind.CONTACT_UNDELIVERABLE,
        actor=None,
        address=point.value,
        flag=str(flag),
        reason=point.undeliverable_reason,
        message=message.pk,
    )


def _set_flag(point: ContactPoint, flag: Undeliverable, *, reason: str, at: datetime) -> None:
    point.undeliverable = flag
    point.undeliverable_at = at
    point.undeliverable_reason = reason[:_REASON_CHARS]
    point.save(update_fields=_FLAG_FIELDS)


def _clear(point: ContactPoint) -> None:
    point.undeliverable = ""
    point.undeliverable_at = None
    point.undeliverable_reason = ""
