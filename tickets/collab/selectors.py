"""Reads of working together: what the ticket page and the API show of it."""

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, Prefetch, Q, Subquery

from helpdesk.text import search_text
from tickets.collab.mentions import display_name, staff
from tickets.models import (
    AgentProfile,
    SideAttachment,
    SideConversation,
    SideMessage,
    Ticket,
    TicketFollower,
    TicketLink,
)
from tickets.roles import light_agents

# Colleagues the note box's autocomplete offers at most for what was typed.
MENTION_CHOICES = 8


@dataclass
class SideThread:
    conversation: SideConversation
    messages: list[SideMessage] = field(default_factory=list)


@dataclass(frozen=True)
class Follower:
    pk: int
    name: str


@dataclass(frozen=True)
class Collaboration:
    # The tier's active agents as (id, name), by name: whom the ticket may be assigned to
    # (selectors.tier_agents), read with the followers in one query.
    tier_agents: list[tuple[int, str]]
    followers: list[Follower]
    related: list[Ticket]
    side: list[SideThread]

    def follows(self, user_id: int) -> bool:
        return any(follower.pk == user_id for follower in self.followers)


def people_on_ticket(ticket_id: int, tier_id: int) -> tuple[list[tuple[int, str]], list[Follower]]:
    """The tier's active agents who work tickets (by name) and the ticket's active
    followers (earliest first), in one query."""
    following = TicketFollower.objects.filter(ticket_id=ticket_id, user_id=OuterRef("pk"))
    # Whom a ticket of the tier may be assigned to: its agents, but light agents.
    in_tier = AgentProfile.objects.filter(user_id=OuterRef("pk"), tiers=tier_id).exclude(
        user__in=light_agents()
    )
    rows = (
        User.objects.filter(is_active=True)
        .annotate(
            in_tier=Exists(in_tier),
            followed_at=Subquery(following.values("created_at")[:1]),
        )
        .filter(Q(in_tier=True) | Q(followed_at__isnull=False))
        .order_by("first_name", "username")
        .values_list("pk", "first_name", "last_name", "username", "in_tier", "followed_at")
    )
    agents, followers = [], []
    for pk, first, last, username, agent, followed_at in rows:
        name = f"{first} {last}".strip() or username  # as User.get_full_name, else username
        if agent:
            agents.append((pk, name))
        if followed_at is not None:
            followers.append((followed_at, pk, name))
    return agents, [Follower(pk, name) for _, pk, name in sorted(followers)]


def ticket_followers(ticket_id: int) -> list[User]:
    return [
        follower.user
        for follower in TicketFollower.objects.filter(ticket_id=ticket_id)
        .select_related("user")
        .order_by("created_at", "id")
    ]


def related_tickets(ticket_id: int) -> list[Ticket]:
    """The tickets linked to this one as related, oldest link first (one query)."""
    links = (
        TicketLink.objects.filter(Q(low_id=ticket_id) | Q(high_id=ticket_id))
        .select_related("low", "high")
        .only("low__subject", "low__status", "high__subject", "high__status", "created_at")
        .order_by("created_at", "id")
    )
    return [link.high if link.low_id == ticket_id else link.low for link in links]


def side_threads(ticket_id: int) -> list[SideThread]:
    """The ticket's side conversations with their messages and each message's `attachments`,
    oldest first (two queries: every conversation starts with a message)."""
    threads: dict[int, SideThread] = {}
    for message in (
        SideMessage.objects.filter(conversation__ticket_id=ticket_id)
        .select_related("conversation", "author_user")
        .prefetch_related(Prefetch("attachments", SideAttachment.objects.order_by("pk")))
        .order_by("conversation__created_at", "conversation_id", "created_at", "id")
    ):
        thread = threads.setdefault(message.conversation_id, SideThread(message.conversation))
        thread.messages.append(message)
    return list(threads.values())


def collaboration(ticket: Ticket) -> Collaboration:
    """What the ticket page shows of the people and tickets around it: four queries (the
    first of which the page made anyway, for the assignee's choices)."""
    agents, followers = people_on_ticket(ticket.pk, ticket.tier_id)
    return Collaboration(
        tier_agents=agents,
        followers=followers,
        related=related_tickets(ticket.pk),
        side=side_threads(ticket.pk),
    )


def mention_choices(query: str) -> list[dict[str, Any]]:
    """Active staff whose username or name starts with what was typed after @."""
    typed = search_text(query).lstrip("@")
    people = staff().distinct().order_by("username")
    if typed:
        people = people.filter(
            Q(username__istartswith=typed)
            | Q(first_name__istartswith=typed)
            | Q(last_name__istartswith=typed)
        )
    return [
        {"username": user.username, "name": display_name(user)}
        for user in people.only("username", "first_name", "last_name")[:MENTION_CHOICES]
    ]
