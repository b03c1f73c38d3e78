"""A customer's page in the workspace: who they are, how to reach them (added and removed
here), the notes agents keep about them, the services they and their organization have,
and every ticket on every channel, newest first (a page at a time, the same statements for
a customer of ten tickets or ten thousand)."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from tickets import policy, queues, services
from tickets.catalog.selectors import customer_services
from tickets.contacts import normalize_contact
from tickets.errors import DomainError, InvalidInput
from tickets.ids import id_from
from tickets.models import (
    ContactKind,
    ContactPoint,
    Customer,
    CustomerExport,
    CustomerNote,
    Ticket,
)
from tickets.roles import handles_personal_data
from tickets.services.verification import contact_point_send_verification
from tickets.workspace import sidebar
from tickets.workspace.access import agent_required

# The customer's tickets a page shows, and their organization's other people.
TICKETS_ON_PAGE = 25
PEOPLE_ON_PAGE = 20
SERVICES_ON_PAGE = 50
NOTES_ON_PAGE = 20
EXPORTS_ON_PAGE = 5
# The contact points an agent adds by hand (chat and web ids come with their channel).
ADDABLE = [(ContactKind.EMAIL, "Email"), (ContactKind.PHONE, "Phone")]


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
@require_safe
def customer_page(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _customer_or_404(customer_id)
    if customer.merged_into_id is not None:
        messages.info(
            request, _("%(customer)s was merged into this customer.") % {"customer": customer}
        )
        return redirect("agent:customer", customer_id=customer.merged_into_id)
    tickets = Ticket.objects.filter(customer=customer).select_related(
        "tier", "assignee", "product", "service", "problem"
    )
    try:
        page = queues.queue_page(
            tickets, sort="newest", cursor=request.GET.get("after", ""), size=TICKETS_ON_PAGE
        )
    except queues.BadCursor:
        messages.error(request, _("That page link is not valid any more; here is the first page."))
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
        "works_tickets": sidebar.agent_setup(_user(request)).may("work_tickets"),
        "customer": customer,
        "services": list(customer_services(customer)[:SERVICES_ON_PAGE]),
        "page": page,
        "people": people,
        "notes": list(
            CustomerNote.objects.filter(customer=customer).select_related("author")[:NOTES_ON_PAGE]
        ),
        "addable": ADDABLE,
        "now": timezone.now(),
        **_privacy(_user(request), customer),
    }
    return render(request, "agent/customer.html", context)


def _privacy(user: User, customer: Customer) -> dict[str, Any]:
    """For admins: the exports they asked for of this customer (one statement)."""
    if not handles_personal_data(user):
        return {"privacy": False}
    exports = CustomerExport.objects.filter(
        customer=customer, requested_by=user, expires_at__gt=timezone.now()
    )
    return {"privacy": True, "exports": list(exports[:EXPORTS_ON_PAGE])}


def _on_customer(
    request: HttpRequest, customer_id: int, action: Any, said: str, *, changes: bool = True
) -> HttpResponse:
    """Run one service on the customer; a refusal comes back as an error message.
    `changes`: the customer's contact points or identity (not for light agents)."""
    customer = _customer_or_404(customer_id)
    try:
        if changes:
            policy.refuse_unless_works_tickets(_user(request), _("change customers"))
        action(customer)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, said)
    return redirect("agent:customer", customer_id=customer.pk)


@agent_required
@require_POST
def contact_add(request: HttpRequest, customer_id: int) -> HttpResponse:
    kind, value = request.POST.get("kind", ""), request.POST.get("value", "")
    return _on_customer(
        request,
        customer_id,
        lambda c: services.customer_add_contact_point(customer=c, kind=kind, value=value),
        _("Contact added."),
    )


@agent_required
@require_POST
def contact_remove(request: HttpRequest, customer_id: int, contact_id: int) -> HttpResponse:
    return _on_customer(
        request,
        customer_id,
        lambda c: services.customer_remove_contact_point(customer=c, contact_id=contact_id),
        _("Contact removed."),
    )


@agent_required
@require_POST
def contact_deliverable(request: HttpRequest, customer_id: int, contact_id: int) -> HttpResponse:
    """The agent clears the address's bounce (or spam) flag: automatic notices go again."""
    point = ContactPoint.objects.filter(pk=contact_id, customer_id=customer_id).first()
    return _on_customer(
        request,
        customer_id,
        lambda c: services.contact_point_clear_flag(
            customer=c, contact_id=contact_id, actor=_user(request)
        ),
        _("Automatic notices go to %(address)s again.")
        % {"address": point.value if point else ""},  # none: refused, not said
    )


@agent_required
@require_POST
def contact_verify(request: HttpRequest, customer_id: int, contact_id: int) -> HttpResponse:
    def send(customer: Customer) -> None:
        contact = customer.contact_points.filter(pk=contact_id).first()
        if contact is None:
            raise InvalidInput(_("That is not one of this customer's contacts."))
        contact_point_send_verification(contact=contact)

    return _on_customer(request, customer_id, send, _("Confirmation link sent."))


@agent_required
@require_POST
def note_add(request: HttpRequest, customer_id: int) -> HttpResponse:
    text = request.POST.get("text", "")
    return _on_customer(
        request,
        customer_id,
        lambda c: services.customer_note(customer=c, actor=_user(request), text=text),
        _("Note added."),
        changes=False,
    )


def _other_customer(named: str) -> Customer | None:
    """A customer named by number ("1042") or by one of their addresses or numbers."""
    named = named.strip().removeprefix("#")
    if named.isdigit():
        number = id_from(named)
        return Customer.objects.filter(pk=number).first() if number else None
    kind = ContactKind.EMAIL if "@" in named else ContactKind.PHONE
    try:
        value = normalize_contact(kind, named)
    except DomainError:
        return None
    point = ContactPoint.objects.select_related("customer").filter(kind=kind, value=value).first()
    return point.customer if point is not None else None


@agent_required
@require_POST
def merge(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Merge another customer into this one: first what would move, then, confirmed, done."""
    target = _customer_or_404(customer_id)
    source = _other_customer(request.POST.get("other", ""))
    if source is None or source.pk == target.pk or source.merged_into_id is not None:
        messages.error(
            request,
            _(
                "Name the customer to merge into this one by an address, a number or #id "
                "(another customer, not merged already)."
            ),
        )
        return redirect("agent:customer", customer_id=target.pk)
    if not request.POST.get("confirm"):
        context = {
            **sidebar.sidebar(_user(request), now=timezone.now()),
            "view": "customers",
            "target": target,
            "source": source,
            "contacts": list(source.contact_points.all()),
            "tickets": Ticket.objects.filter(customer=source).count(),
            "services": customer_services(source).filter(customer=source).count(),
        }
        return render(request, "agent/customer_merge_confirm.html", context)
    return _on_customer(
        request,
        target.pk,
        lambda c: services.customer_merge(source=source, target=c, actor=_user(request)),
        _("Merged %(source)s into %(target)s.")
        % {"source": source.name or _("the customer"), "target": target.name or _("this customer")},
    )
