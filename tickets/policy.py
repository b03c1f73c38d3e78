"""Who may change what on a ticket: the one policy every door asks, through the services.

Roles (tickets.roles, README "Roles") say what kind of thing a person may do at all
(`may`, CAPABILITIES): admins everything; leads also the reports, shared views, rules and
canned responses, but no system settings; agents work tickets; light agents read tickets
and write internal notes, nothing else. Inside each role the tier rules below apply.

- The system (no actor: routing, the SLA sweep, the channels) may do whatever the ticket's
  state allows.
- Admins may act on any ticket.
- An agent *works* a ticket when it is in one of their tiers or assigned to them, or still
  in self-service (tier 0, where every agent may take one up). Only an
  agent who works a ticket may move it to another tier, change its priority or its
  assignee, close it (final), or merge it (both tickets). Anyone on staff may read it,
  reply to it, note on it and change its other statuses (resolve it, say).
- Problems (tickets.problems) are worked as tickets are: opening, changing, linking and
  solving them, their known issues and spikes are for those who work tickets; notes on
  them for everyone on staff.
- Customers close their own tickets from the portal (its own access rule).
- A closed ticket is final, whoever asks (the system and its rules too): its replies,
  status, priority, subject, assignee, tier, tags, custom fields and product stay as they
  were when it closed (`refuse_if_closed`); internal notes may still be added, and a
  customer writing again opens a follow-up.
- Tier moves, up or down, go to tiers 1 to 3 (tier 0, self-service, is where new tickets
  start; only routing takes them out of it), and each carries a reason and a hand-off note.
- Only agents of a tier may be assigned its tickets (tickets.services.assignment).
- A live chat is written in, passed on, escalated and ended by the agent holding it (or an
  admin), once accepted: `refuse_unless_holds_chat`, asked by the console's socket and
  forms, by every reply that would go into the chat (ticket page, API, canned responses,
  a solved problem's answer), and by assigning its ticket (the chat goes with it).

The rule itself is `works_on`, on what is known of the person (their tiers, whether they
are an admin): the services read that from the database, the pages from the agent's
cached set-up, so that a control is shown exactly when its action would be allowed.
"""

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from tickets import roles
from tickets.errors import Conflict, NotAllowed
from tickets.models import AgentProfile, ChatSession, ChatStatus, Macro, Ticket, TicketStatus
from tickets.roles import ADMIN, AGENT, LEAD, LIGHT_AGENT, is_staff_member

MOVABLE_LEVELS = (1, 2, 3)

# What each role may do, beyond reading tickets (every role on staff reads every ticket).
CAPABILITIES: dict[str, frozenset[str]] = {
    # Internal notes on any ticket.
    "note": frozenset({ADMIN, LEAD, AGENT, LIGHT_AGENT}),
    # Replies, status, priority, assignee, tier, tags, merges, macros, chats, problems.
    "work_tickets": frozenset({ADMIN, LEAD, AGENT}),
    # Personal views (one's own queues).
    "personal_views": frozenset({ADMIN, LEAD, AGENT, LIGHT_AGENT}),
    "shared_views": frozenset({ADMIN, LEAD}),
    "reports": frozenset({ADMIN, LEAD}),
    # Triggers, automations and canned responses.
    "rules": frozenset({ADMIN, LEAD}),
    # Who is on the team, their roles and tiers (to read; who may change whom: roles_given_by).
    "see_team": frozenset({ADMIN, LEAD}),
    # Teams (groups of colleagues across tiers, to share views with): make, name, staff them.
    "teams": frozenset({ADMIN, LEAD}),
    # System settings: channels, SLA policies, tiers, sign-in, branding, webhooks, roles.
    "settings": frozenset({ADMIN}),
}


# The roles each role may give, on the team page: admins any (to anyone but a superuser);
# leads run their team's agents: they make people agents or light agents, and set their
# tiers, but change no admin's or lead's role.
_ROLES_GIVEN_BY: dict[str, tuple[str, ...]] = {ADMIN: roles.ROLES, LEAD: (AGENT, LIGHT_AGENT)}


def roles_given_by(role: str | None) -> tuple[str, ...]:
    return _ROLES_GIVEN_BY.get(role or "", ())


def may_change_member(actor_role: str | None, member_role: str | None, *, superuser: bool) -> bool:
    """Whether someone of `actor_role` may change the role and tiers of a person of
    `member_role` (a superuser is always an admin: nobody changes them here)."""
    return not superuser and (member_role or AGENT) in roles_given_by(actor_role)


def may(role: str | None, capability: str) -> bool:
    return role in CAPABILITIES[capability]


# Who was refused, said as a group ("Light agents may not manage rules.").
_ROLE_PLURALS = {
    ADMIN: gettext_noop("Admins"),
    LEAD: gettext_noop("Leads"),
    AGENT: gettext_noop("Agents"),
    LIGHT_AGENT: gettext_noop("Light agents"),
}


def refuse_unless_may(actor: User | None, capability: str, doing: str) -> None:
    """Raise NotAllowed unless the actor's role allows `capability` (None: the system)."""
    if actor is None or may(roles.role_of(actor), capability):
        return
    role = roles.role_of(actor)
    who = _(_ROLE_PLURALS[role]) if role else _("Customers")
    raise NotAllowed(
        _("%(who)s may not %(doing)s.") % {"who": who, "doing": doing}, code="role_not_allowed"
    )


def refuse_unless_works_tickets(actor: User | None, doing: str) -> None:
    """Light agents read tickets and write internal notes only: they may not `doing` (the
    role lacks "work_tickets", the capability the workspace and the API doors ask too).
    Other people (customers acting through the portal, the system) are not concerned here."""
    role = roles.role_of(actor) if actor is not None else None
    if role is not None and not may(role, "work_tickets"):
        raise NotAllowed(
            _("Light agents read tickets and write internal notes; they may not %(doing)s.")
            % {"doing": doing},
            code="light_agent",
        )


@dataclass(frozen=True)
class Staff:
    """What the policy needs to know of a person."""

    user_id: int
    tier_ids: frozenset[int]
    is_admin: bool
    role: str | None = AGENT

    @classmethod
    def of(cls, user: User) -> "Staff":
        tier_ids = AgentProfile.objects.filter(user=user, user__is_active=True).values_list(
            "tiers__id", flat=True
        )
        role = roles.role_of(user)
        return cls(user.pk, frozenset(t for t in tier_ids if t is not None), role == ADMIN, role)


def works_on(staff: Staff, ticket: Ticket) -> bool:
    """Whether `staff` may change the ticket's priority, assignee or tier, close or merge it
    (light agents never do)."""
    if staff.role == LIGHT_AGENT:
        return False
    return (
        staff.is_admin
        or ticket.assignee_id == staff.user_id
        or ticket.tier_id in staff.tier_ids
        # Self-service holds tickets nobody is on yet: any agent may take one up.
        or ticket.tier.level == 0
    )


def tier_moves(staff: Staff, ticket: Ticket) -> list[int]:
    """The tier levels `staff` may move the ticket to (none when they do not work it)."""
    if not works_on(staff, ticket):
        return []
    return [level for level in MOVABLE_LEVELS if level != ticket.tier.level]


def may_apply_macro(staff: Staff, ticket: Ticket, macro: Macro) -> bool:
    """Whether everything the canned response does to the ticket is allowed to `staff`: a
    priority or a tier move only for who works it (ticket_apply_macro refuses the rest)."""
    if staff.role == LIGHT_AGENT:
        return False
    if macro.set_priority and not works_on(staff, ticket):
        return False
    level = macro.set_tier.level if macro.set_tier is not None else ticket.tier.level
    return level == ticket.tier.level or level in tier_moves(staff, ticket)


def refuse_unless_works_on(actor: User | None, ticket: Ticket, doing: str) -> None:
    """Raise NotAllowed unless the actor (None: the system) works the ticket; `doing` says
    what was refused, e.g. "change its priority"."""
    if actor is None or works_on(Staff.of(actor), ticket):
        return
    raise NotAllowed(
        _(
            "Only agents of %(tier)s (or its assignee, or an admin) may "
            "%(doing)s: %(reference)s is not in your tiers."
        )
        % {"tier": ticket.tier, "doing": doing, "reference": ticket.reference},
        code="not_your_tier",
    )


def refuse_unless_holds_chat(actor: User | None, chat: ChatSession) -> None:
    """Raise Conflict unless the actor may speak for the desk in this live chat: the agent
    holding it, or an admin (who may act on any ticket); the system (None) always. A chat
    still waiting is accepted first, so the customer is told who answers and no colleague
    accepts it meanwhile."""
    if actor is None:
        return
    if chat.status == ChatStatus.WAITING:
        raise Conflict(
            _("This chat is waiting for an agent: accept the chat first, then write in it."),
            code="not_accepted",
        )
    if chat.status != ChatStatus.ACTIVE:
        raise Conflict(_("This chat is not with an agent now."), code="not_active")
    if not holds_chat(actor, chat):
        raise Conflict(_("Only the agent holding this chat can do that."), code="not_holder")


def holds_chat(user: User, chat: ChatSession) -> bool:
    """Whether `user` speaks for the desk in this live chat (refuse_unless_holds_chat)."""
    return chat.status == ChatStatus.ACTIVE and (
        chat.agent_id == user.pk or roles.role_of(user) == ADMIN
    )


def refuse_event_kinds(kinds_by_actor: list[tuple[User | None, str]]) -> None:
    """The last guard, in the one function that writes ticket history: a light agent's
    change of anything but a note is refused, whichever door or service it came through."""
    for actor, kind in kinds_by_actor:
        if kind != "note_added":
            refuse_unless_works_tickets(actor, _("change tickets"))


def is_final(ticket: Ticket) -> bool:
    """Whether the ticket takes no more changes of its own (closed): pages show its tags,
    fields and product without their editors."""
    return ticket.status == TicketStatus.CLOSED


def refuse_if_closed(ticket: Ticket) -> None:
    """Raise Conflict (`ticket_closed`) when the ticket is closed: closed is final, for
    every change of the ticket itself, whichever door or rule asks (ask it on the ticket
    as locked for the change)."""
    if is_final(ticket):
        raise Conflict(
            _("%(reference)s is closed.") % {"reference": ticket.reference}, code="ticket_closed"
        )


def refuse_close(actor: User | None, ticket: Ticket) -> None:
    """Closing is final: for the ticket's workers (customers close their own elsewhere)."""
    if actor is not None and is_staff_member(actor):
        refuse_unless_works_on(actor, ticket, _("close it"))


def solves_by_hand(actor: User | None) -> bool:
    """Whether a status change to solved asks for the fields required when solving: when a
    person on staff makes it (any door). The system (rules, self-service, the auto-close
    of resolved tickets) and customers closing their own tickets are not asked: nobody
    could fill the fields there."""
    return actor is not None and is_staff_member(actor)


def refuse_tier_move(actor: User | None, ticket: Ticket, level: int) -> None:
    """Raise NotAllowed unless the actor may move the ticket to tier `level`: to tiers 1 to
    3 whoever asks, the system included (its rules: a rule putting tickets back into
    self-service would meet routing taking them out again, for ever)."""
    if actor is not None:
        refuse_unless_works_on(actor, ticket, _("move it to another tier"))
    if level not in MOVABLE_LEVELS:
        raise NotAllowed(
            _(
                "Tickets are moved to tiers 1 to 3; self-service (tier 0) is "
                "where new tickets start."
            ),
            code="tier_not_movable",
        )
