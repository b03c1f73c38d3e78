"""The audit log (read-only) and the retention rules, with what each would do now."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone

from tickets.admin import ReadOnlyAdmin
from tickets.models import AuditEntry, CustomerExport, RetentionRule
from tickets.privacy.retention import retention_due


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """What was done with customers' data: nobody edits or deletes it."""

    list_display = ("at", "action", "actor", "summary", "object_type", "object_id")
    list_filter = ("action", ("actor", admin.RelatedOnlyFieldListFilter), "at")
    search_fields = ("summary", "object_id", "actor__username")
    date_hierarchy = "at"
    list_select_related = ("actor",)
    readonly_fields = ("at", "actor", "action", "object_type", "object_id", "summary", "details")


@admin.register(RetentionRule)
class RetentionRuleAdmin(admin.ModelAdmin):
    """Closed tickets older than N days anonymised or deleted each night; "Due now" is the
    dry run: how many tickets the rule would act on if it ran this moment."""

    list_display = (
        "name", "enabled", "channel", "closed_days", "action", "due_now", "last_run_at",
        "last_run_count",
    )  # fmt: skip
    list_filter = ("enabled", "action", "channel")
    readonly_fields = ("due_now", "last_run_at", "last_run_count")
    fields = ("name", "enabled", "channel", "closed_days", "action", *readonly_fields)

    @admin.display(description="Due now (dry run)")
    def due_now(self, rule: RetentionRule) -> Any:
        if rule.pk is None:
            return "-"
        return retention_due(rule, now=timezone.now()).count()


@admin.register(CustomerExport)
class CustomerExportAdmin(ReadOnlyAdmin):
    """Exports asked for (downloaded from the customer's page by whoever asked)."""

    list_display = ("created_at", "customer", "requested_by", "state", "size", "expires_at")
    list_filter = ("state",)
    list_select_related = ("customer", "requested_by")
    exclude = ("file",)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
