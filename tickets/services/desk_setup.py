"""What admins set and every inbound message (or agent page) reads, read once per process:
the tiers, the active SLA policies with their calendars, the customer notices and the
active macros.

They change seldom, yet reading them cost four statements a message, and building a
calendar with its public holidays most of a millisecond. As for the workspace's sidebar
(tickets/workspace/sidebar.py), a change moves a version number in the shared cache on
(model signals: the admin, the API and the shell all count), and a process checks that
version at most every HELPDESK_SETUP_CHECK_SECONDS, reading the rows again when it moved.
With a cache per process (the embedded default) a change made in another process shows
within SETUP_MAX_SECONDS.
"""

import copy
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_migrate, post_save

from tickets.errors import InvalidInput
from tickets.models import (
    BusinessCalendar,
    CustomerNotice,
    CustomHoliday,
    Macro,
    OpeningHours,
    SLAPolicy,
    Tier,
)
from tickets.services.sla_clocks import PolicyCache

logger = logging.getLogger(__name__)

_VERSION_KEY = "desk-setup:version"
# A safety net: the rows are read again after this long whatever the version says (a change
# the signals cannot see: another process's change with a cache per process, raw SQL).
SETUP_MAX_SECONDS = 60


@dataclass
class DeskSetup:
    tiers: dict[int, Tier]  # by level
    policies: PolicyCache
    notices: dict[str, CustomerNotice]  # the enabled ones, by kind
    macros: list[Macro]  # the active ones, by name, with the tier they move to

    def tier(self, level: int) -> Tier:
        """A copy: the caller may put it on tickets and change it without touching others'."""
        try:
            return copy.copy(self.tiers[level])
        except KeyError:
            raise InvalidInput(f"There is no tier {level}.", code="invalid_tier") from None

    def notice(self, kind: str) -> CustomerNotice | None:
        return self.notices.get(kind)


@dataclass
class _Held:
    setup: DeskSetup
    version: str | None
    read_at: float
    checked_at: float


_held: _Held | None = None
_reading = threading.Lock()


def current() -> DeskSetup:
    """The desk's set-up as this process last read it, read again if it changed."""
    global _held
    held, now = _held, time.monotonic()
    if held is not None and now - held.read_at < SETUP_MAX_SECONDS:
        if now - held.checked_at < settings.HELPDESK_SETUP_CHECK_SECONDS:
            return held.setup
        version = _version()
        if version is not None and version == held.version:
            held.checked_at = now
            return held.setup
    else:
        version = _version()
    with _reading:
        _held = _Held(_read(), version, now, now)
        return _held.setup


def _read() -> DeskSetup:
    return DeskSetup(
        tiers={tier.level: tier for tier in Tier.objects.all()},
        policies=PolicyCache(),
        notices={notice.kind: notice for notice in CustomerNotice.objects.filter(enabled=True)},
        macros=list(Macro.objects.filter(is_active=True).select_related("set_tier")),
    )


def _version() -> str | None:
    """The current version; None when the cache cannot say (then the rows are read)."""
    try:
        version = cache.get(_VERSION_KEY)
        if version is None:
            cache.add(_VERSION_KEY, uuid.uuid4().hex, None)
            version = cache.get(_VERSION_KEY)
        return str(version) if version is not None else None
    except Exception:
        logger.warning("could not read the desk set-up's version", exc_info=True)
        return None


def forget() -> None:
    """Read the set-up again at its next use (this process only)."""
    global _held
    _held = None


def setup_changed(**_: Any) -> None:
    """A signal receiver: every process reads the set-up again, this one now (for what reads
    within this transaction) and all once the change is committed."""
    forget()
    transaction.on_commit(_new_version, robust=True)


def _new_version() -> None:
    forget()
    try:
        cache.set(_VERSION_KEY, uuid.uuid4().hex, None)
    except Exception:  # the cache being down must not cost the change; SETUP_MAX_SECONDS
        logger.warning("could not move the desk set-up's version on", exc_info=True)


def _tier_saved(update_fields: frozenset[str] | None = None, **kwargs: Any) -> None:
    # Routing writes `last_assigned` for every ticket it assigns: not what is kept here.
    if update_fields is None or update_fields - {"last_assigned"}:
        setup_changed()


def connect_signals() -> None:
    post_save.connect(_tier_saved, sender=Tier, dispatch_uid="desk-setup-tier")
    post_delete.connect(setup_changed, sender=Tier, dispatch_uid="desk-setup-tier-delete")
    for model in (
        SLAPolicy,
        BusinessCalendar,
        OpeningHours,
        CustomHoliday,
        CustomerNotice,
        Macro,
    ):
        post_save.connect(setup_changed, sender=model, dispatch_uid=f"desk-setup-{model}")
        post_delete.connect(setup_changed, sender=model, dispatch_uid=f"desk-setup-del-{model}")
    # Data migrations write through historical models, which send no signals.
    post_migrate.connect(setup_changed, dispatch_uid="desk-setup-migrate")
