"""The team: each person's role (tickets.roles) and tiers, set by admins (any role) and
leads (agents and light agents: tickets.policy.roles_given_by); and the teams (groups of
colleagues across tiers, that views are shared with), made by admins and leads."""

from collections.abc import Iterable

from django.contrib.auth.models import Group, User
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from tickets import policy, roles
from tickets.errors import Conflict, InvalidInput, NotAllowed
from tickets.models import AgentProfile, SavedView, Team, Tier, ViewSharing


def team_member_update(
    *, member: User, role: str, tier_ids: Iterable[int], actor: User | None
) -> User:
    """Give `member` one role (their other role groups go) and these tiers."""
    if actor is not None and member.pk == actor.pk:
        raise InvalidInput(_("Ask another admin to change your own role."), code="own_role")
    if role not in roles.ROLES:
        raise InvalidInput(_("Choose a role."), code="invalid_role")
    if actor is not None:
        actor_role = roles.role_of(actor)
        allowed = policy.may_change_member(
            actor_role, roles.role_of(member), superuser=member.is_superuser
        ) and role in policy.roles_given_by(actor_role)
        if not allowed:
            raise NotAllowed(
                _(
                    "Admins give any role; leads make agents and light agents of "
                    "agents and light agents (and set their tiers)."
                ),
                code="role_not_allowed",
            )
    wanted = set(tier_ids)
    tiers = list(Tier.objects.filter(pk__in=wanted))
    if len(tiers) != len(wanted):
        raise InvalidInput(_("Choose tiers that exist."), code="invalid_tier")
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


def team_save(
    *, team: Team | None, name: str, member_ids: Iterable[int], actor: User | None
) -> Team:
    """Make a team (team None) or rename it, and give it these members (people on staff)."""
    if actor is not None:
        policy.refuse_unless_may(actor, "teams", _("manage teams"))
    name = " ".join(name.split())
    if not name or len(name) > 80 or "\x00" in name:  # PostgreSQL stores no NUL character
        raise InvalidInput(_("Give the team a name (up to 80 characters)."), code="invalid_team")
    wanted = set(member_ids)
    members = list(User.objects.filter(pk__in=wanted, is_staff=True, is_active=True))
    if len(members) != len(wanted):
        raise InvalidInput(_("Choose members among the people on staff."), code="invalid_member")
    team = team or Team()
    team.name = name
    try:
        with transaction.atomic():
            team.save()
            team.members.set(members)
    except IntegrityError as error:
        raise Conflict(
            _("There is already a team called “%(name)s”; choose another name.") % {"name": name},
            code="team_name",
        ) from error
    return team


def team_delete(*, team: Team, actor: User | None) -> None:
    """Remove a team. The views shared with it are kept, as their owners' own views (a
    lead shares them again with whom they choose)."""
    if actor is not None:
        policy.refuse_unless_may(actor, "teams", _("manage teams"))
    with transaction.atomic():
        SavedView.objects.filter(team=team).update(sharing=ViewSharing.PERSONAL, team=None)
        team.delete()
