"""Who gets which notification, and how: the one place that decides.

Each agent chooses, per kind of news, whether it shows in the workspace ("app": unread,
pushed live) and whether it is emailed ("email", under the profile's master switch
`email_notifications`). Kinds not listed follow "other". The choices that differ from the
defaults are kept per process (helpdesk.kept), so notifying asks the database nothing more.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models.signals import post_delete
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from helpdesk.kept import KeptPerProcess
from tickets.errors import InvalidInput
from tickets.models import AgentProfile

# The kinds an agent chooses for, as the settings page names them; the notification kinds
# the services write map onto them (KIND_OF).
# Labels shown on My settings, in the agent's language.
KINDS: dict[str, str | Promise] = {
    "assignment": _("A ticket is assigned to me"),
    "mention": _("Someone mentions me in a note"),
    "escalation": _("A ticket is escalated to one of my tiers"),
    "sla": _("An SLA warning or breach"),
    "customer_message": _("A customer writes on one of my tickets"),
    "other": _("Everything else (chats passed to me, rules, problems)"),
}
KIND_OF = {
    "assigned": "assignment",
    "mention": "mention",
    "mentioned": "mention",
    "escalated": "escalation",
    "sla": "sla",
    "customer_message": "customer_message",
}
MEDIA = ("app", "email")
# What an agent gets until they choose (email only under the profile's master switch).
DEFAULTS: dict[str, dict[str, bool]] = {kind: {"app": True, "email": True} for kind in KINDS}

Prefs = dict[str, dict[str, bool]]


def _read() -> dict[int, Prefs]:
    rows = AgentProfile.objects.exclude(notification_settings={}).values_list(
        "user_id", "notification_settings"
    )
    return {user_id: prefs for user_id, prefs in rows if prefs}


_kept = KeptPerProcess("notification-prefs", _read, max_seconds=60)


def changed(**_signal: Any) -> None:
    _kept.changed()


def forget() -> None:
    _kept.forget()


def connect_signals() -> None:
    post_delete.connect(changed, sender=AgentProfile, dispatch_uid="notification-prefs-del")


def group_of(kind: str) -> str:
    return KIND_OF.get(kind, "other")


def prefs_of(user_id: int) -> Prefs:
    """The agent's choice for every kind, defaults filled in."""
    own = _kept.current().get(user_id, {})
    return {
        kind: {
            medium: bool(own.get(kind, {}).get(medium, default)) for medium, default in d.items()
        }
        for kind, d in DEFAULTS.items()
    }


def wants(user_id: int, kind: str, medium: str) -> bool:
    """Whether the agent wants news of this notification kind by this medium."""
    own = _kept.current().get(user_id)
    group = group_of(kind)
    if not own or group not in own:
        return DEFAULTS[group][medium]
    return bool(own[group].get(medium, DEFAULTS[group][medium]))


def recipients(user_ids: Iterable[int], kind: str) -> tuple[list[int], set[int]]:
    """Of these agents, who gets a notification of this kind at all (sorted), and which of
    them not in the workspace (only by email: stored read, not pushed)."""
    chosen: list[int] = []
    email_only: set[int] = set()
    for user_id in sorted(set(user_ids)):
        in_app = wants(user_id, kind, "app")
        if in_app or wants(user_id, kind, "email"):
            chosen.append(user_id)
            if not in_app:
                email_only.add(user_id)
    return chosen, email_only


def cleaned(data: Mapping[str, Mapping[str, Any]]) -> Prefs:
    """What an agent chose, kept only where it differs from the defaults."""
    result: Prefs = {}
    for kind, media in data.items():
        if kind not in KINDS:
            raise InvalidInput(
                gettext("Unknown notification kind %(kind)r.") % {"kind": kind}, code="invalid_kind"
            )
        for medium, value in media.items():
            if medium not in MEDIA:
                raise InvalidInput(
                    gettext("Unknown medium %(medium)r.") % {"medium": medium},
                    code="invalid_medium",
                )
            if bool(value) != DEFAULTS[kind][medium]:
                result.setdefault(kind, {})[medium] = bool(value)
    return result
