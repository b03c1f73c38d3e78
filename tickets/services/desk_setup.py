"""What admins set and every inbound message (or page) reads, read once per process:
the tiers, the active SLA policies with their calendars (and the organizations whose plan
each is), the customer notices, the active macros, the organizations' domains and the brand
(tickets.branding; its signals are connected there).

They change seldom, yet reading them cost four statements a message, and building a
calendar with its public holidays most of a millisecond. They are kept per process
(helpdesk.kept) and read again after a change, caught by model signals: the admin, the
API and the shell all count.
"""

import copy
from dataclasses import dataclass
from typing import Any

from django.db.models.signals import post_delete, post_migrate, post_save
from django.utils.translation import gettext as _

from helpdesk.kept import KeptPerProcess
from tickets.branding import Look, read_look
from tickets.errors import InvalidInput
from tickets.models import (
    BusinessCalendar,
    CustomerNotice,
    CustomerNoticeTranslation,
    CustomHoliday,
    Macro,
    OpeningHours,
    Organization,
    OrganizationDomain,
    SLAPolicy,
    Tier,
)
from tickets.services.sla_clocks import PolicyCache

# A safety net: the rows are read again after this long whatever the version says (a change
# the signals cannot see: another process's change with a cache per process, raw SQL).
SETUP_MAX_SECONDS = 60


@dataclass
class DeskSetup:
    tiers: dict[int, Tier]  # by level
    policies: PolicyCache
    notices: dict[str, CustomerNotice]  # the enabled ones, by kind
    macros: list[Macro]  # the active ones, by name, with the tier they move to
    domains: dict[str, int]  # organizations' email domains: the organization's id
    brand: Look

    def tier(self, level: int) -> Tier:
        """A copy: the caller may put it on tickets and change it without touching others'."""
        try:
            return copy.copy(self.tiers[level])
        except KeyError:
            raise InvalidInput(
                _("There is no tier %(level)s.") % {"level": level}, code="invalid_tier"
            ) from None

    def notice(self, kind: str) -> CustomerNotice | None:
        return self.notices.get(kind)


_kept = KeptPerProcess("desk-setup", lambda: _read(), max_seconds=SETUP_MAX_SECONDS)


def current() -> DeskSetup:
    """The desk's set-up as this process last read it, read again if it changed."""
    return _kept.current()


def forget() -> None:
    """Read the set-up again at its next use (this process only)."""
    _kept.forget()


def setup_changed(**kwargs: Any) -> None:
    """A signal receiver: every process reads the set-up again."""
    _kept.changed(**kwargs)


def _read() -> DeskSetup:
    return DeskSetup(
        tiers={tier.level: tier for tier in Tier.objects.all()},
        policies=PolicyCache(),
        notices={
            notice.kind: notice
            for notice in CustomerNotice.objects.filter(enabled=True).prefetch_related(
                "translations"
            )
        },
        macros=list(Macro.objects.filter(is_active=True).select_related("set_tier")),
        domains=dict(OrganizationDomain.objects.values_list("domain", "organization_id")),
        brand=read_look(),
    )


def _tier_saved(update_fields: frozenset[str] | None = None, **kwargs: Any) -> None:
    # Routing writes `last_assigned` for every ticket it assigns: not what is kept here.
    if update_fields is None or update_fields - {"last_assigned"}:
        setup_changed()


def _organization_saved(update_fields: frozenset[str] | None = None, **kwargs: Any) -> None:
    # The policies are kept with the organizations whose plan each is.
    if update_fields is None or "sla_policy" in update_fields:
        setup_changed()


def connect_signals() -> None:
    post_save.connect(_tier_saved, sender=Tier, dispatch_uid="desk-setup-tier")
    post_save.connect(_organization_saved, sender=Organization, dispatch_uid="desk-setup-org")
    post_delete.connect(setup_changed, sender=Organization, dispatch_uid="desk-setup-org-delete")
    post_delete.connect(setup_changed, sender=Tier, dispatch_uid="desk-setup-tier-delete")
    for model in (
        SLAPolicy,
        BusinessCalendar,
        OpeningHours,
        CustomHoliday,
        CustomerNotice,
        CustomerNoticeTranslation,
        Macro,
        OrganizationDomain,
    ):
        post_save.connect(setup_changed, sender=model, dispatch_uid=f"desk-setup-{model}")
        post_delete.connect(setup_changed, sender=model, dispatch_uid=f"desk-setup-del-{model}")
    # Data migrations write through historical models, which send no signals.
    post_migrate.connect(setup_changed, dispatch_uid="desk-setup-migrate")
