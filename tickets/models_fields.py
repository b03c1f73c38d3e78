"""Custom ticket fields admins define, the forms that group them, and each ticket's values.

Values live in one narrow table, a row per value (a multi-select has a row per choice),
in a column of the value's type, so that "tickets whose field F is X" (or between A and B)
is a range of a composite index (field, value, ticket) on any database: see the README's
"Custom fields and forms" and docs/benchmarks.md.
"""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy

KEY_VALIDATOR = RegexValidator(
    r"^[a-z][a-z0-9_]{0,39}$",
    gettext_lazy("Lower-case letters, digits and _, starting with a letter (at most 40)."),
)


class FieldKind(models.TextChoices):
    TEXT = "text", "Text"
    NUMBER = "number", "Number"
    DATE = "date", "Date"
    DROPDOWN = "dropdown", "Drop-down"
    MULTISELECT = "multiselect", "Multi-select"
    CHECKBOX = "checkbox", "Checkbox"


# The kinds whose values are among the field's choices.
CHOICE_KINDS = (FieldKind.DROPDOWN, FieldKind.MULTISELECT)


class TicketField(models.Model):
    key = models.CharField(
        max_length=40,
        unique=True,
        validators=[KEY_VALIDATOR],
        help_text="Its name in the API, in filters and in rules (e.g. order_number).",
    )
    kind = models.CharField(max_length=12, choices=FieldKind.choices)
    agent_label = models.CharField(max_length=120, help_text="What agents see.")
    customer_label = models.CharField(
        max_length=120, blank=True, help_text="What customers see (the agents' label if empty)."
    )
    help_text = models.CharField(max_length=300, blank=True)
    customer_visible = models.BooleanField(
        default=False, help_text="Customers see its value in the portal."
    )
    customer_editable = models.BooleanField(
        default=False, help_text="Customers fill it in the contact form (it is then visible)."
    )
    required = models.BooleanField(
        default=False, help_text="Required in the contact form (for customers who fill it)."
    )
    required_to_solve = models.BooleanField(
        default=False,
        verbose_name="required when solving",
        help_text="An agent cannot resolve or close a ticket without it.",
    )
    min_value = models.DecimalField(
        max_digits=20, decimal_places=6, null=True, blank=True, help_text="Numbers only."
    )
    max_value = models.DecimalField(
        max_digits=20, decimal_places=6, null=True, blank=True, help_text="Numbers only."
    )
    max_length = models.PositiveIntegerField(
        null=True, blank=True, help_text="Text only (at most 500)."
    )
    pattern = models.CharField(
        max_length=200,
        blank=True,
        verbose_name="regular expression",
        help_text="Text only: the whole value must match, e.g. [A-Z]{2}-\\d{6}.",
    )
    pattern_message = models.CharField(
        max_length=200, blank=True, help_text="Said when the pattern does not match."
    )
    position = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.agent_label

    @property
    def label_for_customers(self) -> str:
        return self.customer_label or self.agent_label


class FieldChoice(models.Model):
    field = models.ForeignKey(TicketField, on_delete=models.CASCADE, related_name="choices")
    value = models.CharField(
        max_length=60, help_text="Stored and used in filters, rules and the API."
    )
    label = models.CharField(max_length=120)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["field", "value"], name="field_choice_value_unique")
        ]

    def __str__(self) -> str:
        return self.label


class TicketForm(models.Model):
    """A set of fields a customer fills for one kind of request (or one product)."""

    name = models.CharField(max_length=120, unique=True, help_text="What customers choose.")
    description = models.CharField(max_length=300, blank=True)
    product = models.ForeignKey(
        "tickets.Product",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="ticket_forms",
        help_text="A ticket sent with this form is about this product.",
    )
    fields = models.ManyToManyField(TicketField, through="TicketFormField", related_name="forms")
    position = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class TicketFormField(models.Model):
    form = models.ForeignKey(TicketForm, on_delete=models.CASCADE, related_name="members")
    field = models.ForeignKey(TicketField, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["form", "field"], name="form_field_unique")]

    def __str__(self) -> str:
        return f"{self.field_id} in {self.form_id}"


class TicketFieldValue(models.Model):
    """One value of one field on one ticket (a multi-select: one row per chosen value)."""

    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="field_values", db_index=False
    )
    field = models.ForeignKey(
        TicketField, on_delete=models.CASCADE, related_name="values", db_index=False
    )
    # Text, a choice's value, or "true" for a ticked checkbox; NULL in a number's or a
    # date's row (the partial indexes below skip it: "" would be a value).
    value_text = models.CharField(max_length=500, null=True, blank=True)  # noqa: DJ001
    value_number = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    value_date = models.DateField(null=True, blank=True)

    class Meta:
        indexes = [
            # A ticket's values (every page that shows them reads them by ticket).
            models.Index(fields=["ticket", "field"], name="field_value_ticket_idx"),
            # Filtering by a field: a range of one of these, yielding ticket ids.
            models.Index(
                fields=["field", "value_text", "ticket"],
                condition=Q(value_text__isnull=False),
                name="field_value_text_idx",
            ),
            models.Index(
                fields=["field", "value_number", "ticket"],
                condition=Q(value_number__isnull=False),
                name="field_value_number_idx",
            ),
            models.Index(
                fields=["field", "value_date", "ticket"],
                condition=Q(value_date__isnull=False),
                name="field_value_date_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.field_id} of {self.ticket_id}"
