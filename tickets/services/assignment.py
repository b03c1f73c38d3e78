"""Who works a ticket: assignment within the ticket's tier; adding agents to the team."""

import secrets
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from tickets import metrics, policy, roles
from tickets.errors import Conflict, InvalidInput
from tickets.models import (
    ACTIVE_STATUSES,
    AgentProfile,
    ChatSession,
    ChatStatus,
    EventKind,
    Ticket,
)
from tickets.services._common import Actor, lock_ticket, record_event, refuse_if_merged
from tickets.services.notices import Said, notify_agents
from tickets.services.queueing import schedule_routing


def active_agents_by_tier(tier_ids: Iterable[int] | None = None) -> dict[int, list[int]]:
    """Active agents' user ids by tier id (all tiers unless some are named): whom a tier's
    notices reach, and who may keep a ticket that moves there. One query."""
    profiles = AgentProfile.objects.filter(user__is_active=True, tiers__isnull=False)
    if tier_ids is not None:
        profiles = profiles.filter(tiers__id__in=list(tier_ids))
    members: dict[int, list[int]] = defaultdict(list)
    for user_id, tier_id in profiles.values_list("user_id", "tiers__id"):
        members[tier_id].append(user_id)
    return members


def agent_in_tier(user: User, tier_id: int) -> bool:
    """Whether `user` may be given the tier's tickets (and chats): an active agent of the
    tier who works tickets (light agents only read them)."""
    return (
        AgentProfile.objects.filter(user=user, user__is_active=True, tiers__id=tier_id)
        .exclude(user__in=roles.light_agents())
        .exists()
    )


def ticket_assign(*, ticket: Ticket, assignee: User, actor: Actor, label: str = "") -> Ticket:
    """Give the ticket to an agent of its tier. A live chat on it goes with it
    (chat_hand_over: by its holder, to an agent with room for it), or nothing changes."""
    with transaction.atomic():
        chat = _live_chat_locked(ticket)  # before the ticket: the order the chat services lock in
        ticket = lock_ticket(ticket)
        refuse_if_merged(ticket)
        policy.refuse_if_closed(ticket)
        if ticket.assignee_id == assignee.pk:
            return ticket
        if actor is not None and actor.pk != assignee.pk:  # taking it: only in one's tier
            policy.refuse_unless_works_on(actor, ticket, _("assign it"))
        if roles.role_of(assignee) == roles.LIGHT_AGENT:
            raise InvalidInput(
                _(
                    "Light agents read tickets and write internal notes: %(assignee)s "
                    "cannot be assigned tickets."
                )
                % {"assignee": assignee.get_full_name() or assignee.get_username()},
                code="assignee_light_agent",
            )
        if not agent_in_tier(assignee, ticket.tier_id):
            raise InvalidInput(
                _(
                    "%(assignee)s is not an active agent of %(tier)s; move the "
                    "ticket to their tier first."
                )
                % {"assignee": assignee, "tier": ticket.tier},
                code="assignee_not_in_tier",
            )
        if chat is not None and chat.status == ChatStatus.ACTIVE and chat.agent_id != assignee.pk:
            from tickets.services.chat import chat_hand_over  # chat builds on assignment

            chat_hand_over(chat=chat, ticket=ticket, to_agent=assignee, actor=actor)
        change: dict[str, Any] = {"from": ticket.assignee_id, "to": assignee.pk}
        record_event(
            ticket, EventKind.ASSIGNED, actor=actor, label=label, to_name=str(assignee), **change
        )
        ticket.assignee = assignee
        ticket.save(update_fields=["assignee", "updated_at"])
        metrics.assigned(ticket)
        metrics.save(ticket)
        if actor is None or actor.pk != assignee.pk:
            notify_agents(
                user_ids=[assignee.pk],
                ticket=ticket,
                kind="assigned",
                text=Said(
                    gettext_noop("%(reference)s was assigned to you: %(subject)s"),
                    {"reference": ticket.reference, "subject": ticket.subject},
                ),
            )
    return ticket


def _live_chat_locked(ticket: Ticket) -> ChatSession | None:
    """The ticket's chat, unless ended, locked (a chat being accepted is waited for)."""
    return (
        ChatSession.objects.select_for_update()
        .filter(ticket_id=ticket.pk)
        .exclude(status=ChatStatus.ENDED)
        .first()
    )


def ticket_unassign(*, ticket: Ticket, actor: Actor, reason: str = "") -> Ticket:
    with transaction.atomic():
        ticket = lock_ticket(ticket)
        refuse_if_merged(ticket)
        if ticket.assignee_id is None:
            return ticket
        policy.refuse_unless_works_on(actor, ticket, _("unassign it"))
        data: dict[str, Any] = {"from": ticket.assignee_id}
        if reason:
            data["reason"] = reason
        record_event(ticket, EventKind.UNASSIGNED, actor=actor, **data)
        ticket.assignee = None
        ticket.save(update_fields=["assignee", "updated_at"])
        metrics.assigned(ticket)
        metrics.save(ticket)
    return ticket


def assignee_by_id(user_id: int) -> User:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise InvalidInput(
            _("There is no user %(user_id)s.") % {"user_id": user_id}, code="unknown_user"
        )
    return user


def agent_release_tickets(*, agent: User, actor: Actor, reason: str) -> int:
    """An admin takes an unavailable agent's open tickets back to their tiers' queues.

    Each ticket is unassigned with the reason and routed again (automatic tiers reassign
    it); nothing happens silently when an agent merely goes unavailable.
    """
    released = 0
    for ticket in Ticket.objects.filter(assignee=agent, status__in=ACTIVE_STATUSES).select_related(
        "tier"
    ):
        with transaction.atomic():
            ticket_unassign(ticket=ticket, actor=actor, reason=reason)
            Ticket.objects.filter(pk=ticket.pk).update(routing_due_at=timezone.now())
            schedule_routing(ticket.pk, ticket.tier.level)
        released += 1
    return released


def agent_add(
    *,
    username: str,
    email: str,
    first_name: str = "",
    last_name: str = "",
    tier_ids: Iterable[int] = (),
    is_admin: bool = False,
    password: str = "",
) -> AgentProfile:
    """A new person on the team, ready to sign in to the workspace: a staff user in the
    Agents (or Admins) group, with an agent profile in the given tiers. Without a password
    they are emailed a link to choose one (after commit)."""
    from django.contrib.auth.models import Group

    from tickets.roles import ADMINS_GROUP, AGENTS_GROUP

    username = username.strip()
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict(
            _("The username %(username)r is taken.") % {"username": username}, code="username_taken"
        )
    with transaction.atomic():
        user = User.objects.create_user(
            username=username, email=email.strip().lower(), first_name=first_name.strip(),
            last_name=last_name.strip(), password=password or None, is_staff=True,
        )  # fmt: skip
        if not password:
            # A password nobody knows (a usable one: Django only sends reset links to those).
            user.set_password(secrets.token_urlsafe(32))
            user.save(update_fields=["password"])
            transaction.on_commit(lambda: _send_password_link(user))
        user.groups.add(Group.objects.get(name=ADMINS_GROUP if is_admin else AGENTS_GROUP))
        profile = AgentProfile.objects.create(user=user)
        profile.tiers.set(list(tier_ids))
    return profile


def _send_password_link(user: User) -> None:
    from django.conf import settings
    from django.contrib.auth.forms import PasswordResetForm

    form = PasswordResetForm({"email": user.email})
    if form.is_valid():
        base = settings.PUBLIC_BASE_URL
        form.save(domain_override=base.split("://", 1)[-1], use_https=base.startswith("https://"))
