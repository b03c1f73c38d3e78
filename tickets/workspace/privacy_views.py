"""A customer's data on request, from their page (admins only): exported as a ZIP built by a
worker and downloaded by the admin who asked; erased (anonymised, or their tickets deleted)
after a preview of what will go."""

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from tickets.errors import DomainError
from tickets.ids import id_from
from tickets.models import AuditAction, CustomerExport, ErasureMode, ExportState
from tickets.privacy import erase, export
from tickets.privacy.audit import audit_page
from tickets.roles import handles_personal_data, reads_reports
from tickets.workspace import sidebar
from tickets.workspace.access import agent_required
from tickets.workspace.customer_views import _customer_or_404


def _admin(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    if not handles_personal_data(user):
        raise PermissionDenied
    return user


@agent_required
@require_POST
def export_request(request: HttpRequest, customer_id: int) -> HttpResponse:
    user = _admin(request)
    customer = _customer_or_404(customer_id)
    try:
        export.customer_export_request(customer=customer, actor=user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("Export requested: you will be notified when it is ready to download here.")
        )
    return redirect("agent:customer", customer_id=customer.pk)


@agent_required
@require_safe
def export_download(request: HttpRequest, export_id: int) -> FileResponse:
    """The ZIP, for the admin who asked, until it expires."""
    user = _admin(request)
    found = CustomerExport.objects.filter(
        pk=export_id, requested_by=user, state=ExportState.READY, expires_at__gt=timezone.now()
    ).first()
    if found is None or not found.file:
        raise Http404("No such export, or it expired.")
    return FileResponse(
        found.file.open("rb"),
        as_attachment=True,
        filename=f"customer-{found.customer_id}-{found.created_at:%Y%m%d-%H%M}.zip",
        content_type="application/zip",
    )


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def erase_customer(request: HttpRequest, customer_id: int) -> HttpResponse:
    """GET: what erasing would remove, and the choice of how; POST (confirmed): erase."""
    from tickets.tasks import erase_customer as erase_task

    user = _admin(request)
    customer = _customer_or_404(customer_id)
    if customer.merged_into_id is not None:
        return redirect("agent:customer", customer_id=customer.merged_into_id)
    mode = request.POST.get("mode", "")
    if request.method == "POST" and mode in ErasureMode.values and request.POST.get("confirm"):
        transaction.on_commit(lambda: erase_task.delay(customer.pk, mode, user.pk))
        messages.success(
            request,
            _(
                "Erasing this customer: their personal data is being removed. "
                "Reload the page in a moment."
            )
            if mode == ErasureMode.ANONYMISE
            else _(
                "Erasing this customer: their personal data and tickets are going. "
                "Reload the page in a moment."
            ),
        )
        return redirect("agent:customer", customer_id=customer.pk)
    if request.method == "POST":
        messages.error(request, _("Choose how to erase the customer and confirm."))
    context = {
        **sidebar.sidebar(user, now=timezone.now()),
        "view": "customers",
        "customer": customer,
        "preview": erase.customer_erase_preview(customer=customer),
        "modes": ErasureMode.choices,
    }
    return render(request, "agent/customer_erase_confirm.html", context)


AUDIT_ON_PAGE = 50


@agent_required
@require_safe
def audit_log(request: HttpRequest) -> HttpResponse:
    """The audit log, for admins and leads: newest first, by action, a page at a time."""
    user = request.user
    assert isinstance(user, User)
    if not reads_reports(user):
        raise PermissionDenied
    action = request.GET.get("action", "")
    action = action if action in AuditAction.values else ""
    before = request.GET.get("before", "")
    entries, next_before = audit_page(action=action, before=id_from(before), size=AUDIT_ON_PAGE)
    context = {
        **sidebar.sidebar(user, now=timezone.now()),
        "view": "audit",
        "entries": entries,
        "next_before": next_before,
        "action": action,
        "actions": AuditAction.choices,
    }
    return render(request, "agent/audit.html", context)
