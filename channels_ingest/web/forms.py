from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from helpdesk.uploads import MultipleFileField
from tickets.catalog import selectors as catalog
from tickets.models import Customer, ServiceStatus

NOT_SURE = ("", _("Not sure, or something else"))


class ContactForm(forms.Form):
    URGENCY = [
        ("low", _("Not urgent")),
        ("normal", _("Normal")),
        ("high", _("Urgent: I cannot work")),
    ]

    name = forms.CharField(max_length=200, label=_("Your name"))
    email = forms.EmailField(label=_("Your email"), help_text=_("We answer here."))
    # "service:<id>" or "product:<id>"; the choices depend on who asks (see __init__).
    about = forms.ChoiceField(
        required=False,
        label=_("What is it about?"),
        help_text=_("Optional: it brings your request to the right people sooner."),
    )
    subject = forms.CharField(max_length=200, label=_("Subject"))
    description = forms.CharField(
        widget=forms.Textarea,
        max_length=20_000,
        label=_("What happened?"),
        help_text=_("What you did, what you expected and what you saw instead."),
    )
    urgency = forms.ChoiceField(choices=URGENCY, initial="normal", label=_("How urgent is it?"))
    attachments = MultipleFileField(
        required=False, label=_("Attachments"), help_text=_("Screenshots or logs, up to 10 files.")
    )
    # Robots fill every field; people never see this one, cannot tab to it, and their
    # browsers are asked not to fill it. A request with it filled is held, not dropped.
    website = forms.CharField(
        required=False,
        label=_("Leave this empty"),
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    def __init__(self, *args: Any, customer: Customer | None = None, **kwargs: Any) -> None:
        """`customer`: the signed-in portal customer, who may also choose one of their (or
        their organization's) services; anyone else chooses among the products offered."""
        super().__init__(*args, **kwargs)
        products = [(f"product:{p.pk}", p.name) for p in catalog.offered_products()]
        services = (
            [
                (f"service:{s.pk}", str(s))
                for s in catalog.customer_services(customer).exclude(status=ServiceStatus.ENDED)
            ]
            if customer is not None
            else []
        )
        if not products and not services:
            del self.fields["about"]  # nothing to choose from
            return
        field = self.fields["about"]
        assert isinstance(field, forms.ChoiceField)
        if services:
            field.choices = [NOT_SURE, (_("Your services"), services), (_("Products"), products)]
        else:
            field.choices = [NOT_SURE, *products]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        kind, _, number = (cleaned.get("about") or "").partition(":")
        cleaned["product_id"] = int(number) if kind == "product" else None
        cleaned["service_id"] = int(number) if kind == "service" else None
        return cleaned

    def is_robot(self) -> bool:
        return bool(self.cleaned_data.get("website"))
