"""The agent workspace's sidebar: the queues, their counts, and the agent's own links.

Every agent page shows it. The tiers, the agent's tiers, their saved views and whether they
administer the desk change seldom, but were four queries on every page; they are kept in the
cache per agent (`AgentSetup`), built again after any change to what they are read from.
Such a change moves one version number on; an agent's entry remembers the version it was
built under and is used only while that is still current. The changes are caught by model
signals, so the admin, the API and the shell all count; with a shared cache (Redis), in
every process. In the embedded default each process has a cache of its own, so a change
made in another process (a shell, the worker) shows within SETUP_SECONDS.
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Subquery, Value
from django.db.models.functions import Coalesce
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save

from tickets import policy, queues, roles, saved_views, selectors
from tickets.models import (
    AgentProfile,
    ChatSession,
    ChatStatus,
    Notification,
    SavedView,
    Team,
    Tier,
)

logger = logging.getLogger(__name__)

_VERSION_KEY = "workspace:sidebar:version"
# Entries hold pickled AgentSetup values: a change to AgentSetup moves this on, so that
# code of another release never reads them.
_ENTRY_KEY = "workspace:sidebar:v4:{user_id}"
# A safety net: an entry is read again after this long even if no change was seen (see
# the module's docstring for what is not seen).
SETUP_SECONDS = 120


@dataclass(frozen=True)
class AgentSetup:
    tiers: list[Tier]
    my_tier_ids: frozenset[int]
    my_team_ids: frozenset[int]
    saved_views: list[SavedView]
    # Each saved view's queue and filters, read from its query string (its count's query).
    view_queries: dict[int, queues.QueueQuery]
    is_admin: bool
    reads_reports: bool
    role: str | None

    def may(self, capability: str) -> bool:
        return policy.may(self.role, capability)


def agent_setup(user: User) -> AgentSetup:
    """What the sidebar shows of the desk's set-up for `user`: from the cache when current."""
    key = _ENTRY_KEY.format(user_id=user.pk)
    try:
        found = cache.get_many([_VERSION_KEY, key])
        version = found.get(_VERSION_KEY)
        if version is None:
            version = uuid.uuid4().hex
            cache.add(_VERSION_KEY, version, None)
            version = cache.get(_VERSION_KEY, version)
    except Exception:  # the cache being down costs a few queries, not the page
        logger.warning("sidebar cache unavailable; reading the set-up", exc_info=True)
        return _read_setup(user)
    entry = found.get(key)
    if entry is not None and entry[0] == version:
        setup: AgentSetup = entry[1]
        return setup
    setup = _read_setup(user)
    try:
        cache.set(key, (version, setup), SETUP_SECONDS)
    except Exception:
        logger.warning("could not keep the sidebar's set-up", exc_info=True)
    return setup


def _read_setup(user: User) -> AgentSetup:
    from tickets.workspace.forms import QueueFilterForm

    role = roles.role_of(user)
    my_tier_ids = frozenset(selectors.agent_tier_ids(user))
    my_team_ids = frozenset(user.support_teams.values_list("pk", flat=True))
    views = saved_views.views_for(user, tier_ids=my_tier_ids, team_ids=my_team_ids, role=role)
    view_queries = {}
    for view in views:
        params = saved_views.view_params(view)
        form = QueueFilterForm(params)
        if form.is_valid():
            view_queries[view.pk] = form.to_query(params.get("view", "all"))
    return AgentSetup(
        tiers=list(selectors.tier_list(agents=False)),
        my_tier_ids=my_tier_ids,
        my_team_ids=my_team_ids,
        saved_views=views,
        view_queries=view_queries,
        is_admin=role == roles.ADMIN,
        reads_reports=policy.may(role, "reports"),
        role=role,
    )


def sidebar(
    user: User, *, now: datetime, also: dict[str, Subquery] | None = None
) -> dict[str, Any]:
    """The sidebar's template context.

    `also` are a page's own single-value lookups (name: subquery), read in the same query
    as the agent's counts and returned under "also", so that the page costs no query more."""
    setup = agent_setup(user)
    counted = saved_views.count_lookups(
        {f"view_{pk}": query for pk, query in setup.view_queries.items()},
        user=user,
        now=now,
        my_tier_ids=setup.my_tier_ids,
    )
    personal = _personal_counts(user, {**(also or {}), **counted})
    desk = queues.desk_counts_shared(now=now, latest_event=personal.pop("latest_event"))
    view_counts = {name: personal["also"].pop(name) for name in counted}
    return {
        "queue_views": queues.queue_views(setup.tiers),
        "counts": queues.queue_counts(
            user=user, tiers=setup.tiers, now=now, desk=desk, my_tier_ids=setup.my_tier_ids
        ),
        "saved_views": [
            (view, view_counts.get(f"view_{view.pk}"))
            for view in setup.saved_views
            if not view.is_shared
        ],
        "shared_views": [
            (view, view_counts.get(f"view_{view.pk}"))
            for view in setup.saved_views
            if view.is_shared
        ],
        "is_admin": setup.is_admin,
        "reads_reports": setup.reads_reports,
        "role": setup.role,
        "manages_rules": setup.may("rules"),
        "sees_team": setup.may("see_team"),
        "shares_views": setup.may("shared_views"),
        **personal,
    }


def _personal_counts(user: User, also: dict[str, Subquery]) -> dict[str, Any]:
    """The agent's unread notifications, the chats waiting in their tiers and the latest
    ticket event (whether the desk's shared counts still hold), and the page's `also`:
    one query."""
    unread = (
        Notification.objects.filter(user=user, read_at__isnull=True)
        .order_by()
        .values("user")
        .annotate(n=Count("*"))
        .values("n")
    )
    waiting = (
        ChatSession.objects.filter(status=ChatStatus.WAITING, tier__agents__user=user)
        .order_by()
        .annotate(one=Value(1))
        .values("one")
        .annotate(n=Count("*"))
        .values("n")
    )
    row = (
        User.objects.filter(pk=user.pk)
        .annotate(
            unread=Coalesce(Subquery(unread), 0),
            chats_waiting=Coalesce(Subquery(waiting), 0),
            latest_event=Coalesce(Subquery(queues.latest_event_query()), 0),
            **also,
        )
        .values("unread", "chats_waiting", "latest_event", *also)
        .get()
    )
    return {
        "unread": int(row["unread"]),
        "chats_waiting": int(row["chats_waiting"]),
        "latest_event": int(row["latest_event"]),
        "also": {name: row[name] for name in also},
    }


def setup_changed(**_: Any) -> None:
    """A signal receiver: every agent's set-up is read again, now (for what reads within
    this transaction) and once the change is committed (a page built in between may have
    read the rows as they were)."""
    _new_version()
    transaction.on_commit(_new_version, robust=True)


def _new_version() -> None:
    try:
        cache.set(_VERSION_KEY, uuid.uuid4().hex, None)
    except Exception:  # the cache being down must not cost the change; entries expire
        logger.warning("could not move the sidebar's version on", exc_info=True)


def _saved(*, shown: frozenset[str], update_fields: frozenset[str] | None, **kwargs: Any) -> None:
    """A save of a row, unless only fields the sidebar does not show were written."""
    if update_fields is None or update_fields & shown:
        setup_changed()


def _tier_saved(update_fields: frozenset[str] | None = None, **kwargs: Any) -> None:
    # Routing writes `last_assigned` for every ticket it assigns.
    _saved(shown=frozenset({"level", "name"}), update_fields=update_fields)


def _user_saved(
    created: bool = False, update_fields: frozenset[str] | None = None, **kwargs: Any
) -> None:
    if created:
        return  # in no group yet, and no one's sidebar shows them (customers sign up too)
    _saved(shown=frozenset({"is_staff", "is_superuser", "is_active"}), update_fields=update_fields)


def _link_changed(action: str = "", **kwargs: Any) -> None:
    if action.startswith("post_"):
        setup_changed()


def connect_signals() -> None:
    """What the set-up is read from. An agent profile's own fields are not shown (its tiers
    are a link, below); deleting a tier, group, user or profile removes their links without
    a link signal, so their deletion counts."""
    post_save.connect(_tier_saved, sender=Tier, dispatch_uid="sidebar-tier")
    post_save.connect(setup_changed, sender=SavedView, dispatch_uid="sidebar-view")
    post_save.connect(setup_changed, sender=Group, dispatch_uid="sidebar-group")
    post_save.connect(_user_saved, sender=User, dispatch_uid="sidebar-user")
    post_save.connect(setup_changed, sender=Team, dispatch_uid="sidebar-team")
    for model in (Tier, SavedView, Group, User, AgentProfile, Team):
        post_delete.connect(setup_changed, sender=model, dispatch_uid=f"sidebar-delete-{model}")
    for through in (AgentProfile.tiers.through, User.groups.through, Team.members.through):
        m2m_changed.connect(_link_changed, sender=through, dispatch_uid=f"sidebar-link-{through}")
    # Data migrations write through historical models, which send no signals.
    post_migrate.connect(setup_changed, dispatch_uid="sidebar-migrate")
