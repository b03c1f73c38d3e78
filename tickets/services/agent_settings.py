"""An agent's own settings (My settings): availability, signatures per channel, which
notifications they get and how, time zone and language."""

import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from tickets.errors import InvalidInput, NotAllowed
from tickets.models import AgentProfile
from tickets.roles import is_admin
from tickets.services import notification_prefs
from tickets.services.signatures import SMS_SIGNATURE_MAX

CHAT_SIGNATURE_MAX = 200
SIGNATURE_MAX = 2000


@dataclass(frozen=True)
class AgentSettings:
    is_available: bool = True
    signature: str = ""  # email
    sms_signature: str = ""
    chat_signature: str = ""
    web_signature: str = ""
    email_notifications: bool = False
    notifications: Mapping[str, Mapping[str, bool]] = field(default_factory=dict)
    time_zone: str = ""
    language: str = ""


@cache
def time_zones() -> list[str]:
    return sorted(zoneinfo.available_timezones())


def languages() -> list[tuple[str, str]]:
    return [(code, str(name)) for code, name in settings.LANGUAGES]


def _refuse_unless_own(agent: User, actor: User) -> AgentProfile:
    if actor.pk != agent.pk and not is_admin(actor):
        raise NotAllowed(_("Agents change their own settings only."), code="not_yours")
    profile = AgentProfile.objects.select_for_update().filter(user=agent).first()
    if profile is None:
        raise InvalidInput(_("%(agent)s is not an agent.") % {"agent": agent}, code="not_an_agent")
    return profile


def _signature(value: str, limit: int, what: str) -> str:
    value = "\n".join(line.rstrip() for line in value.strip().splitlines())
    if len(value) > limit:
        raise InvalidInput(
            _("The %(what)s signature has %(count)s characters; at most %(limit)s.")
            % {"what": what, "count": len(value), "limit": limit},
            code="signature_too_long",
        )
    return value


def agent_settings_update(*, agent: User, data: AgentSettings, actor: User) -> AgentProfile:
    """Save the agent's settings (they or an admin); InvalidInput says what is wrong and
    nothing is saved."""
    if data.time_zone and data.time_zone not in time_zones():
        raise InvalidInput(
            _("Unknown time zone %(time_zone)r.") % {"time_zone": data.time_zone},
            code="invalid_time_zone",
        )
    if data.language and data.language not in dict(languages()):
        raise InvalidInput(
            _("Unknown language %(language)r.") % {"language": data.language},
            code="invalid_language",
        )
    values = {
        "is_available": data.is_available,
        "signature": _signature(data.signature, SIGNATURE_MAX, "email"),
        "sms_signature": " ".join(_signature(data.sms_signature, SMS_SIGNATURE_MAX, "SMS").split()),
        "chat_signature": _signature(data.chat_signature, CHAT_SIGNATURE_MAX, "chat"),
        "web_signature": _signature(data.web_signature, SIGNATURE_MAX, "web"),
        "email_notifications": data.email_notifications,
        "notification_settings": notification_prefs.cleaned(data.notifications),
        "time_zone": data.time_zone,
        "language": data.language,
    }
    with transaction.atomic():
        profile = _refuse_unless_own(agent, actor)
        for name, value in values.items():
            setattr(profile, name, value)
        profile.save(update_fields=list(values))
        notification_prefs.changed()
    return profile


def agent_set_availability(*, agent: User, available: bool, actor: User) -> AgentProfile:
    """Available or away: away agents get no automatic assignments and take no chats."""
    with transaction.atomic():
        profile = _refuse_unless_own(agent, actor)
        if profile.is_available != available:
            profile.is_available = available
            profile.save(update_fields=["is_available"])
    return profile
