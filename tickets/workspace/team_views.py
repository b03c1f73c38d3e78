"""The team page: every person on staff with their role, tiers and teams; admins change
anyone's role and tiers, leads those of agents and light agents. Below, the teams (groups
of colleagues across tiers that views are shared with), which admins and leads make."""

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from tickets import policy, roles
from tickets.errors import DomainError
from tickets.ids import id_from
from tickets.models import Team, Tier
from tickets.services.team import team_delete, team_member_update, team_save
from tickets.workspace import sidebar
from tickets.workspace.access import agent_required


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _members(viewer: User, viewer_role: str | None) -> list[dict[str, object]]:
    """Everyone on staff, with their role and tiers and whether the viewer may change them:
    three queries whatever their number."""
    people = (
        User.objects.filter(is_staff=True, is_active=True)
        .prefetch_related(
            "groups",
            Prefetch(
                "agent_profile__tiers", queryset=Tier.objects.order_by("level"), to_attr="tier_list"
            ),
        )
        .order_by("username")
    )
    members = []
    for person in people:
        names = {group.name for group in person.groups.all()}
        role = (
            roles.ADMIN
            if person.is_superuser
            else next((r for r in roles.ROLES if roles.ROLE_GROUPS[r] in names), None)
        )
        profile = getattr(person, "agent_profile", None)
        if role is None and profile is None:
            continue  # staff with no role (a service account): not on the team
        tiers = profile.tier_list if profile is not None else []
        members.append(
            {
                "person": person,
                "role": role or roles.AGENT,
                "role_label": _(roles.ROLE_LABELS[role or roles.AGENT]),
                "tier_ids": {tier.pk for tier in tiers},
                "tiers": tiers,
                "changeable": person.pk != viewer.pk
                and policy.may_change_member(viewer_role, role, superuser=person.is_superuser),
            }
        )
    return members


@agent_required
@require_safe
def team(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    setup = sidebar.agent_setup(user)
    if not setup.may("see_team"):
        raise PermissionDenied(_("The team page is for admins and leads."))
    members = _members(user, roles.role_of(user))
    teams = list(Team.objects.prefetch_related("members"))
    team_names: dict[int, list[str]] = {}
    for group in teams:
        group.member_ids = {person.pk for person in group.members.all()}  # type: ignore[attr-defined]
        for person in group.members.all():
            team_names.setdefault(person.pk, []).append(group.name)
    for member in members:
        who = member["person"]
        assert isinstance(who, User)
        member["teams"] = team_names.get(who.pk, [])
    context = {
        **sidebar.sidebar(user, now=timezone.now()),
        "view": "team",
        "members": members,
        "teams": teams,
        "manages_teams": setup.may("teams"),
        "all_tiers": Tier.objects.order_by("level"),
        "role_choices": [
            (r, _(roles.ROLE_LABELS[r])) for r in policy.roles_given_by(roles.role_of(user))
        ],
        "may_change": bool(policy.roles_given_by(roles.role_of(user))),
    }
    return render(request, "agent/team.html", context)


@agent_required
@require_POST
def team_member(request: HttpRequest, user_id: int) -> HttpResponse:
    """An admin or a lead gives a person a role and tiers (the service checks who may)."""
    member = get_object_or_404(User, pk=user_id, is_staff=True)
    tier_ids = _posted_ids(request, "tiers")

    def save() -> str:
        team_member_update(
            member=member,
            role=request.POST.get("role", ""),
            tier_ids=tier_ids,
            actor=_user(request),
        )
        return _("%(name)s saved.") % {"name": member.get_full_name() or member.username}

    _change(request, save)
    return redirect("agent:team")


def _change(request: HttpRequest, change: Callable[[], str]) -> None:
    """Make a change to the team, saying what was done; a role that may not make it gets
    403, other refusals are said on the page."""
    try:
        done = change()
    except DomainError as refused:
        if refused.code == "role_not_allowed":
            raise PermissionDenied(refused.message) from refused
        messages.error(request, refused.message)
    else:
        messages.success(request, done)


def _posted_ids(request: HttpRequest, name: str) -> list[int]:
    """The ids posted under `name`; one that is no id (tickets.ids) reads as 0, which no row
    has, so the service refuses the choice as it does an unknown id."""
    return [id_from(v) or 0 for v in request.POST.getlist(name)]


def _team_saved(request: HttpRequest, team: Team | None) -> HttpResponse:
    def save() -> str:
        saved = team_save(
            team=team,
            name=request.POST.get("name", ""),
            member_ids=_posted_ids(request, "members"),
            actor=_user(request),
        )
        return _("Team “%(name)s” saved.") % {"name": saved.name}

    _change(request, save)
    return redirect(f"{reverse('agent:team')}#teams")


@agent_required
@require_POST
def team_new(request: HttpRequest) -> HttpResponse:
    return _team_saved(request, None)


@agent_required
@require_POST
def team_edit(request: HttpRequest, team_id: int) -> HttpResponse:
    return _team_saved(request, get_object_or_404(Team, pk=team_id))


@agent_required
@require_POST
def team_remove(request: HttpRequest, team_id: int) -> HttpResponse:
    team = get_object_or_404(Team, pk=team_id)

    def remove() -> str:
        team_delete(team=team, actor=_user(request))
        return _("Team “%(name)s” removed; its views are their owners' again.") % {
            "name": team.name
        }

    _change(request, remove)
    return redirect(f"{reverse('agent:team')}#teams")
