"""Custom ticket fields and forms in the admin: a field with its choices (drop-downs,
multi-selects) inline, a form with its fields inline, both in the order customers see."""

import copy
from typing import Any

from django import forms
from django.contrib import admin
from django.forms.models import construct_instance
from django.http import HttpRequest
from django.utils.translation import gettext as _

from tickets.fields.values import definition_errors
from tickets.models import CHOICE_KINDS, FieldChoice, TicketField, TicketForm, TicketFormField


class DefinitionChecked(forms.ModelForm):
    """The field's definition as it would be saved, checked (tickets.fields.values): on its
    change page and in the list's quick edits (position, active) alike."""

    class Meta:  # the list's quick edits name their own fields
        model = TicketField
        fields = ["position", "active"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        posted = construct_instance(self, copy.copy(self.instance), self._meta.fields)
        errors = definition_errors(
            kind=posted.kind,
            min_value=posted.min_value,
            max_value=posted.max_value,
            max_length=posted.max_length,
            pattern=posted.pattern,
        )
        for name, message in errors.items():
            # Each message names what it is about: said for the row when not typed on it.
            self.add_error(name if name in self.fields else None, message)
        return data


class TicketFieldForm(DefinitionChecked):
    class Meta:
        model = TicketField
        fields = [
            "agent_label", "customer_label", "key", "kind", "help_text", "customer_visible",
            "customer_editable", "position", "active", "required", "required_to_solve",
            "min_value", "max_value", "max_length", "pattern", "pattern_message",
        ]  # fmt: skip


class ChoiceFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        kept = [
            form
            for form in self.forms
            if form.cleaned_data.get("value") and not form.cleaned_data.get("DELETE")
        ]
        kind = self.instance.kind
        if kind in CHOICE_KINDS and not kept:
            raise forms.ValidationError(
                _("A drop-down or multi-select needs at least one choice."), code="no_choices"
            )
        if kind not in CHOICE_KINDS and kept:
            raise forms.ValidationError(
                _("Only drop-downs and multi-selects have choices."), code="choices_not_allowed"
            )


class FieldChoiceInline(admin.TabularInline):
    model = FieldChoice
    formset = ChoiceFormSet
    extra = 3  # blank rows for the first choices (more: "Add another")
    fields = ["position", "value", "label"]
    ordering = ["position", "id"]


@admin.register(TicketField)
class TicketFieldAdmin(admin.ModelAdmin):
    form = TicketFieldForm
    inlines = [FieldChoiceInline]
    list_display = [
        "agent_label", "key", "kind", "customer_visible", "customer_editable",
        "required", "required_to_solve", "position", "active",
    ]  # fmt: skip
    list_editable = ["position", "active"]
    list_filter = ["kind", "active", "customer_editable", "required_to_solve"]
    search_fields = ["key", "agent_label", "customer_label"]
    fieldsets = [
        (None, {"fields": ["agent_label", "customer_label", "key", "kind", "help_text"]}),
        (
            "Who sees it",
            {"fields": ["customer_visible", "customer_editable", "position", "active"]},
        ),
        ("Validation", {"fields": ["required", "required_to_solve"]}),
        ("Numbers", {"fields": ["min_value", "max_value"], "classes": ["collapse"]}),
        (
            "Text",
            {"fields": ["max_length", "pattern", "pattern_message"], "classes": ["collapse"]},
        ),
    ]

    def get_changelist_form(self, request: HttpRequest, **kwargs: Any) -> Any:
        # The quick edits are checked as the change page checks the definition.
        return super().get_changelist_form(request, form=DefinitionChecked, **kwargs)


class TicketFormFieldInline(admin.TabularInline):
    model = TicketFormField
    extra = 3
    fields = ["position", "field"]
    ordering = ["position", "id"]


@admin.register(TicketForm)
class TicketFormAdmin(admin.ModelAdmin):
    inlines = [TicketFormFieldInline]
    list_display = ["name", "product", "position", "active"]
    list_editable = ["position", "active"]
    list_filter = ["active"]
    search_fields = ["name"]
    autocomplete_fields = ["product"]
