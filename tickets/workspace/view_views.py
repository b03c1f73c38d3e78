"""Saved views in the workspace: a view's page (its columns, sorted by any of them, keyset
pages), and its editor (name, who sees it, queue, filters, columns, sort)."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from tickets import queues, saved_views
from tickets.errors import DomainError
from tickets.models import SavedView
from tickets.problems.selectors import open_problems_to_link
from tickets.services.saved_views import saved_view_delete, saved_view_save
from tickets.workspace import sidebar
from tickets.workspace.access import agent_required
from tickets.workspace.forms import QueueFilterForm, ViewEditForm


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _visible_view(request: HttpRequest, view_id: int) -> SavedView:
    view = get_object_or_404(SavedView.objects.select_related("tier", "team"), pk=view_id)
    user = _user(request)
    setup = sidebar.agent_setup(user)
    visible = saved_views.view_visible(
        view, user, tier_ids=setup.my_tier_ids, team_ids=setup.my_team_ids, role=setup.role
    )
    if not visible:
        raise Http404("No such view.")
    return view


def column_headers(
    columns: list[str], sort: tuple[str, bool] | None, base: str = ""
) -> list[dict[str, Any]]:
    """Each shown column's header: its label, the link that sorts by it (the other way
    round when it is the current sort; `base`, the page's other parameters, kept) and its
    aria-sort."""
    headers = []
    for key in columns:
        column = saved_views.column_for(key)
        if column is None:
            continue
        current = sort is not None and sort[0] == key
        descending = current and sort is not None and sort[1]
        flip = "-" if current and not descending else ""
        headers.append(
            {
                "key": key,
                "label": column.label,
                "href": f"?{base}{'&' if base else ''}sort={flip}{key}",
                "aria_sort": ("descending" if descending else "ascending") if current else "none",
            }
        )
    return headers


@agent_required
@require_http_methods(["GET"])
def view_page(request: HttpRequest, view_id: int) -> HttpResponse:
    """The view's tickets, in its columns; ?sort=<column> or -<column> sorts by a shown
    column (its header's link), ?after= pages on."""
    view = _visible_view(request, view_id)
    user = _user(request)
    setup = sidebar.agent_setup(user)
    params = saved_views.view_params(view)
    filters = QueueFilterForm(params)
    columns = saved_views.parse_columns(view.columns)
    chosen = request.GET.get("sort", view.sort)
    sort = saved_views.parse_sort(chosen, columns) if chosen else None
    tickets = (
        saved_views.view_tickets(
            view,
            filters.to_query(params.get("view", "all")),
            user=user,
            now=timezone.now(),
            my_tier_ids=setup.my_tier_ids,
            sort=sort,
        )
        if filters.is_valid()
        else None
    )
    if tickets is None:
        messages.error(request, _("This view's filters no longer make sense; edit the view."))
        page: Any = None
    else:
        try:
            cursor = request.GET.get("after", "")
            if sort is None:
                page = queues.queue_page(
                    tickets, sort=filters.cleaned_data["sort"] or "due", cursor=cursor
                )
            else:
                page = saved_views.column_page(tickets, sort=sort, cursor=cursor)
        except (queues.BadCursor, saved_views.BadCursor):
            messages.error(
                request, _("That page link is not valid any more; here is the first page.")
            )
            return redirect("agent:saved-view", view_id=view.pk)
        saved_views.attach_field_values(page.tickets, columns)
    sort_param = f"sort={'-' if sort and sort[1] else ''}{sort[0]}" if sort else ""
    editable = saved_views.may_edit(view, user, role=setup.role)
    context = {
        **sidebar.sidebar(user, now=timezone.now()),
        "view": f"saved-{view.pk}",
        "saved_view": view,
        "page": page,
        "columns": columns,
        "headers": column_headers(columns, sort),
        "sort_param": sort_param,
        "now": timezone.now(),
        "problems_to_link": open_problems_to_link() if setup.may("work_tickets") else [],
        "works_tickets": setup.may("work_tickets"),
        "form": QueueFilterForm(),
        "edit_form": _edit_form(request, initial=ViewEditForm.initial_for(view))
        if editable
        else None,
    }
    return render(request, "agent/saved_view.html", context)


def _edit_form(
    request: HttpRequest, data: QueryDict | None = None, initial: dict[str, Any] | None = None
) -> ViewEditForm:
    setup = sidebar.agent_setup(_user(request))
    queue_choices = [(qv.key, qv.label) for qv in queues.queue_views(setup.tiers)]
    return ViewEditForm(
        data, initial=initial, queues=queue_choices, may_share=setup.may("shared_views")
    )


def _save(request: HttpRequest, view: SavedView | None) -> HttpResponse:
    form = _edit_form(request, request.POST)
    error = ""
    if form.is_valid():
        data = form.cleaned_data
        try:
            saved = saved_view_save(
                view=view,
                name=data["name"],
                query=form.query_string(),
                actor=_user(request),
                sharing=data["sharing"],
                tier=data["share_tier"],
                team=data["share_team"],
                columns=form.ordered_columns(),
                sort=data["sort"],
            )
        except DomainError as refused:
            error = refused.message
        else:
            messages.success(request, _("Saved view “%(name)s”.") % {"name": saved.name})
            return redirect("agent:saved-view", view_id=saved.pk)
    context = {
        **sidebar.sidebar(_user(request), now=timezone.now()),
        "view": "view-edit",
        "saved_view": view,
        "edit_form": form,
        "error": error,
    }
    return render(request, "agent/view_edit.html", context, status=400)


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def view_new(request: HttpRequest) -> HttpResponse:
    """A new view; from a queue page, its queue and filters come along (?queue=&status=…)."""
    if request.method == "POST":
        return _save(request, None)
    initial: dict[str, Any] = {"columns": list(saved_views.DEFAULT_COLUMNS)}
    initial.update({f"order_{k}": i + 1 for i, k in enumerate(saved_views.DEFAULT_COLUMNS)})
    for name in ("queue", "q", "tag", *ViewEditForm.CONDITION):
        if request.GET.get(name):
            initial[name] = request.GET[name]
    for name in ("status", "priority", "channel", "tier"):
        if request.GET.getlist(name):
            initial[name] = request.GET.getlist(name)
    context = {
        **sidebar.sidebar(_user(request), now=timezone.now()),
        "view": "view-edit",
        "saved_view": None,
        "edit_form": _edit_form(request, initial=initial),
    }
    return render(request, "agent/view_edit.html", context)


@agent_required
@require_POST
def view_edit(request: HttpRequest, view_id: int) -> HttpResponse:
    view = _visible_view(request, view_id)
    if not saved_views.may_edit(view, _user(request)):
        raise PermissionDenied(_("Only admins and leads change shared views."))
    return _save(request, view)


@agent_required
@require_POST
def view_delete(request: HttpRequest, view_id: int) -> HttpResponse:
    view = _visible_view(request, view_id)
    try:
        saved_view_delete(view=view, actor=_user(request))
    except DomainError as refused:
        raise PermissionDenied(refused.message) from refused
    messages.success(request, _("View “%(name)s” deleted.") % {"name": view.name})
    return redirect(reverse("agent:home"))
