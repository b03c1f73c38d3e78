"""The team: each person's role (tickets.roles) and tiers, set by admins (any role) and
leads (agents and light agents: tickets.policy.roles_given_by)."""

from collections.abc import Iterable

from django.contrib.auth.models import Group, User
from django.db import transaction

from tickets import policy, roles
from tickets.errors import InvalidInput, NotAllowed
from tickets.models import AgentProfile, Tier


def team_member_update(
    *, member: User, role: str, tier_ids: Iterable[int], actor: User | None
) -> User:
    """Give `member` one role (their other role groups go) and these tiers."""
    if actor is not None and member.pk == actor.pk:
        raise InvalidInput("Ask another admin to change your own role.", code="own_role")
    if role not in roles.ROLES:
        raise InvalidInput("Choose a role.", code="invalid_role")
    if actor is not None:
        actor_role = roles.role_of(actor)
        allowed = policy.may_change_member(
            actor_role, roles.role_of(member), superuser=member.is_superuser
        ) and role in policy.roles_given_by(actor_role)
        if not allowed:
            raise NotAllowed(
                "Admins give any role; leads make agents and light agents of agents and "
                "light agents (and set their tiers).",
                code="role_not_allowed",
            )
    wanted = set(tier_ids)
    tiers = list(Tier.objects.filter(pk__in=wanted))
    if len(tiers) != len(wanted):
        raise InvalidInput("Choose tiers that exist.", code="invalid_tier")
    with transaction.atomic():
        groups = {g.name: g for g in Group.objects.filter(name__in=roles.ROLE_GROUPS.values())}
        others = [g for name, g in groups.items() if name != roles.ROLE_GROUPS[role]]
        member.groups.remove(*others)
        member.groups.add(groups[roles.ROLE_GROUPS[role]])
        if not member.is_staff:
            member.is_staff = True
            member.save(update_fields=["is_staff"])
        profile, _created = AgentProfile.objects.get_or_create(user=member)
        profile.tiers.set(tiers)
    roles.forget_role(member)
    return member
