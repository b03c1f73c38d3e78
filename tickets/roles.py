"""Roles are Django groups: admins configure everything, leads run the team, agents work
tickets, light agents read them and write internal notes (README, "Roles").

Customers have no group and no staff flag: they use the portal, never the admin or the API.
What each role may do is tickets.policy's to say; this module says who has which role.
"""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission, User
from django.db.models import QuerySet
from django.utils.translation import gettext_noop

AGENTS_GROUP = "Agents"
ADMINS_GROUP = "Admins"
# Leads work tickets like agents and also read the reports.
LEADS_GROUP = "Leads"
# Light agents read tickets and write internal notes; they change nothing else.
LIGHT_AGENTS_GROUP = "Light agents"

ADMIN, LEAD, AGENT, LIGHT_AGENT = "admin", "lead", "agent", "light_agent"
ROLES = (ADMIN, LEAD, AGENT, LIGHT_AGENT)
# Marked for translation but kept in English here (tickets.policy builds sentences from
# them); the team page shows them translated.
ROLE_LABELS = {
    ADMIN: gettext_noop("Admin"),
    LEAD: gettext_noop("Lead"),
    AGENT: gettext_noop("Agent"),
    LIGHT_AGENT: gettext_noop("Light agent"),
}
ROLE_GROUPS = {
    ADMIN: ADMINS_GROUP,
    LEAD: LEADS_GROUP,
    AGENT: AGENTS_GROUP,
    LIGHT_AGENT: LIGHT_AGENTS_GROUP,
}

# Agents work tickets and customers; they read, but do not configure, tiers.
_AGENT_PERMISSIONS = {
    "tickets": {
        "ticket": ("view", "change", "add"),
        "message": ("view", "add"),
        "attachment": ("view", "add"),
        "ticketevent": ("view",),
        "customer": ("view", "change", "add"),
        "contactpoint": ("view", "change", "add"),
        "organization": ("view",),
        "tier": ("view",),
        "agentprofile": ("view",),
    },
    # Agents write and publish knowledge-base articles.
    "knowledge": {
        "category": ("view",),
        "article": ("view", "add", "change"),
        "articlerevision": ("view",),
    },
}
# Leads also manage the rules (triggers, automations) and the canned responses.
_LEAD_PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "tickets": {
        "trigger": ("view", "add", "change", "delete"),
        "automation": ("view", "add", "change", "delete"),
        "macro": ("view", "add", "change", "delete"),
        # Custom ticket fields and the forms that group them (tickets.fields).
        "ticketfield": ("view", "add", "change", "delete"),
        "fieldchoice": ("view", "add", "change", "delete"),
        "ticketform": ("view", "add", "change", "delete"),
        "ticketformfield": ("view", "add", "change", "delete"),
    },
}
# Light agents read what agents read, and write internal notes (through the workspace).
_LIGHT_AGENT_PERMISSIONS = {
    app: {model: tuple(a for a in actions if a == "view") for model, actions in models.items()}
    for app, models in _AGENT_PERMISSIONS.items()
}
# Admins also read the sign-in records and release lockouts (axes).
_ADMIN_APPS = (
    "tickets", "knowledge", "channels_ingest", "auth", "authtoken", "django_celery_beat", "axes",
)  # fmt: skip


def _permissions_for(spec: dict[str, dict[str, tuple[str, ...]]]) -> list[Permission]:
    codenames = [
        f"{action}_{model}"
        for models in spec.values()
        for model, actions in models.items()
        for action in actions
    ]
    return list(
        Permission.objects.filter(content_type__app_label__in=spec.keys(), codename__in=codenames)
    )


def ensure_role_groups(**_: Any) -> None:
    agents, _created = Group.objects.get_or_create(name=AGENTS_GROUP)
    agents.permissions.add(*_permissions_for(_AGENT_PERMISSIONS))
    leads, _created = Group.objects.get_or_create(name=LEADS_GROUP)
    leads.permissions.add(*_permissions_for(_AGENT_PERMISSIONS))
    leads.permissions.add(*_permissions_for(_LEAD_PERMISSIONS))
    light, _created = Group.objects.get_or_create(name=LIGHT_AGENTS_GROUP)
    light.permissions.add(*_permissions_for(_LIGHT_AGENT_PERMISSIONS))
    admins, _created = Group.objects.get_or_create(name=ADMINS_GROUP)
    admins.permissions.add(*Permission.objects.filter(content_type__app_label__in=_ADMIN_APPS))


def is_staff_member(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Someone on staff who works with tickets (any role), as opposed to a customer."""
    if not user.is_authenticated or not user.is_active:
        return False
    if getattr(user, "is_superuser", False):
        return True
    if not getattr(user, "is_staff", False):
        return False
    return (
        hasattr(user, "agent_profile")
        or user.groups.filter(  # type: ignore[attr-defined]
            name__in=(AGENTS_GROUP, LEADS_GROUP, ADMINS_GROUP, LIGHT_AGENTS_GROUP)
        ).exists()
    )


# Where role_of keeps a user's role on the user object (one query per request at most).
_ROLE_ATTR = "_helpdesk_role"


def role_of(user: AbstractBaseUser | AnonymousUser | None) -> str | None:
    """The person's role (ADMIN, LEAD, AGENT or LIGHT_AGENT), None for customers and the
    signed-out. The strongest group wins; staff with an agent profile and no group are
    agents (as is_staff_member has it). Kept on the user object once read."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if _ROLE_ATTR in user.__dict__:
        return user.__dict__[_ROLE_ATTR]
    role: str | None = None
    if getattr(user, "is_superuser", False):
        role = ADMIN
    elif getattr(user, "is_staff", False):
        names = set(user.groups.values_list("name", flat=True))  # type: ignore[attr-defined]
        role = next((r for r in ROLES if ROLE_GROUPS[r] in names), None)
        if role is None and hasattr(user, "agent_profile"):
            role = AGENT
    user.__dict__[_ROLE_ATTR] = role
    return role


def light_agents() -> QuerySet[User, int]:
    """The users whose role is light agent (as role_of reads it: on staff, in the Light
    agents group and in no stronger one, not superusers), as a query to filter with: whom no
    ticket is given to work."""
    stronger = [ROLE_GROUPS[role] for role in ROLES if role != LIGHT_AGENT]
    return (
        User.objects.filter(is_staff=True, is_superuser=False, groups__name=LIGHT_AGENTS_GROUP)
        .exclude(groups__name__in=stronger)
        .values_list("pk", flat=True)
    )


def forget_role(user: AbstractBaseUser) -> None:
    """After a change of the user's groups: read the role again next time."""
    user.__dict__.pop(_ROLE_ATTR, None)


def is_admin(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Someone who configures the help desk (and reads its reports)."""
    if not user.is_authenticated or not user.is_active:
        return False
    if getattr(user, "is_superuser", False):
        return True
    return (
        bool(getattr(user, "is_staff", False))
        and user.groups.filter(  # type: ignore[attr-defined]
            name=ADMINS_GROUP
        ).exists()
    )


def handles_personal_data(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Admins export and erase a customer's data (tickets.privacy); leads and agents do not."""
    return is_admin(user)


def reads_reports(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Admins and leads read the reports."""
    if is_admin(user):
        return True
    return is_staff_member(user) and (
        user.groups.filter(name=LEADS_GROUP).exists()  # type: ignore[union-attr]
    )


def is_lead_or_admin(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Admins and leads: who run the team (shared views, rules, macros, reports)."""
    return role_of(user) in (ADMIN, LEAD)


def edits_organizations(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Admins and leads edit organizations (domains, SLA plan, notes); agents read them."""
    return is_lead_or_admin(user)


def admin_ids() -> list[int]:
    """The active admins' user ids (the Admins group and superusers): whom the desk tells
    about its own trouble (a rule stopped, a webhook switched off)."""
    from django.contrib.auth.models import User
    from django.db.models import Q

    admins = User.objects.filter(Q(groups__name=ADMINS_GROUP) | Q(is_superuser=True))
    return list(admins.filter(is_active=True).values_list("pk", flat=True).distinct())


def lead_and_admin_ids() -> list[int]:
    """The active leads' and admins' user ids: whom the desk tells of trouble beyond one
    ticket (monitoring opened a problem)."""
    from django.contrib.auth.models import User

    leads = User.objects.filter(groups__name=LEADS_GROUP, is_active=True, is_staff=True)
    return sorted({*admin_ids(), *leads.values_list("pk", flat=True)})
