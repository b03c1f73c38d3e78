"""The reads the views need; each owns its joins, so a page costs a fixed number of queries."""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.contrib.postgres.search import SearchQuery, SearchVector, SearchVectorExact
from django.db import connection
from django.db.models import (
    Case,
    DateTimeField,
    Exists,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest

from tickets.fields.selectors import FieldCondition, condition_filter
from tickets.ids import id_from
from tickets.models import (
    ACTIVE_STATUSES,
    AgentProfile,
    Attachment,
    ContactKind,
    ContactPoint,
    Customer,
    DeliveryStatus,
    Message,
    MessageKind,
    Tag,
    Ticket,
    TicketEvent,
    Tier,
)
from tickets.roles import light_agents

# What a ticket is about and the problem it is an incident of, as the API shows them.
TICKET_ABOUT = ("product", "service", "problem")


@dataclass(frozen=True)
class TicketFilters:
    statuses: tuple[str, ...] = ()
    tier_levels: tuple[int, ...] = ()
    priorities: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    assignee_id: int | None = None
    unassigned: bool = False
    customer_id: int | None = None
    text: str = ""
    tags: tuple[str, ...] = ()  # tickets with all of them
    problem_id: int | None = None  # the incidents of a problem
    field: FieldCondition | None = None  # a custom field's condition (tickets.fields)


def ticket_list(filters: TicketFilters | None = None) -> QuerySet[Ticket]:
    filters = filters or TicketFilters()
    tickets = Ticket.objects.select_related("customer", "tier", "assignee")
    if filters.statuses:
        tickets = tickets.filter(status__in=filters.statuses)
    if filters.tier_levels:
        tickets = tickets.filter(tier__level__in=filters.tier_levels)
    if filters.priorities:
        tickets = tickets.filter(priority__in=filters.priorities)
    if filters.channels:
        tickets = tickets.filter(channel__in=filters.channels)
    if filters.unassigned:
        tickets = tickets.filter(assignee__isnull=True)
    elif filters.assignee_id is not None:
        tickets = tickets.filter(assignee_id=filters.assignee_id)
    if filters.customer_id is not None:
        tickets = tickets.filter(customer_id=filters.customer_id)
    if filters.problem_id is not None:
        tickets = tickets.filter(problem_id=filters.problem_id)
    if filters.field is not None:  # InvalidInput when the condition is wrong
        tickets = tickets.filter(condition_filter(filters.field))
    if filters.text.strip():
        tickets = tickets.filter(_text_match(filters.text.strip()))
    for tag in filters.tags:
        tickets = tickets.filter(tags__name=tag.strip().lower())
    return tickets


def _text_match(text: str) -> Q:
    """Subject or any message matching the words, the customer (their name containing the
    text, or one of their addresses or numbers being it), or the ticket's reference.

    PostgreSQL: full-text search (stemmed words, websearch syntax) on GIN-indexed
    expressions (migration 0012). SQLite: a plain substring match.
    """
    if connection.vendor == "postgresql":
        config = settings.TICKET_SEARCH_CONFIG
        query = SearchQuery(text, config=config, search_type="websearch")
        # Two uncorrelated index scans joined by a union: both GIN indexes serve the search,
        # however many tickets there are.
        matching_messages = (
            Message.objects.annotate(words=SearchVector("body_text", config=config))
            .filter(words=query)
            .values("ticket_id")
        )
        in_subject = (
            Ticket.objects.filter(SearchVectorExact(SearchVector("subject", config=config), query))
            .values("pk")
            .order_by()
        )
        of_customers = Ticket.objects.filter(_of_customers(text)).values("pk").order_by()
        match = Q(pk__in=in_subject.union(matching_messages.order_by(), of_customers, all=True))
    else:
        in_messages = Message.objects.filter(ticket=OuterRef("pk"), body_text__icontains=text)
        match = Q(subject__icontains=text) | Q(Exists(in_messages)) | _of_customers(text)
    ticket_id = ticket_id_from_reference(text)
    if ticket_id is not None:
        match |= Q(pk=ticket_id)
    return match


def _of_customers(text: str) -> Q:
    """Tickets of customers whose name contains the text, or with an address or number
    that is it (contact points are stored normalised: addresses in lower case)."""
    text = text.strip()
    named = Customer.objects.filter(name__icontains=text).values("pk")
    reached = ContactPoint.objects.filter(value__in={text, text.lower()}).values("customer_id")
    return Q(customer_id__in=named) | Q(customer_id__in=reached)


def ticket_id_from_reference(text: str) -> int | None:
    """'HD-1042', 'hd-1042' or '1042' -> 1042; anything else (e.g. 'error-12') -> None."""
    candidate = text.strip().upper()
    prefix = f"{settings.HELPDESK_TICKET_PREFIX.upper()}-"
    candidate = candidate.removeprefix(prefix)
    return id_from(candidate)


# The customer's other tickets the agent's ticket page lists, the latest first.
OTHER_TICKETS_ON_PAGE = 10
# A customer's tickets the API gives with a ticket or the customer, the latest first (all
# of them: the ticket list filtered by customer, page by page).
LATEST_CUSTOMER_TICKETS = 50


def ticket_detail(ticket_id: int, *, for_page: bool = False) -> Ticket | None:
    """A ticket with its whole conversation and history, in a fixed number of queries.

    `for_page` leaves the conversation and history out: the agent's ticket page reads them
    as plain rows (ticket_timeline), hundreds of them without a model instance each. Its
    customer's `history` is then their latest other tickets, one more than the page lists;
    else their latest LATEST_CUSTOMER_TICKETS other tickets."""
    # The latest of the customer's other tickets, not all of them: a customer with
    # thousands of tickets (an alert mailbox, say) must not make each ticket slow to open.
    history = Ticket.objects.exclude(pk=ticket_id).order_by("-created_at", "-id")
    if for_page:
        # As the page lists them, and one more to tell that there are more.
        history = history.only("subject", "status", "customer")[: OTHER_TICKETS_ON_PAGE + 1]
    else:
        history = history[:LATEST_CUSTOMER_TICKETS]
    related: list[Any] = [
        Prefetch("customer__contact_points", queryset=ContactPoint.objects.all()),
        # The customer's history, across channels, beside the conversation.
        Prefetch("customer__tickets", queryset=history, to_attr="history"),
        "participants",
        Prefetch("tags", queryset=Tag.objects.order_by("name")),
    ]
    if not for_page:
        related += [
            Prefetch(
                "messages",
                queryset=Message.objects.select_related(
                    "author_user", "author_customer", "call"
                ).prefetch_related("attachments"),
            ),
            Prefetch("events", queryset=TicketEvent.objects.select_related("actor")),
        ]
    joined = [
        "customer", "customer__organization", "tier", "assignee", "product", "service", "problem",
    ]  # fmt: skip
    if for_page:
        joined.append("chat")  # whether it can be answered by live chat
    return (
        Ticket.objects.select_related(*joined)
        .prefetch_related(*related)
        .filter(pk=ticket_id)
        .first()
    )


_TIMELINE_MESSAGE_FIELDS = (
    "id", "kind", "channel", "created_at", "body_text", "sender", "delivery_status",
    "delivery_error", "original", "author_user__username", "author_user__first_name",
    "author_user__last_name", "author_customer__name", "call__direction",
    "call__phone_number", "call__duration_seconds",
)  # fmt: skip
_TIMELINE_EVENT_FIELDS = (
    "id", "kind", "data", "actor_label", "created_at", "actor__username",
    "actor__first_name", "actor__last_name",
)  # fmt: skip


@dataclass(frozen=True)
class Timeline:
    """A ticket's messages (each with its `attachments`) and events, oldest first, as
    rows of the fields above: what the agent's ticket page shows of them."""

    messages: list[dict[str, Any]]
    events: list[dict[str, Any]]


def ticket_timeline(ticket_id: int) -> Timeline:
    """Three queries whatever the length of the conversation."""
    messages = list(
        Message.objects.filter(ticket_id=ticket_id)
        .order_by("created_at", "id")
        .values(*_TIMELINE_MESSAGE_FIELDS)
    )
    files: dict[int, list[dict[str, Any]]] = {}
    for attachment in (
        Attachment.objects.filter(message__ticket_id=ticket_id)
        .order_by("pk")
        .values("id", "message_id", "filename", "size")
    ):
        files.setdefault(attachment["message_id"], []).append(dict(attachment))
    for message in messages:
        message["attachments"] = files.get(message["id"], [])
    events = list(
        TicketEvent.objects.filter(ticket_id=ticket_id)
        .order_by("created_at", "id")
        .values(*_TIMELINE_EVENT_FIELDS)
    )
    return Timeline(messages, events)


def customer_list(*, text: str = "") -> QuerySet[Customer]:
    customers = (
        Customer.objects.filter(merged_into__isnull=True)
        .select_related("organization")
        .prefetch_related("contact_points")
    )
    if text.strip():
        text = text.strip()
        customers = customers.filter(
            Q(name__icontains=text) | Q(contact_points__value__icontains=text.lower())
        ).distinct()
    return customers


def customer_detail(customer_id: int) -> Customer | None:
    return (
        Customer.objects.select_related("organization", "merged_into")
        .prefetch_related(
            "contact_points",
            Prefetch(
                "tickets",
                queryset=Ticket.objects.select_related("tier", "assignee", *TICKET_ABOUT)
                .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
                .order_by("-created_at", "-id")[:LATEST_CUSTOMER_TICKETS],
                to_attr="latest_tickets",  # a sliced prefetch needs its own attribute
            ),
        )
        .filter(pk=customer_id)
        .first()
    )


def tier_list(*, agents: bool = True) -> QuerySet[Tier]:
    """The tiers by level, with their active agents (unless `agents` is false)."""
    tiers = Tier.objects.order_by("level")
    if not agents:
        return tiers
    active_agents = AgentProfile.objects.filter(user__is_active=True).select_related("user")
    return tiers.prefetch_related(Prefetch("agents", queryset=active_agents))


def agent_tier_ids(user: User) -> list[int]:
    return list(Tier.objects.filter(agents__user=user).values_list("pk", flat=True))


@dataclass(frozen=True)
class ArticleMaterial:
    """What a resolved ticket can teach: the question and the answers agents gave."""

    title: str
    problem: str
    solution: str


_EMAIL_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


def _anonymise(text: str, names: list[str]) -> str:
    # An article is for everyone: the customer's name and any address must not travel into it.
    text = _EMAIL_ADDRESS.sub("[email address]", text)
    for name in names:
        text = re.sub(re.escape(name), "[customer]", text, flags=re.IGNORECASE)
    return text.strip()


def ticket_article_material(ticket: Ticket) -> ArticleMaterial:
    """The first inbound message as the problem, the agents' public replies as the solution."""
    messages = list(
        ticket.messages.filter(
            Q(kind=MessageKind.INBOUND) | Q(kind=MessageKind.OUTBOUND, is_automatic=False)
        )
        .select_related("author_customer")
        .order_by("created_at", "id")
    )
    names = [n for n in {ticket.customer.name, *ticket.customer.name.split()} if len(n) > 2]
    problem = next((m.body_text for m in messages if m.kind == MessageKind.INBOUND), "")
    replies = [m.body_text for m in messages if m.kind == MessageKind.OUTBOUND]
    return ArticleMaterial(
        title=ticket.subject,
        problem=_anonymise(problem, names),
        solution=_anonymise("\n\n".join(replies), names),
    )


def tier_agents(tier_id: int) -> list[tuple[int, str]]:
    """Active agents of a tier as (id, name), by name: who a ticket of that tier may be
    assigned to. Rows, not users: a tier of a hundred agents took 3.6 ms to build as users."""
    rows = (
        User.objects.filter(is_active=True, agent_profile__tiers=tier_id)
        .exclude(pk__in=light_agents())
        .order_by("first_name", "username")
        .values_list("pk", "first_name", "last_name", "username")
    )
    # As User.get_full_name, else the username.
    return [(pk, f"{first} {last}".strip() or username) for pk, first, last, username in rows]


# --- The customer portal: a customer's own tickets, never anyone else's -------------------

# What a customer may read of a conversation: never internal notes.
PUBLIC_MESSAGE_KINDS = (MessageKind.INBOUND, MessageKind.OUTBOUND)


def customer_for_user(user: AbstractBaseUser | AnonymousUser) -> Customer | None:
    """The customer a portal account belongs to (None for anyone else)."""
    if not user.is_authenticated:
        return None
    return Customer.objects.filter(user_id=user.pk, merged_into__isnull=True).first()


def customer_ticket_list(*, customer: Customer) -> QuerySet[Ticket]:
    """The customer's tickets, open ones first, then most recently updated first, in one
    query (a page of it: the portal's list); `last_update` is the latest public change (a
    message, resolution or closure)."""
    return (
        Ticket.objects.filter(customer=customer)
        .select_related("merged_into")
        .annotate(
            last_update=Greatest(
                Coalesce("last_message_at", "created_at"),
                Coalesce("resolved_at", "created_at"),
                Coalesce("closed_at", "created_at"),
                output_field=DateTimeField(),
            ),
            is_open=Case(
                When(status__in=ACTIVE_STATUSES, then=Value(1)),
                default=Value(0),
            ),
        )
        .order_by("-is_open", "-last_update", "-id")
    )


def customer_ticket_thread(*, customer: Customer, ticket_id: int) -> Ticket | None:
    """One of the customer's tickets with its public messages (`public_messages`) and their
    attachments; None when the ticket is not theirs."""
    public = (
        Message.objects.filter(_shown_to_customer())
        .select_related("author_user")
        .prefetch_related("attachments")
        .order_by("created_at", "id")
    )
    return (
        Ticket.objects.filter(pk=ticket_id, customer=customer)
        .select_related("merged_into", "follow_up_of")
        .prefetch_related(Prefetch("messages", queryset=public, to_attr="public_messages"))
        .first()
    )


def customer_attachment(*, customer: Customer, attachment_id: int) -> Attachment | None:
    """An attachment of a message the customer is shown, on one of their tickets."""
    return Attachment.objects.filter(
        _shown_to_customer("message__"), pk=attachment_id, message__ticket__customer=customer
    ).first()


def _shown_to_customer(prefix: str = "") -> Q:
    """The messages a customer is shown of their ticket (their thread, its files): what
    they wrote and what was sent to them; never a note, nor a message held back (never
    sent: never said). `prefix`: the path to the message from the model asked."""
    return Q(**{f"{prefix}kind__in": PUBLIC_MESSAGE_KINDS}) & ~Q(
        **{f"{prefix}delivery_status": DeliveryStatus.SUPPRESSED}
    )


def portal_username_for_email(email: str) -> str | None:
    """The portal account of the customer with this email address, for signing in by
    address instead of username."""
    return (
        ContactPoint.objects.filter(
            kind=ContactKind.EMAIL, value=email.strip().lower(), customer__user__isnull=False
        )
        .values_list("customer__user__username", flat=True)
        .first()
    )


# --- Agents' availability: the team as the chat page shows it --------------------------------


@dataclass(frozen=True)
class TeamMember:
    user_id: int
    name: str
    is_available: bool
    online: bool  # their workspace is open (the heartbeat)


def team_availability(
    tier_ids: Iterable[int], *, now: datetime, workers_only: bool = False
) -> list[TeamMember]:
    """The active agents of these tiers, available or away and online or not, by name
    (`workers_only`: not the light agents, who are given no tickets or chats)."""
    seen_after = now - timedelta(seconds=settings.HELPDESK_CHAT_ONLINE_SECONDS)
    profiles = AgentProfile.objects.filter(user__is_active=True, tiers__in=list(tier_ids))
    if workers_only:
        profiles = profiles.exclude(user__in=light_agents())
    rows = (
        profiles
        .distinct()
        .order_by("user__first_name", "user__username")
        .values_list(
            "user_id", "user__first_name", "user__last_name", "user__username",
            "is_available", "last_seen_at",
        )
    )  # fmt: skip
    return [
        TeamMember(
            user_id,
            f"{first} {last}".strip() or username,
            available,
            seen is not None and seen >= seen_after,
        )
        for user_id, first, last, username, available, seen in rows
    ]
