"""A customer's page in the workspace: who they are, how to reach them, the services they
and their organization have, and every ticket on every channel, newest first (a page at a
time, the same statements for a customer of ten tickets or ten thousand)."""

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from tickets import queues
from tickets.catalog.selectors import customer_services
from tickets.models import Customer, Ticket
from tickets.workspace import sidebar
from tickets.workspace.access import agent_required

# The customer's tickets a page shows, and their organization's other people.
TICKETS_ON_PAGE = 25
PEOPLE_ON_PAGE = 20
SERVICES_ON_PAGE = 50


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _customer_or_404(customer_id: int) -> Customer:
    customer = (
        Customer.objects.select_related("organization", "merged_into")
        .prefetch_related("contact_points")
        .filter(pk=customer_id)
        .first()
    )
    if customer is None:
        raise Http404("No such customer.")
    return customer


@agent_required
@require_GET
def customer_page(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _customer_or_404(customer_id)
    if customer.merged_into_id is not None:
        messages.info(request, f"{customer} was merged into this customer.")
        return redirect("agent:customer", customer_id=customer.merged_into_id)
    tickets = Ticket.objects.filter(customer=customer).select_related(
        "tier", "assignee", "product", "service", "problem"
    )
    try:
        page = queues.queue_page(
            tickets, sort="newest", cursor=request.GET.get("after", ""), size=TICKETS_ON_PAGE
        )
    except queues.BadCursor:
        messages.error(request, "That page link is not valid any more; here is the first page.")
        return redirect(reverse("agent:customer", args=[customer.pk]))
    people = []
    if customer.organization_id is not None:
        people = list(
            Customer.objects.filter(
                organization_id=customer.organization_id, merged_into__isnull=True
            )
            .exclude(pk=customer.pk)
            .order_by("name", "id")[:PEOPLE_ON_PAGE]
        )
    context = {
        **sidebar.sidebar(_user(request), now=timezone.now()),
        "view": "customers",
        "customer": customer,
        "services": list(customer_services(customer)[:SERVICES_ON_PAGE]),
        "page": page,
        "people": people,
        "now": timezone.now(),
    }
    return render(request, "agent/customer.html", context)
