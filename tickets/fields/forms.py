"""Custom fields as form inputs (contact form, workspace): each input's cleaning is the
fields' own (tickets.fields.values.clean), so a value is judged the same at every door."""

from typing import Any

from django import forms

from tickets.fields.selectors import form_fields
from tickets.fields.values import BadValue, FieldErrors, as_value, clean
from tickets.models import FieldKind, TicketField, TicketForm

PREFIX = "field_"


class CustomFieldInput(forms.Field):
    """One custom field; its cleaned value is as the API and the service take it."""

    def __init__(self, definition: TicketField, *, for_customer: bool, **kwargs: Any) -> None:
        self.definition = definition
        kind = definition.kind
        choices = [(c.value, c.label) for c in definition.choices.all()]
        widget: forms.Widget
        if kind == FieldKind.DROPDOWN:
            widget = forms.Select(choices=[("", "-"), *choices])
        elif kind == FieldKind.MULTISELECT:
            widget = forms.CheckboxSelectMultiple(choices=choices)
        elif kind == FieldKind.CHECKBOX:
            widget = forms.CheckboxInput()
        elif kind == FieldKind.DATE:
            widget = forms.DateInput(attrs={"type": "date"})
        elif kind == FieldKind.NUMBER:
            widget = forms.NumberInput(attrs={"step": "any"})
        else:
            widget = forms.TextInput(attrs={"maxlength": definition.max_length or 500})
        label = definition.label_for_customers if for_customer else definition.agent_label
        super().__init__(
            widget=widget,
            label=label,
            help_text=definition.help_text,
            required=for_customer and definition.required and kind != FieldKind.CHECKBOX,
            **kwargs,
        )
        if kind == FieldKind.CHECKBOX and for_customer and definition.required:
            self.required = True  # ticking it is required ("I accept ...")

    def to_python(self, value: Any) -> Any:
        if self.definition.kind == FieldKind.CHECKBOX:
            return bool(value) and value not in ("false", "0", "off")
        return value

    def clean(self, value: Any) -> Any:
        value = self.to_python(value)
        self.validate(value)
        try:
            rows = clean(self.definition, value)
        except BadValue as error:
            raise forms.ValidationError(f"{str(error)[:1].upper()}{str(error)[1:]}.") from None
        return as_value(self.definition.kind, rows)

    def validate(self, value: Any) -> None:
        if self.required and value in (None, "", [], False):
            raise forms.ValidationError(self.error_messages["required"], code="required")


def add_inputs(
    form: forms.BaseForm,
    definitions: list[TicketField],
    *,
    for_customer: bool,
    initial: dict[str, Any] | None = None,
) -> None:
    """Add an input per field to `form`, named field_<key>."""
    for definition in definitions:
        name = PREFIX + definition.key
        form.fields[name] = CustomFieldInput(definition, for_customer=for_customer)
        if initial and definition.key in initial:
            form.initial[name] = initial[definition.key]


def submitted(form: forms.BaseForm) -> dict[str, Any]:
    """The custom fields' cleaned values by key."""
    return {
        name[len(PREFIX) :]: value
        for name, value in form.cleaned_data.items()
        if name.startswith(PREFIX)
    }


def customer_values(ticket_form: TicketForm | None, data: dict[str, Any]) -> dict[str, Any]:
    """What a customer filled in the form's fields outside a Django form of ours (the chat's
    pre-form sends them over its socket), judged as the contact form judges them: required
    fields, each value's rules. FieldErrors names each wrong one; only the filled are kept."""
    if ticket_form is None:
        return {}
    form = forms.Form(data={name: value for name, value in data.items() if name.startswith(PREFIX)})
    add_inputs(form, form_fields(ticket_form), for_customer=True)
    if not form.is_valid():
        raise FieldErrors(
            {
                name[len(PREFIX) :]: f"{form.fields[name].label}: {' '.join(map(str, errors))}"
                for name, errors in form.errors.items()
                if name in form.fields
            }
        )
    return {key: value for key, value in submitted(form).items() if value not in _EMPTY}


# What a customer left empty (an unticked checkbox says nothing either).
_EMPTY: tuple[Any, ...] = (None, "", [], False)
