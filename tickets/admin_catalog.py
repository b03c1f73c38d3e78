"""The products catalog in the admin: products with their plans, and customers' services
(written through tickets.catalog.services, which checks owner, plan and identifier)."""

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from tickets.catalog.services import identifier_key, service_save
from tickets.errors import InvalidInput
from tickets.models import Product, ProductPlan, Service


class ProductPlanInline(admin.TabularInline):
    model = ProductPlan
    extra = 1


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "active", "created_at"]
    list_filter = ["active"]
    search_fields = ["name"]
    inlines = [ProductPlanInline]
    # The knowledge-base articles about it: tier 0 and suggestions prefer them for its
    # customers.
    filter_horizontal = ["articles"]


class ServiceForm(forms.ModelForm):
    class Meta:
        model = Service
        fields = [
            "product", "plan", "customer", "organization", "identifier", "region", "since",
            "status", "notes",
        ]  # fmt: skip

    def clean(self) -> dict[str, Any]:
        """What service_save refuses, said on the form (the identifier against the others of
        its product, as it is found: without case, spaces or dashes)."""
        data = super().clean() or {}
        if (data.get("customer") is None) == (data.get("organization") is None):
            raise forms.ValidationError("Choose a customer or an organization (one of them).")
        plan, product = data.get("plan"), data.get("product")
        if plan is not None and product is not None and plan.product_id != product.pk:
            self.add_error("plan", f"This is not a plan of {product.name}.")
        key = identifier_key(data.get("identifier") or "")
        taken = Service.objects.filter(product=product, key=key).exclude(pk=self.instance.pk)
        if key and product is not None and taken.exists():
            self.add_error("identifier", f"{product.name} {key} is another service already.")
        return data


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    form = ServiceForm
    list_display = [
        "product", "plan", "identifier", "customer", "organization", "region", "status",
    ]  # fmt: skip
    list_filter = ["status", "product", "region"]
    search_fields = ["identifier", "key", "customer__name", "organization__name"]
    list_select_related = ["product", "plan", "customer", "organization"]
    autocomplete_fields = ["customer", "organization"]

    def save_model(self, request: HttpRequest, obj: Service, form: Any, change: bool) -> None:
        data = form.cleaned_data
        try:
            service_save(
                service=obj,
                actor=request.user,  # type: ignore[arg-type]
                **{name: data.get(name) for name in ServiceForm.Meta.fields},
            )
        except InvalidInput as refused:  # checked by the form; a race lost since
            raise forms.ValidationError(refused.message) from None


class OwnServicesInline(admin.TabularInline):
    """A customer's or an organization's services on its page (changed on the service's)."""

    model = Service
    extra = 0
    fields = ["product", "plan", "identifier", "region", "since", "status"]
    readonly_fields = ["product", "plan", "identifier", "region", "since", "status"]
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # through the service's own page: its identifier is checked there
