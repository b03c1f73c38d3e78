"""How the banner and the status page word a known issue: whom it affects, and times as
customers are told them (tickets.services.notices.promised_time)."""

from datetime import datetime
from typing import Protocol

from django import template

from tickets.services.notices import promised_time

register = template.Library()


class _Scoped(Protocol):
    @property
    def product_names(self) -> tuple[str, ...]: ...

    @property
    def regions(self) -> tuple[str, ...]: ...


@register.filter
def promised(moment: datetime | None) -> str:
    return promised_time(moment) if moment is not None else ""


@register.filter
def affected(issue: _Scoped) -> str:
    """ "Fibre, TV in Leeds, North"; "Fibre (everywhere)"; "All services in Leeds"."""
    products = ", ".join(issue.product_names)
    regions = ", ".join(issue.regions)
    if products and regions:
        return f"{products} in {regions}"
    if products:
        return f"{products} (everywhere)"
    if regions:
        return f"All services in {regions}"
    return "All customers"
