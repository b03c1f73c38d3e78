"""What customers have from us: the products (with their plans or versions) admins keep in
a catalog, and each customer's or organization's services (a product they have, known by
an identifier such as a serial, account or line number)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class Product(models.Model):
    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True, help_text="Offered: shown in forms and pickers.")
    # Knowledge-base articles about it: tier 0 and suggestions prefer them for its customers.
    articles = models.ManyToManyField(
        "knowledge.Article", blank=True, related_name="+", help_text="Articles about it."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ProductPlan(models.Model):
    """A plan or version of a product ("Fibre 500", "Router X2 firmware 4")."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="plans")
    name = models.CharField(max_length=120)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["product", "name"]
        constraints = [
            models.UniqueConstraint(fields=["product", "name"], name="plan_name_per_product")
        ]

    def __str__(self) -> str:
        return f"{self.product.name} {self.name}"


class ServiceStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    ENDED = "ended", "Ended"


class Service(models.Model):
    """A product a customer (or their whole organization) has, known by its identifier."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="services")
    plan = models.ForeignKey(
        ProductPlan, null=True, blank=True, on_delete=models.SET_NULL, related_name="services"
    )
    customer = models.ForeignKey(
        "tickets.Customer",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="services",
    )
    organization = models.ForeignKey(
        "tickets.Organization",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="services",
    )
    # A serial, account or line number: how a message names it. Kept as written; found
    # without regard to case, spaces or dashes (`key`).
    identifier = models.CharField(max_length=100, blank=True)
    key = models.CharField(max_length=100, blank=True, editable=False, db_index=True)
    # Where it is delivered ("Leeds", "North"): known issues and spikes are told by it.
    region = models.CharField(max_length=100, blank=True)
    since = models.DateField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=ServiceStatus.choices, default=ServiceStatus.ACTIVE
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["product__name", "identifier", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(customer__isnull=False) ^ Q(organization__isnull=False),
                name="service_of_a_customer_or_an_organization",
            ),
            # One product's identifier names one service.
            models.UniqueConstraint(
                fields=["product", "key"], condition=~Q(key=""), name="service_identifier_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product.name} {self.identifier}".strip()
