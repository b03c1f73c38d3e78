"""Roles are Django groups: admins configure everything, agents work tickets.

Customers have no group and no staff flag: they use the portal, never the admin or the API.
"""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission

AGENTS_GROUP = "Agents"
ADMINS_GROUP = "Admins"
# Leads work tickets like agents and also read the reports.
LEADS_GROUP = "Leads"

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
    admins, _created = Group.objects.get_or_create(name=ADMINS_GROUP)
    admins.permissions.add(*Permission.objects.filter(content_type__app_label__in=_ADMIN_APPS))


def is_staff_member(user: AbstractBaseUser | AnonymousUser) -> bool:
    """An agent or an admin: someone who works tickets, as opposed to a customer."""
    if not user.is_authenticated or not user.is_active:
        return False
    if getattr(user, "is_superuser", False):
        return True
    if not getattr(user, "is_staff", False):
        return False
    return (
        hasattr(user, "agent_profile")
        or user.groups.filter(  # type: ignore[attr-defined]
            name__in=(AGENTS_GROUP, LEADS_GROUP, ADMINS_GROUP)
        ).exists()
    )


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


def edits_organizations(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Admins and leads edit organizations (domains, SLA plan, notes); agents read them."""
    return reads_reports(user)


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
