"""Saved views, written: personal views by their owners, shared ones by admins and leads."""

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from tickets import policy
from tickets.errors import Conflict, InvalidInput, NotAllowed
from tickets.models import SavedView, Team, Tier, ViewSharing
from tickets.saved_views import available_columns, column_for, may_edit, parse_sort


def saved_view_save(
    *,
    view: SavedView | None,
    name: str,
    query: str,
    actor: User,
    sharing: str = ViewSharing.PERSONAL,
    tier: Tier | None = None,
    team: Team | None = None,
    columns: list[str] | None = None,
    sort: str = "",
) -> SavedView:
    """Create (view None) or change a view. `query` is the queue page's filters as a query
    string (validated by the caller's form); `columns`, column keys in order
    (saved_views.column_for)."""
    name = name.strip()
    if not name or len(name) > 80:
        raise InvalidInput(_("Give the view a name (up to 80 characters)."), code="invalid_view")
    if sharing not in ViewSharing.values:
        raise InvalidInput(_("Choose who sees the view."), code="invalid_view")
    if sharing == ViewSharing.TIER and tier is None:
        raise InvalidInput(_("Choose the tier to share the view with."), code="invalid_view")
    if sharing == ViewSharing.TEAM and team is None:
        raise InvalidInput(_("Choose the team to share the view with."), code="invalid_view")
    if sharing != ViewSharing.PERSONAL:
        policy.refuse_unless_may(actor, "shared_views", _("share views"))
    else:
        policy.refuse_unless_may(actor, "personal_views", _("keep views"))
    if view is not None and not may_edit(view, actor):
        raise NotAllowed(_("Only admins and leads change shared views."), code="role_not_allowed")
    unknown = [key for key in columns or [] if column_for(key) is None]
    if unknown:
        raise InvalidInput(
            _("Unknown column %(column)r.") % {"column": unknown[0]}, code="invalid_view"
        )
    shown = list(dict.fromkeys(columns or []))
    if sort and parse_sort(sort, shown or available_columns()) is None:
        raise InvalidInput(_("Sort by one of the shown columns."), code="invalid_view")
    if view is None:
        view = SavedView(owner=actor)
    view.name, view.query, view.sharing = name, query[:1000], sharing
    view.tier = tier if sharing == ViewSharing.TIER else None
    view.team = team if sharing == ViewSharing.TEAM else None
    view.columns, view.sort = ",".join(shown), sort
    try:
        with transaction.atomic():
            view.save()
    except IntegrityError as error:
        raise Conflict(
            _("You already have a view called “%(name)s”; choose another name.") % {"name": name},
            code="view_name",
        ) from error
    return view


def saved_view_delete(*, view: SavedView, actor: User) -> None:
    if not may_edit(view, actor):
        raise NotAllowed(_("Only admins and leads delete shared views."), code="role_not_allowed")
    view.delete()
