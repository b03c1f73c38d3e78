"""The reports in the workspace, for admins and leads: each report's page, its tables as
CSV, and the tickets behind any number (tickets/reporting)."""

from __future__ import annotations

import csv
from typing import Any, cast
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST, require_safe

from tickets.errors import InvalidInput
from tickets.ids import whole_number
from tickets.models import Channel, Organization, Priority, ReportSubscription, Ticket
from tickets.reporting import drilldown
from tickets.reporting.definitions import definitions
from tickets.reporting.pages import REPORTS, Cell, Page, Table
from tickets.reporting.scope import Scope, scope_from
from tickets.roles import reads_reports
from tickets.workspace import sidebar
from tickets.workspace.access import agent_required
from tickets.workspace.forms import tier_label

DRILL_PAGE = 50


def _reader(request: HttpRequest) -> User:
    if not reads_reports(request.user):
        raise PermissionDenied(_("Reports are for admins and leads."))
    assert isinstance(request.user, User)
    return request.user


class ReportFilterForm(forms.Form):
    """The filters as the page shows them; tickets.reporting.scope checks the values."""

    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    bucket = forms.ChoiceField(choices=[("day", _("Day")), ("week", _("Week"))], required=False)
    channel = forms.ChoiceField(choices=[("", _("All")), *Channel.choices], required=False)
    tier = forms.ChoiceField(
        choices=[("", _("All")), *[(str(n), tier_label(n)) for n in range(4)]], required=False
    )
    priority = forms.ChoiceField(choices=[("", _("All")), *Priority.choices], required=False)
    organization = forms.ChoiceField(required=False)
    agent = forms.ChoiceField(required=False)

    def __init__(self, scope: Scope | None, data: Any) -> None:
        super().__init__(initial=_initial(scope, data))
        organizations = Organization.objects.order_by("name").values_list("pk", "name")[:500]
        cast(forms.ChoiceField, self.fields["organization"]).choices = [
            ("", _("All")),
            *[(str(k), n) for k, n in organizations],
        ]
        agents = User.objects.filter(agent_profile__isnull=False).order_by("first_name", "username")
        cast(forms.ChoiceField, self.fields["agent"]).choices = [
            ("", _("All")),
            *[
                (str(a.pk), a.get_full_name() or a.username)
                for a in agents.only("first_name", "last_name", "username")
            ],
        ]


def _initial(scope: Scope | None, data: Any) -> dict[str, Any]:
    if scope is None:
        return dict(data.items())
    values = scope.query()
    values.setdefault("since", scope.since.date().isoformat())
    return values


def _scope(request: HttpRequest) -> Scope:
    return scope_from(request.GET, timezone.localtime())


def _linker(scope: Scope):
    base = scope.query()
    drill = reverse("agent:report-tickets")

    def link(params: dict[str, Any]) -> str:
        if "ticket" in params:
            return reverse("agent:ticket", args=[params["ticket"]])
        return f"{drill}?{urlencode({**base, **{k: str(v) for k, v in params.items()}})}"

    return link


def _context(request: HttpRequest, user: User, **extra: Any) -> dict[str, Any]:
    return {
        **sidebar.sidebar(user, now=timezone.now()),
        "view": "reports",
        "reports": [(name, title) for name, (title, _) in REPORTS.items()],
        "subscribed": ReportSubscription.objects.filter(user=user).exists(),
        **extra,
    }


@agent_required
@require_safe
def reports_home(request: HttpRequest) -> HttpResponse:
    _reader(request)
    return redirect("agent:report", name="overview")


def _page(request: HttpRequest, name: str) -> tuple[Scope, Page]:
    if name not in REPORTS:
        raise Http404("No such report.")
    scope = _scope(request)
    return scope, REPORTS[name][1](scope, timezone.now(), _linker(scope))


@agent_required
@require_safe
def report(request: HttpRequest, name: str) -> HttpResponse:
    user = _reader(request)
    try:
        scope, page = _page(request, name)
    except InvalidInput as error:
        context = _context(
            request, user, name=name, error=error.message, form=ReportFilterForm(None, request.GET)
        )
        return render(request, "agent/reports/report.html", context, status=400)
    context = _context(
        request,
        user,
        name=name,
        page=page,
        definitions=definitions(page.title),
        form=ReportFilterForm(scope, request.GET),
        query=urlencode(scope.query()),
    )
    return render(request, "agent/reports/report.html", context)


@agent_required
@require_safe
def report_csv(request: HttpRequest, name: str, table: str) -> HttpResponse:
    _reader(request)
    try:
        scope, page = _page(request, name)
    except InvalidInput as error:
        return HttpResponse(error.message, status=400, content_type="text/plain; charset=utf-8")
    found = page.table(table)
    if found is None:
        raise Http404("No such table.")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"{name}-{table}-{scope.query()['since']}-{scope.query()['until']}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    write_csv(found, response)
    return response


def write_csv(table: Table, out: Any) -> None:
    """Raw values: minutes as numbers, rates as fractions, dates in ISO 8601; text that a
    spreadsheet would run as a formula is quoted (CSV injection)."""
    writer = csv.writer(out)
    writer.writerow([column.title for column in table.columns])
    for row in table.rows:
        writer.writerow([_csv_value(cell) for cell in row])


def _csv_value(cell: Cell) -> Any:
    value = cell.value
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@agent_required
@require_safe
def report_tickets(request: HttpRequest) -> HttpResponse:
    """The tickets behind a number: the same scope and metric the report counted."""
    user = _reader(request)
    metric = request.GET.get("metric", "")
    try:
        scope = _scope(request)
        rows = drilldown.tickets_behind(metric, scope, timezone.now(), request.GET)
        page_number = _page_number(request.GET.get("page"))
    except InvalidInput as error:
        context = _context(
            request, user, error=error.message, form=ReportFilterForm(None, request.GET)
        )
        return render(request, "agent/reports/tickets.html", context, status=400)
    total = rows.count()
    start = (page_number - 1) * DRILL_PAGE
    # A page past the last is empty, and never asked of the database: its offset could be
    # beyond what the database counts in.
    ids = (
        list(
            rows.order_by("-created_at", "-ticket_id").values_list("ticket_id", flat=True)[
                start : start + DRILL_PAGE
            ]
        )
        if start < total
        else []
    )
    tickets = (
        Ticket.objects.filter(pk__in=ids)
        .select_related("tier", "assignee", "customer", "metrics")
        .order_by("-created_at", "-pk")
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = _context(
        request,
        user,
        metric_title=drilldown.title(metric),
        tickets=tickets,
        total=total,
        page_number=page_number,
        next_page=page_number + 1 if start + DRILL_PAGE < total else None,
        previous_page=page_number - 1 if page_number > 1 else None,
        query=query.urlencode(),
        scope=scope,
        form=ReportFilterForm(scope, request.GET),
    )
    return render(request, "agent/reports/tickets.html", context)


def _page_number(text: str | None) -> int:
    if not text:
        return 1
    number = whole_number(text)
    if number is None:
        raise InvalidInput(_("page must be a number."), code="invalid_page")
    return max(number, 1)


@agent_required
@require_POST
def weekly_summary(request: HttpRequest) -> HttpResponse:
    """Opt in to (or out of) the weekly summary by mail."""
    user = _reader(request)
    if request.POST.get("subscribe") == "1":
        ReportSubscription.objects.get_or_create(user=user)
        messages.success(request, _("You will get the weekly summary every Monday."))
    else:
        ReportSubscription.objects.filter(user=user).delete()
        messages.success(request, _("You will no longer get the weekly summary."))
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}, require_https=False):
        back = reverse("agent:reports")
    return redirect(back)
