"""Live chat: a ticket on the chat channel, with the conversation's state beside it.

The transcript is the ticket's messages, so SLA clocks, history and search treat a chat
like any other channel. Pushes to the two ends go out after commit (tickets.live); what a
socket misses it reads back from the database when it reconnects.
"""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Avg, F, Sum
from django.db.models.functions import Greatest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext as _

from knowledge.selectors import article_answers
from tickets import live, policy
from tickets.errors import Conflict, InvalidInput
from tickets.ids import MAX_ID
from tickets.inbound import InboundMessage, IngestOutcome
from tickets.models import (
    AgentProfile,
    Channel,
    ChatSession,
    ChatStatus,
    ContactKind,
    DeliveryStatus,
    EventKind,
    Message,
    MessageKind,
    Ticket,
    TicketForm,
)
from tickets.services._common import Actor, acting_as, lock_row, record_event
from tickets.services.assignment import agent_in_tier, ticket_assign
from tickets.services.escalation import ticket_escalate
from tickets.services.messages import (
    find_duplicate,
    subject_from_text,
    ticket_add_inbound,
    ticket_open,
    ticket_reply,
)
from tickets.services.notices import Said, customer_language, notify_agents
from tickets.services.outbound import ticket_send_automatic_reply
from tickets.services.self_service import ANSWERS_OFFERED

MAX_TEXT = 2000
# The tier whose agents answer new chats.
CHAT_TIER = 1
# Until enough chats were accepted to know better, a wait is guessed at a minute.
DEFAULT_WAIT_SECONDS = 60


# --- What the two ends see ------------------------------------------------------------


def chat_messages(chat: ChatSession, *, after: int = 0) -> list[dict[str, Any]]:
    """The public transcript after a message id (notes are never shown to the customer)."""
    messages = (
        chat.ticket.messages.filter(pk__gt=after, channel=Channel.CHAT)
        .exclude(kind=MessageKind.NOTE)
        .select_related("author_user")
        .order_by("id")
    )
    return [live.chat_message_payload(m, chat) for m in messages]


def state_payload(chat: ChatSession) -> dict[str, Any]:
    agent = chat.agent
    return {
        "state": chat.status,
        "agent": (agent.first_name or agent.username) if agent else None,
        # How far the agent has read the customer's messages (for "read" after a reload).
        "read_up_to": chat.agent_read_up_to,
        "position": chat_queue_position(chat) if chat.status == ChatStatus.WAITING else None,
    }


def chat_queue_position(chat: ChatSession) -> int:
    ahead = ChatSession.objects.filter(
        status=ChatStatus.WAITING, tier_id=chat.tier_id, created_at__lt=chat.created_at
    ).count()
    return ahead + 1


@dataclass(frozen=True)
class Availability:
    online: int  # agents of the tier with their workspace open and marked available
    waiting: int  # chats waiting for one of them
    wait_seconds: int  # a new chat's expected wait


def chat_availability(*, now: datetime | None = None, tier_level: int = CHAT_TIER) -> Availability:
    now = now or timezone.now()
    online = AgentProfile.objects.filter(
        tiers__level=tier_level,
        is_available=True,
        user__is_active=True,
        last_seen_at__gte=now - timedelta(seconds=settings.HELPDESK_CHAT_ONLINE_SECONDS),
    )
    online_count = online.count()
    waiting = ChatSession.objects.filter(status=ChatStatus.WAITING, tier__level=tier_level).count()
    recent = ChatSession.objects.filter(
        accepted_at__gte=now - timedelta(days=1), tier__level=tier_level
    ).aggregate(wait=Avg(F("accepted_at") - F("created_at")))["wait"]
    per_chat = recent.total_seconds() if recent else DEFAULT_WAIT_SECONDS
    capacity = online.aggregate(seats=Sum("max_chats"))["seats"] or 0
    queue_length = waiting // capacity if capacity else waiting
    return Availability(online_count, waiting, int(per_chat * (queue_length + 1)))


# --- The customer's side ----------------------------------------------------------------


def _validate_text(text: str) -> str:
    text = text.strip()
    if not text:
        raise InvalidInput(_("Write a message first."), code="empty_message")
    if len(text) > MAX_TEXT:
        raise InvalidInput(
            _("A message has at most %(most)s characters.") % {"most": MAX_TEXT},
            code="too_long",
        )
    return text


def _subject(text: str) -> str:
    first_line = text.strip().splitlines()[0] if text.strip() else "Chat"
    return f"Chat: {first_line[:80]}"


@transaction.atomic
def chat_start(
    *,
    name: str,
    email: str,
    text: str,
    client_id: str,
    language: str = "",
    ticket_form: TicketForm | None = None,
    field_values: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> ChatSession:
    """Open the chat's ticket with its first message and put it in tier 1's chat queue.
    `field_values`: what the customer filled in the pre-form's custom fields (checked by
    tickets.fields.forms.customer_values), set on the ticket as the contact form sets them.

    The same start sent again (the customer's connection dropped before the answer) finds
    the chat it opened.
    """
    now = now or timezone.now()
    client_id = client_id[:100]
    resent = chat_resent_start(client_id=client_id, email=email, now=now)
    if resent is not None:
        return resent
    name, text = name.strip()[:200], _validate_text(text)
    if not name:
        raise InvalidInput(_("Tell us your name."), code="invalid_name")
    key = uuid.uuid4()
    inbound = InboundMessage(
        channel=Channel.CHAT,
        sender_kind=ContactKind.EMAIL,
        sender=email,
        sender_name=name,
        subject=_subject(text),
        text=text,
        external_id=f"{key}:{client_id}",
        language=language,
    )
    ticket = ticket_open(inbound=inbound, tier_level=CHAT_TIER, now=now).ticket
    set_customer_fields(ticket, ticket_form, field_values or {}, door="in the chat")
    chat = ChatSession.objects.create(
        key=key,
        ticket=ticket,
        tier=ticket.tier,
        start_client_id=client_id,
        name=name,
        email=email,
        created_at=now,
    )
    _offer_articles(chat, text)
    live.publish_chat_queue()
    return chat


def chat_resent_start(
    *, client_id: str, email: str, now: datetime | None = None
) -> ChatSession | None:
    """The chat a start with this client id from this address opened within the hour (the
    same start sent again after the answer was lost), if any."""
    if not client_id:
        return None
    now = now or timezone.now()
    return ChatSession.objects.filter(
        start_client_id=client_id[:100], email=email, created_at__gte=now - timedelta(hours=1)
    ).first()


def set_customer_fields(
    ticket: Ticket, ticket_form: TicketForm | None, values: dict[str, Any], *, door: str
) -> None:
    """What a customer filled in a form's fields, on their new ticket, in its history as
    theirs."""
    if ticket_form is None or not values:
        return
    from tickets.fields.services import ticket_set_fields

    with acting_as(f"The customer, {door}"):
        ticket_set_fields(
            ticket=ticket, values=values, actor=None, for_customer=True, form_name=ticket_form.name
        )


@transaction.atomic
def chat_leave_message(
    *,
    name: str,
    email: str,
    text: str,
    client_id: str,
    language: str = "",
    ticket_form: TicketForm | None = None,
    field_values: dict[str, Any] | None = None,
) -> Ticket:
    """Nobody online: what the customer wrote becomes a ticket answered by email.

    The same message sent again (a double click, a retry after a dropped connection: the
    same `client_id` from the same address) finds the ticket it opened, once: the message's
    id is unique per channel, as for every other message. Without a client id (an older
    page) each is a new ticket.
    """
    inbound = InboundMessage(
        channel=Channel.WEB,
        sender_kind=ContactKind.EMAIL,
        sender=email,
        sender_name=name,
        subject=f"Chat message: {subject_from_text(text)}" if text.strip() else "",
        text=text,
        external_id=_left_message_id(email, client_id[:100]),
        language=language,
    )
    opened = ticket_open(inbound=inbound)
    if opened.outcome != IngestOutcome.DUPLICATE:
        set_customer_fields(
            opened.ticket, ticket_form, field_values or {}, door="in the chat's message form"
        )
    return opened.ticket


def _left_message_id(email: str, client_id: str) -> str:
    """A left message's id: the client's, with its sender's address (hashed: the id is
    not a second copy of it), so another sender's message with the same client id is never
    taken for theirs."""
    if not client_id:
        return f"chat-offline:{uuid.uuid4()}"
    sender = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:16]
    return f"chat-offline:{sender}:{client_id}"


def _offer_articles(chat: ChatSession, text: str) -> None:
    """While the customer waits, confident knowledge-base answers (tier 0, in the chat)."""
    language = customer_language(chat.ticket.customer)
    hits = article_answers(text, limit=ANSWERS_OFFERED, confident=True, language=language)
    if not hits:
        return
    base = settings.PUBLIC_BASE_URL
    links = "\n".join(
        f"- {hit.article.title}: "
        f"{base}{reverse('kb-article', args=[hit.article.category.slug, hit.article.slug])}"
        for hit in hits
    )
    message = Message.objects.create(
        ticket=chat.ticket,
        kind=MessageKind.OUTBOUND,
        channel=Channel.CHAT,
        body_text=_in(language, _WHILE_YOU_WAIT) % {"links": links},
        is_automatic=True,
        delivery_status=DeliveryStatus.SENT,
    )
    record_event(
        chat.ticket,
        EventKind.KB_SUGGESTED,
        actor=None,
        label="Self-service",
        articles=[hit.article.slug for hit in hits],
    )
    live.publish_chat(chat.pk, "message", live.chat_message_payload(message, chat))


def chat_customer_message(
    *, chat: ChatSession, client_id: str, text: str, now: datetime | None = None
) -> Message:
    """Store what the customer wrote, once per client id, and push it to the agent.

    `chat` may have been read a while ago (its socket keeps it): whether it has ended is
    read here, by the same statement that records the customer was seen.
    """
    text = _validate_text(text)
    now = now or timezone.now()
    inbound = InboundMessage(
        channel=Channel.CHAT,
        sender_kind=ContactKind.EMAIL,
        sender=chat.email,
        sender_name=chat.name,
        text=text,
        external_id=f"{chat.key}:{client_id[:100]}",
    )
    with transaction.atomic():
        seen = (
            ChatSession.objects.filter(pk=chat.pk)
            .exclude(status=ChatStatus.ENDED)
            .update(customer_seen_at=now)
        )
        if not seen:
            raise Conflict(_("This chat has ended; start a new one."), code="ended")
        # A resend (the same client id after a dropped connection) is rare: the unique
        # message id turns it into the stored message, without a look-up for every message.
        try:
            result = ticket_add_inbound(
                ticket=chat.ticket, inbound=inbound, now=now, check_duplicate=False
            )
        except Conflict as refusal:  # the ticket was closed or merged
            duplicate = find_duplicate(inbound)  # a resend still gets its message
            if duplicate is not None:
                result = duplicate
            elif refusal.code == "ticket_merged":  # the chat went on with its messages
                result = ticket_add_inbound(
                    ticket=ChatSession.objects.get(pk=chat.pk).ticket, inbound=inbound, now=now
                )
            else:
                raise
        if result.outcome != IngestOutcome.DUPLICATE:
            live.publish_chat(
                chat.pk, "message", live.chat_message_payload(result.message, chat), side="customer"
            )
    return result.message


def chat_touch(*, chat_id: int, now: datetime | None = None) -> None:
    """The customer's page is still there (a heartbeat): the chat is not abandoned."""
    ChatSession.objects.filter(pk=chat_id).exclude(status=ChatStatus.ENDED).update(
        customer_seen_at=now or timezone.now()
    )


def chat_mark_read(*, chat: ChatSession, side: str, up_to: int) -> None:
    """Read receipts: each side's highest seen message id only ever grows. A number no
    message id can be (past the column's range) is ignored."""
    if not 0 <= up_to <= MAX_ID:
        return
    field = "customer_read_up_to" if side == "customer" else "agent_read_up_to"
    with transaction.atomic():
        ChatSession.objects.filter(pk=chat.pk).update(**{field: Greatest(F(field), up_to)})
        live.publish_chat(chat.pk, "read", {"up_to": up_to}, side=side)


@transaction.atomic
def chat_rate(*, chat: ChatSession, rating: int, comment: str = "") -> None:
    if chat.status != ChatStatus.ENDED:
        raise Conflict(_("A chat can be rated once it has ended."), code="not_ended")
    if not 1 <= rating <= 5:
        raise InvalidInput(_("Choose a rating from 1 to 5."), code="invalid_rating")
    ChatSession.objects.filter(pk=chat.pk).update(rating=rating, rating_comment=comment[:2000])
    record_event(
        chat.ticket, EventKind.RATED, actor=None, label=chat.name, rating=rating,
        comment=comment[:2000], chat=chat.pk,
    )  # fmt: skip


def chat_send_transcript(*, chat: ChatSession) -> Message | None:
    """Email the conversation to the chat's address (an automatic, rate-limited mail)."""
    messages = (
        chat.ticket.messages.filter(channel=Channel.CHAT)
        .exclude(kind=MessageKind.NOTE)
        .select_related("author_user")
        .order_by("id")
    )
    lines = [
        f"[{timezone.localtime(m.created_at):%H:%M}] {live.chat_message_payload(m, chat)['name']}: "
        f"{m.body_text}"
        for m in messages
    ]
    language = customer_language(chat.ticket.customer)
    values = {"reference": chat.ticket.reference}
    text = _in(language, _TRANSCRIPT_TEXT) % values + "\n\n" + "\n".join(lines)
    return ticket_send_automatic_reply(
        ticket=chat.ticket,
        subject=_in(language, _TRANSCRIPT_SUBJECT) % values,
        text=text,
    )


# What the customer is told in the chat, in their language (makemessages finds them here).
_WHILE_YOU_WAIT = gettext_noop(
    "While you wait for an agent, these articles may already help:\n%(links)s"
)
_TRANSCRIPT_TEXT = gettext_noop("Your chat with us (%(reference)s):")
_TRANSCRIPT_SUBJECT = gettext_noop("Your chat transcript (%(reference)s)")


def _in(language: str, text: str) -> str:
    """`text` (a msgid) in the customer's language."""
    with translation.override(language):
        return gettext(text)


# --- The agents' side ---------------------------------------------------------------------


def _locked(chat_id: int) -> ChatSession:
    chat = lock_row(ChatSession.objects.select_related("ticket", "agent", "tier"), chat_id)
    if chat is None:
        raise InvalidInput(_("There is no such chat."), code="unknown_chat")
    return chat


def _refuse_if_full(agent: User) -> None:
    """Away agents take no chats (My settings); the others up to their max_chats. Asked in
    the transaction that gives the agent the chat: the agent's profile row is locked, so
    two chats given to one agent at once (two accepts, an accept and a transfer) are
    counted one after the other, not both against the same count."""
    profile = AgentProfile.objects.select_for_update().filter(user=agent).first()
    if profile is not None and not profile.is_available:
        raise Conflict(
            _("%(agent)s is away and takes no chats (set available in My settings).")
            % {"agent": agent.get_full_name() or agent.username},
            code="agent_away",
        )
    limit = profile.max_chats if profile else 0
    held = ChatSession.objects.filter(agent=agent, status=ChatStatus.ACTIVE).count()
    if held >= limit:
        raise Conflict(
            _("%(agent)s already has %(held)s chat(s), the most they take at once (%(limit)s).")
            % {"agent": agent.get_full_name() or agent.username, "held": held, "limit": limit},
            code="chat_limit",
        )


def _state_changed(chat: ChatSession, *, queue_moved: bool = False) -> None:
    """Tell the chat's two ends, the agents' queues, and (`queue_moved`: the chat left its
    tier's queue or joined it) the customers waiting in that queue their new places."""
    live.publish_chat(chat.pk, "state", state_payload(chat))
    live.publish_chat_queue()
    if queue_moved:
        _tell_places(chat.tier_id)


# Customers this far back in a queue are told their places as it moves (further back a
# place says little; their page reads it again whenever it reconnects).
PLACES_TOLD = 50


def _tell_places(tier_id: int) -> None:
    waiting = (
        ChatSession.objects.filter(status=ChatStatus.WAITING, tier_id=tier_id)
        .order_by("created_at", "id")
        .values_list("pk", "agent_read_up_to")[:PLACES_TOLD]
    )
    for place, (chat_id, read_up_to) in enumerate(waiting, start=1):
        state = {"state": ChatStatus.WAITING, "agent": None, "read_up_to": read_up_to}
        live.publish_chat(chat_id, "state", {**state, "position": place})


def chat_accept(*, chat_id: int, agent: User, now: datetime | None = None) -> ChatSession:
    """Take a waiting chat. Two agents accepting at once: one wins, the other is told."""
    policy.refuse_unless_works_tickets(agent, _("take chats"))
    with transaction.atomic():
        chat = _locked(chat_id)
        if chat.status != ChatStatus.WAITING:
            if chat.status != ChatStatus.ACTIVE:
                raise Conflict(_("This chat has ended."), code="ended")
            taken_by = chat.agent.get_full_name() if chat.agent else ""
            raise Conflict(
                _("This chat was already taken by %(agent)s.") % {"agent": taken_by}
                if taken_by
                else _("This chat was already taken."),
                code="chat_taken",
            )
        if not agent_in_tier(agent, chat.tier_id):
            raise InvalidInput(
                _("Only agents of %(tier)s take this chat.") % {"tier": chat.tier},
                code="not_in_tier",
            )
        _refuse_if_full(agent)
        chat.status, chat.agent, chat.accepted_at = ChatStatus.ACTIVE, agent, now or timezone.now()
        chat.save(update_fields=["status", "agent", "accepted_at"])
        ticket_assign(ticket=chat.ticket, assignee=agent, actor=agent)
        record_event(chat.ticket, EventKind.CHAT_ACCEPTED, actor=agent)
        _state_changed(chat, queue_moved=True)
    return chat


def _refuse_unless_holder(chat: ChatSession, actor: User) -> None:
    policy.refuse_unless_holds_chat(actor, chat)


def chat_transfer(*, chat_id: int, to_agent: User, actor: User) -> ChatSession:
    with transaction.atomic():
        chat = _locked(chat_id)
        _refuse_unless_holder(chat, actor)
        if to_agent.pk == chat.agent_id:
            raise InvalidInput(_("That agent already holds this chat."), code="same_agent")
        chat_hand_over(chat=chat, ticket=chat.ticket, to_agent=to_agent, actor=actor)
        ticket_assign(ticket=chat.ticket, assignee=to_agent, actor=actor)
    return chat


def chat_hand_over(*, chat: ChatSession, ticket: Ticket, to_agent: User, actor: Actor) -> None:
    """Give an active chat (locked) to another agent of its tier with room for it: from the
    console (chat_transfer), or as its ticket is assigned (ticket_assign), so the ticket's
    assignee and the agent the customer talks to stay one person. Only the agent holding
    the chat (or an admin, or the system) passes it on."""
    if actor is not None and not policy.holds_chat(actor, chat):
        holder = (chat.agent.get_full_name() or chat.agent.username) if chat.agent else ""
        raise Conflict(
            _(
                "%(reference)s is in a live chat with %(agent)s: only they (or an admin) "
                "can pass the chat on."
            )
            % {"reference": ticket.reference, "agent": holder},
            code="not_holder",
        )
    if not agent_in_tier(to_agent, chat.tier_id):
        raise InvalidInput(
            _("%(to_agent)s is not an agent of %(tier)s; escalate instead.")
            % {"to_agent": to_agent, "tier": chat.tier},
            code="not_in_tier",
        )
    _refuse_if_full(to_agent)
    previous = chat.agent_id
    chat.agent = to_agent
    chat.save(update_fields=["agent"])
    change: dict[str, Any] = {"from": previous, "to_name": str(to_agent)}
    record_event(ticket, EventKind.CHAT_TRANSFERRED, actor=actor, **change)
    values = {"reference": ticket.reference, "name": chat.name}
    notify_agents(
        user_ids=[to_agent.pk],
        ticket=ticket,
        kind="chat_transferred",
        text=Said(
            gettext_noop("%(agent)s passed you the chat %(reference)s with %(name)s"),
            {**values, "agent": actor.get_full_name() or actor.username},
        )
        if actor is not None
        else Said(gettext_noop("The chat %(reference)s with %(name)s was passed to you"), values),
    )
    _state_changed(chat)


def chat_escalate(
    *, chat_id: int, tier_level: int, reason: str, handoff_note: str, actor: User
) -> ChatSession:
    """Hand the chat to a higher tier: it waits in that tier's chat queue, note attached."""
    with transaction.atomic():
        chat = _locked(chat_id)
        _refuse_unless_holder(chat, actor)
        ticket = ticket_escalate(
            ticket=chat.ticket,
            tier_level=tier_level,
            reason=reason,
            handoff_note=handoff_note,
            actor=actor,
        )
        chat.status, chat.agent, chat.tier_id = ChatStatus.WAITING, None, ticket.tier_id
        chat.save(update_fields=["status", "agent", "tier"])
        _state_changed(chat, queue_moved=True)  # it waits in the new tier's queue
    return chat


def chat_end(
    *, chat_id: int, by: str, actor: User | None = None, now: datetime | None = None
) -> ChatSession:
    """End the conversation; the ticket stays open for follow-up by email."""
    with transaction.atomic():
        chat = _locked(chat_id)
        if chat.status == ChatStatus.ENDED:
            return chat
        if by == "agent" and actor is not None:
            _refuse_unless_holder(chat, actor)
        was_waiting = chat.status == ChatStatus.WAITING
        chat.status, chat.ended_at, chat.ended_by = ChatStatus.ENDED, now or timezone.now(), by
        chat.save(update_fields=["status", "ended_at", "ended_by"])
        record_event(chat.ticket, EventKind.CHAT_ENDED, actor=actor, by=by)
        if by != "agent" and chat.agent_id:
            notify_agents(
                user_ids=[chat.agent_id],
                ticket=chat.ticket,
                kind="chat_ended",
                text=Said(
                    gettext_noop(
                        "%(name)s left the chat %(reference)s; answer by email if something "
                        "is still open"
                    ),
                    {"name": chat.name, "reference": chat.ticket.reference},
                ),
            )
        _state_changed(chat, queue_moved=was_waiting)
    return chat


def chat_agent_message(*, chat_id: int, agent: User, client_id: str, text: str) -> Message:
    """The holding agent's message: stored once per client id, pushed to the customer."""
    text = _validate_text(text)
    chat = ChatSession.objects.filter(pk=chat_id).first()
    if chat is None:
        raise InvalidInput(_("There is no such chat."), code="unknown_chat")
    external_id = f"{chat.key}:agent:{client_id[:100]}"
    try:
        _refuse_unless_holder(chat, agent)
        return ticket_reply(
            ticket=Ticket(pk=chat.ticket_id),  # read and locked there
            actor=agent,
            text=text,
            channel=Channel.CHAT,
            external_id=external_id,
            signed=False,  # a line of a conversation, not a letter
        )
    except (Conflict, IntegrityError):
        # Sent again after a dropped connection (perhaps after the chat moved on): the
        # message was stored the first time (the database keeps one per client id).
        existing = Message.objects.filter(channel=Channel.CHAT, external_id=external_id).first()
        if existing is None:
            raise
        return existing


def chat_sweep_abandoned(*, now: datetime | None = None) -> int:
    """End chats whose customer's page has been silent too long (they closed it)."""
    now = now or timezone.now()
    silent_since = now - timedelta(minutes=settings.HELPDESK_CHAT_ABANDON_MINUTES)
    ids = list(
        ChatSession.objects.exclude(status=ChatStatus.ENDED)
        .filter(customer_seen_at__lt=silent_since)
        .values_list("pk", flat=True)[:500]
    )
    for chat_id in ids:
        chat_end(chat_id=chat_id, by="timeout", now=now)
    return len(ids)


def live_chat_of(ticket: Ticket) -> ChatSession | None:
    """The ticket's chat while it has not ended; read with the ticket when it was
    (select_related("chat")), else now."""
    if Ticket.chat.is_cached(ticket):
        chat = getattr(ticket, "chat", None)
        return chat if chat is not None and chat.status != ChatStatus.ENDED else None
    return ChatSession.objects.filter(ticket=ticket).exclude(status=ChatStatus.ENDED).first()
