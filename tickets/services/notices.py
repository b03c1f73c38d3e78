"""Telling people what happened: customers on their channel, agents in the app (and by
email if they asked)."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext, gettext_noop

from helpdesk.languages import default_language, supported_language
from tickets import placeholders
from tickets.branding.mail import branded_email
from tickets.live import publish_notifications
from tickets.models import (
    AgentProfile,
    Customer,
    DeliveryStatus,
    Message,
    MessageKind,
    NoticeKind,
    Notification,
    Ticket,
)
from tickets.services import desk_setup, notification_prefs, undeliverable
from tickets.services.outbound import (
    automatic_reply_row,
    schedule_agent_emails,
    schedule_delivery,
)
from tickets.services.satisfaction import rating_token

# Phone and chat customers are told in the conversation itself.
_NOTIFIED_CHANNELS = {"email", "web", "sms", "api"}


def notify_customer(
    *,
    ticket: Ticket,
    kind: NoticeKind,
    now: datetime | None = None,
    answering: Message | None = None,
) -> Message | None:
    """Tell the customer, if the desk's notice of this kind is on: written as pending, sent
    after commit."""
    message = customer_notice(ticket=ticket, kind=kind, now=now, answering=answering)
    if message is not None:
        message.save(force_insert=True)
        schedule_delivery(message.pk)
    return message


def notify_customers(
    notices: Sequence[tuple[Ticket, NoticeKind, Message | None]], *, now: datetime
) -> list[Message]:
    """notify_customer for many (ticket, kind, message answered): one insert."""
    messages = [
        message
        for ticket, kind, answering in notices
        if (message := customer_notice(ticket=ticket, kind=kind, now=now, answering=answering))
    ]
    Message.objects.bulk_create(messages)
    for message in messages:
        schedule_delivery(message.pk)
    return messages


def customer_notice(
    *,
    ticket: Ticket,
    kind: NoticeKind,
    now: datetime | None = None,
    answering: Message | None = None,
) -> Message | None:
    """The notice notify_customer sends, not yet written, or None when none goes."""
    if not settings.HELPDESK_CUSTOMER_NOTICES or ticket.channel not in _NOTIFIED_CHANNELS:
        return None
    notice = desk_setup.current().notice(kind)
    if notice is None:
        return None
    language = customer_language(ticket.customer)
    subject, wording = notice.wording(language)
    with translation.override(language):
        link = rating_link(ticket) if kind == NoticeKind.RESOLVED else ""
        values = {
            **placeholders.ticket_values(ticket),
            "ticket.promise": _promise(ticket),
            "ticket.rating_link": link,
        }
        text = placeholders.fill(wording, values)
        if link:
            # The survey link goes with every resolution notice, whatever its admin wording.
            text = with_rating_request(text, link)
        subject = placeholders.fill(subject, values)
    return automatic_reply_row(
        ticket=ticket, subject=subject, text=text, now=now, answering=answering
    )


def confirmation_sent(ticket: Ticket) -> bool:
    """Whether the customer was sent (or is being sent) a notice that their request was
    received: none is written while notices are off, and none goes to an address flagged
    undeliverable (its row is held back, now or when its task comes)."""
    notice = (
        ticket.messages.filter(kind=MessageKind.OUTBOUND, is_automatic=True)
        .exclude(delivery_status=DeliveryStatus.SUPPRESSED)
        .order_by("created_at", "pk")
        .first()
    )
    return notice is not None and undeliverable.flagged_destination(notice) is None


def written_language(chosen: str | None) -> str:
    """The language what we write to someone is written in: theirs (`chosen`) when the desk
    has it, else the desk's default. Customers and agents alike."""
    return supported_language(chosen) or default_language()


def customer_language(customer: Customer | None) -> str:
    """The language automatic messages to this customer are written in: theirs when known,
    else the desk's default."""
    return written_language(customer.language if customer else "")


def agent_languages(user_ids: Iterable[int]) -> dict[int, str]:
    """The language what we write to each of these agents is written in (notifications,
    their emails): their own from My settings, else the desk's default."""
    wanted = set(user_ids)
    chosen = dict(
        AgentProfile.objects.filter(user_id__in=wanted)
        .exclude(language="")
        .values_list("user_id", "language")
    )
    return {user: written_language(chosen.get(user)) for user in wanted}


@dataclass(frozen=True)
class Said:
    """Words for agents who may read different languages: a message marked for
    translation (gettext_noop) and its placeholders' values, said in a reader's language
    by `said_in` (lazy values, such as a status's label, in that language too)."""

    message: str
    values: Mapping[str, Any] = field(default_factory=dict)

    def said_in(self, language: str) -> str:
        with translation.override(language):
            return gettext(self.message) % self.values if self.values else gettext(self.message)

    def __str__(self) -> str:
        """In the desk's default language (a log line, a key)."""
        return self.said_in(default_language())


# What a notification says: the same words for all (an admin's own text), or Said.
Text = str | Said


def said_in(text: Text, language: str) -> str:
    return text.said_in(language) if isinstance(text, Said) else text


def with_rating_request(text: str, rating_link: str) -> str:
    """A resolving message with the satisfaction survey's link (unless it holds it)."""
    if rating_link in text:
        return text
    request = gettext("How did we do? Rate our help: %(link)s") % {"link": rating_link}
    return f"{text.rstrip()}\n\n{request}\n"


def rating_link(ticket: Ticket) -> str:
    """The link to the ticket's satisfaction survey (signed: no sign-in needed)."""
    path = reverse("portal-rate-link", args=[rating_token(ticket.pk)])
    return f"{settings.PUBLIC_BASE_URL}{path}"


def _promise(ticket: Ticket) -> str:
    if ticket.first_response_due_at is None:
        return ""
    return gettext("We will answer by %(time)s.") % {
        "time": promised_time(ticket.first_response_due_at)
    }


def promised_time(moment: datetime) -> str:
    """A time told to a customer: unambiguous, with its time zone, ending in no full stop
    of its own ("5 December 2026, 14:30 UTC")."""
    local = timezone.localtime(moment)
    return f"{formats.date_format(local, 'j F Y, H:i')} {local.tzname()}"


def notify_agents(*, user_ids: Iterable[int], ticket: Ticket, kind: str, text: Text) -> None:
    """Stored notifications (unread until seen), each in its agent's language; emailed to
    agents who asked for it."""
    notify_agents_many([(user_ids, ticket, kind, text)])


# Notifications one email task takes at most.
_EMAIL_TASK_SIZE = 5000


def notify_staff(*, user_ids: Iterable[int], kind: str, text: Text, now: datetime) -> None:
    """Stored notifications of news about no one ticket (monitoring opened a problem): the
    workspace lists them and pushes them live; emailed to agents who asked for it. Each in
    its agent's language."""
    users, email_only = notification_prefs.recipients(user_ids, kind)
    languages = agent_languages(users)
    made = Notification.objects.bulk_create(
        Notification(
            user_id=user,
            ticket=None,
            kind=kind,
            text=said_in(text, languages[user])[:500],
            created_at=now,
            read_at=now if user in email_only else None,
        )
        for user in users
    )
    if made:
        schedule_agent_emails([n.pk for n in made])
        publish_notifications([n for n in made if n.read_at is None], languages=languages)


def notify_agents_many(notices: Sequence[tuple[Iterable[int], Ticket, str, Text]]) -> None:
    """notify_agents for many (user ids, ticket, kind, text) at once: one insert, an email
    task per 5,000 notifications and the live pushes handed over together. Each agent's
    notification is written in their language (agent_languages)."""
    # One notification a person for the same news, however many reasons they have to get
    # it (the assignee is also one of the tier's agents, say).
    recipients: dict[tuple[int, str, str], tuple[Text, set[int]]] = {}
    for user_ids, ticket, kind, text in notices:
        _, users = recipients.setdefault((ticket.pk, kind, str(text)[:500]), (text, set()))
        users.update(user_ids)
    chosen_by_notice = []
    email_only: set[tuple[int, str]] = set()  # (user, kind): stored read, not pushed
    for (ticket_id, kind, _key), (text, users) in recipients.items():
        # Each agent's own choice of what they hear of, and how (notification_prefs).
        chosen, by_email_only = notification_prefs.recipients(users, kind)
        if chosen:
            chosen_by_notice.append((chosen, ticket_id, kind, text))
            email_only.update((user, kind) for user in by_email_only)
    if not chosen_by_notice:
        return
    languages = agent_languages(user for chosen, *_ in chosen_by_notice for user in chosen)
    wanted = [
        (readers, ticket_id, kind, said_in(text, language)[:500])
        for chosen, ticket_id, kind, text in chosen_by_notice
        for language, readers in _by_language(chosen, languages).items()
    ]
    now = timezone.now()
    created = _insert_notifications(wanted, now)
    ids = [n.pk for n in created]
    for start in range(0, len(ids), _EMAIL_TASK_SIZE):
        schedule_agent_emails(ids[start : start + _EMAIL_TASK_SIZE])
    if email_only:
        unseen = [n.pk for n in created if (n.user_id, n.kind) in email_only]
        Notification.objects.filter(pk__in=unseen).update(read_at=now)
        created = [n for n in created if (n.user_id, n.kind) not in email_only]
    publish_notifications(created, languages=languages)


def _by_language(users: Iterable[int], languages: Mapping[int, str]) -> dict[str, list[int]]:
    grouped: dict[str, list[int]] = {}
    for user in users:
        grouped.setdefault(languages[user], []).append(user)
    return grouped


def notify_assignees_of_customer_messages(tickets: Iterable[Ticket]) -> None:
    """Tell each ticket's assignee that the customer wrote (if they want to hear of it)."""
    notify_agents_many(
        [
            (
                [ticket.assignee_id],
                ticket,
                "customer_message",
                Said(
                    gettext_noop("%(reference)s: the customer wrote again: %(subject)s"),
                    {"reference": ticket.reference, "subject": ticket.subject},
                ),
            )
            for ticket in tickets
            if ticket.assignee_id is not None
        ]
    )


_Notice = tuple[list[int], int, str, str]  # (user ids, ticket id, kind, text)


def _insert_notifications(notices: list[_Notice], now: datetime) -> list["_Created"]:
    """Write a notification per user of each notice; returns them with their ids.

    On PostgreSQL one INSERT ... SELECT: each notice once, joined with its set of users
    (a tier's agents are one set however many tickets they hear of), so an SLA sweep
    telling whole tiers of a thousand tickets sends a thousand texts, not sixty thousand.
    """
    rows = [(user, ticket, kind, text) for users, ticket, kind, text in notices for user in users]
    if connection.vendor != "postgresql":
        made = Notification.objects.bulk_create(
            Notification(user_id=u, ticket_id=t, kind=k, text=x, created_at=now)
            for u, t, k, x in rows
        )
        return [_Created(n.pk, u, t, x, k) for n, (u, t, k, x) in zip(made, rows, strict=True)]
    groups: dict[tuple[int, ...], int] = {}
    notice_groups = [groups.setdefault(tuple(users), len(groups)) for users, *_ in notices]
    members = [(number, user) for users, number in groups.items() for user in users]
    table = Notification._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (user_id, ticket_id, kind, text, created_at) "  # noqa: S608 - the model's table
            "SELECT m.u, n.t, n.k, n.x, %s "
            "FROM unnest(%s::integer[], %s::bigint[], %s::text[], %s::text[]) "
            "  WITH ORDINALITY AS n(g, t, k, x, o) "
            "JOIN unnest(%s::integer[], %s::integer[]) WITH ORDINALITY AS m(g, u, p) "
            "  ON m.g = n.g "
            # Rows (and their ids) in the order of `rows`: each notice's users in turn.
            "ORDER BY n.o, m.p RETURNING id",
            [
                now,
                notice_groups,
                [ticket for _, ticket, _, _ in notices],
                [kind for _, _, kind, _ in notices],
                [text for _, _, _, text in notices],
                [number for number, _ in members],
                [user for _, user in members],
            ],
        )
        ids = [pk for (pk,) in cursor.fetchall()]
    return [_Created(pk, u, t, x, k) for pk, (u, t, k, x) in zip(ids, rows, strict=True)]


class _Created(NamedTuple):
    """A notification just written, as its live push reads it."""

    pk: int
    user_id: int
    ticket_id: int
    text: str
    kind: str


def notifications_email(*, notification_ids: list[int]) -> int:
    """Email notifications to agents who asked for email; each at most once."""
    sent = 0
    pending = (
        Notification.objects.filter(
            pk__in=notification_ids,
            emailed_at__isnull=True,
            user__agent_profile__email_notifications=True,
        )
        .exclude(user__email="")
        .select_related("user")
    )
    for notification in pending:
        if not notification_prefs.wants(notification.user_id, notification.kind, "email"):
            continue
        claimed = Notification.objects.filter(pk=notification.pk, emailed_at__isnull=True).update(
            emailed_at=timezone.now()
        )
        if not claimed:
            continue  # another worker sends it
        if notification.ticket_id:
            link = f"{settings.PUBLIC_BASE_URL}/agent/tickets/{notification.ticket_id}/"
        else:
            link = f"{settings.PUBLIC_BASE_URL}{reverse('agent:notifications')}"
        branded_email(
            subject=notification.text[:150],
            text=f"{notification.text}\n\n{link}\n",
            to=[notification.user.email],
        ).send()
        sent += 1
    return sent
