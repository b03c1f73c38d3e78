"""Organizations in the workspace: a list, and each organization's page (its people, their
tickets on every channel, its services, domains, SLA plan and notes). Agents read them;
admins and leads edit them (tickets.roles.edits_organizations)."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST, require_safe

from helpdesk.text import search_text
from tickets import queues
from tickets.errors import DomainError, InvalidInput
from tickets.models import Customer, Organization, SLAPolicy, Ticket
from tickets.models_catalog import Service
from tickets.roles import edits_organizations
from tickets.services import organizations as service
from tickets.workspace import sidebar
from tickets.workspace.access import agent_required

ORGANIZATIONS_ON_PAGE = 50
PEOPLE_ON_PAGE = 25
TICKETS_ON_PAGE = 25
SERVICES_ON_PAGE = 50


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _organization_or_404(organization_id: int) -> Organization:
    organization = (
        Organization.objects.select_related("sla_policy")
        .prefetch_related("domains")
        .filter(pk=organization_id)
        .first()
    )
    if organization is None:
        raise Http404("No such organization.")
    return organization


@agent_required
@require_safe
def organization_list(request: HttpRequest) -> HttpResponse:
    text = search_text(request.GET.get("q", ""))
    found = Organization.objects.annotate(
        people=Count("customers", filter=Q(customers__merged_into__isnull=True))
    ).order_by("name", "id")
    if text:
        found = found.filter(Q(name__icontains=text) | Q(domains__domain__icontains=text))
    page = Paginator(found.distinct(), ORGANIZATIONS_ON_PAGE).get_page(request.GET.get("page"))
    context = {
        **sidebar.sidebar(_user(request), now=timezone.now()),
        "view": "organizations",
        "page": page,
        "q": text,
        "may_edit": edits_organizations(request.user),
    }
    return render(request, "agent/organizations.html", context)


@agent_required
@require_safe
def organization_page(request: HttpRequest, organization_id: int) -> HttpResponse:
    return _organization_page(request, _organization_or_404(organization_id))


def _organization_page(
    request: HttpRequest, organization: Organization, *, typed: Any = None, status: int = 200
) -> HttpResponse:
    """The page; `typed`: the details form as posted, when it was refused."""
    tickets = Ticket.objects.filter(customer__organization=organization).select_related(
        "tier", "assignee", "customer", "product", "service", "problem"
    )
    try:
        page = queues.queue_page(
            tickets, sort="newest", cursor=request.GET.get("after", ""), size=TICKETS_ON_PAGE
        )
    except queues.BadCursor:
        messages.error(request, _("That page link is not valid any more; here is the first page."))
        return redirect(reverse("agent:organization", args=[organization.pk]))
    people = Customer.objects.filter(organization=organization, merged_into__isnull=True)
    context = {
        **sidebar.sidebar(_user(request), now=timezone.now()),
        "view": "organizations",
        "organization": organization,
        "page": page,
        "people": Paginator(people.order_by("name", "id"), PEOPLE_ON_PAGE).get_page(
            request.GET.get("people")
        ),
        "services": list(
            Service.objects.filter(organization=organization).select_related("product", "plan")[
                :SERVICES_ON_PAGE
            ]
        ),
        "plans": _plans_for(organization),
        "may_edit": edits_organizations(request.user),
        "now": timezone.now(),
        "typed": typed,
    }
    return render(request, "agent/organization.html", context, status=status)


def _plans_for(organization: Organization) -> list[SLAPolicy]:
    """The policies that can be an organization's plan: active, not the default, and not
    tied to another organization."""
    return list(
        SLAPolicy.objects.filter(is_active=True, is_default=False)
        .filter(Q(organization__isnull=True) | Q(organization=organization))
        .order_by("position", "id")
    )


def _edit(request: HttpRequest, organization_id: int, action: Any, said: Any) -> HttpResponse:
    """Run one service on the organization (admins and leads only); a refusal comes back
    as an error message. `said` makes the success message from the service's result."""
    if not edits_organizations(request.user):
        raise PermissionDenied
    organization = _organization_or_404(organization_id)
    try:
        result = action(organization)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, said(result))
    return redirect("agent:organization", organization_id=organization.pk)


@agent_required
@require_POST
def organization_edit(request: HttpRequest, organization_id: int) -> HttpResponse:
    """Save the details; a refusal shows the page again with what was typed."""
    if not edits_organizations(request.user):
        raise PermissionDenied
    organization = _organization_or_404(organization_id)
    try:
        service.organization_update(
            organization=organization,
            name=request.POST.get("name", ""),
            notes=request.POST.get("notes", ""),
            sla_policy=_chosen_plan(organization, request.POST.get("sla_policy", "")),
        )
    except DomainError as error:
        messages.error(request, error.message)
        return _organization_page(request, organization, typed=request.POST, status=400)
    messages.success(request, _("Organization saved."))
    return redirect("agent:organization", organization_id=organization.pk)


def _chosen_plan(organization: Organization, value: str) -> SLAPolicy | None:
    if not value:
        return None
    plan = next((p for p in _plans_for(organization) if str(p.pk) == value), None)
    if plan is None:
        raise InvalidInput(_("Choose one of the SLA policies listed."))
    return plan


@agent_required
@require_POST
def domain_add(request: HttpRequest, organization_id: int) -> HttpResponse:
    domain = request.POST.get("domain", "")
    return _edit(
        request,
        organization_id,
        lambda o: service.organization_add_domain(organization=o, domain=domain),
        lambda added: (
            _("New customers writing from %(domain)s now join this organization.")
            % {"domain": added.domain}
        ),
    )


@agent_required
@require_POST
def domain_remove(request: HttpRequest, organization_id: int, domain_id: int) -> HttpResponse:
    return _edit(
        request,
        organization_id,
        lambda o: service.organization_remove_domain(organization=o, domain_id=domain_id),
        lambda _saved: _("Domain removed; the customers who joined through it stay."),
    )


@agent_required
@require_POST
def domain_adopt(request: HttpRequest, organization_id: int, domain_id: int) -> HttpResponse:
    return _edit(
        request,
        organization_id,
        lambda o: service.organization_adopt_domain_customers(organization=o, domain_id=domain_id),
        lambda joined: (
            ngettext(
                "%(count)d customer joined the organization.",
                "%(count)d customers joined the organization.",
                joined,
            )
            % {"count": joined}
        ),
    )
