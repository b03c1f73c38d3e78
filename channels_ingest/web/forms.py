from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from helpdesk.submissions import SubmissionField, new_submission_id
from helpdesk.uploads import MultipleFileField
from tickets.catalog import selectors as catalog
from tickets.fields import forms as field_inputs
from tickets.fields.selectors import form_fields
from tickets.models import ContactKind, Customer, ServiceStatus, TicketForm

NOT_SURE = ("", _("Not sure, or something else"))


def _email_addresses(customer: Customer) -> list[str]:
    """The customer's email addresses (stored lower-cased), the latest first."""
    return list(
        customer.contact_points.filter(kind=ContactKind.EMAIL)
        .order_by("-created_at", "-id")
        .values_list("value", flat=True)
    )


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
    # One id per rendered form: a double click, or sending again after an error or a lost
    # answer, opens one ticket (and sends one confirmation).
    submission = SubmissionField()

    def __init__(
        self,
        *args: Any,
        customer: Customer | None = None,
        ticket_form: TicketForm | None = None,
        **kwargs: Any,
    ) -> None:
        """`customer`: the signed-in portal customer, who may also choose one of their (or
        their organization's) services; anyone else chooses among the products offered.
        `ticket_form`: the kind of request the customer chose, whose fields they fill."""
        super().__init__(*args, **kwargs)
        self.initial.setdefault("submission", new_submission_id())
        self.ticket_form = ticket_form
        self.addresses = _email_addresses(customer) if customer is not None else []
        if customer is not None and self.addresses:
            self.initial.setdefault("email", self.addresses[0])
            self.initial.setdefault("name", customer.name)
        if ticket_form is not None:
            self.fields["ticket_form"] = forms.IntegerField(
                widget=forms.HiddenInput, initial=ticket_form.pk, required=False
            )
            field_inputs.add_inputs(self, form_fields(ticket_form), for_customer=True)
            custom = [name for name in self.fields if name.startswith(field_inputs.PREFIX)]
            self.order_fields([*self._BEFORE_FIELDS, *custom])  # then attachments
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

    # The form's own fields before the custom ones (which come before the attachments).
    _BEFORE_FIELDS = ("name", "email", "about", "subject", "description", "urgency")

    def clean_email(self) -> str:
        """A signed-in customer writes from one of their addresses: a request from another
        would go to another customer, never shown in their "My requests"."""
        email: str = self.cleaned_data["email"]
        if self.addresses and email.strip().lower() not in self.addresses:
            raise forms.ValidationError(
                _(
                    "You are signed in with %(address)s: write from that address, or sign "
                    "out to write from another."
                )
                % {"address": self.addresses[0]}
            )
        return email

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        kind, _, number = (cleaned.get("about") or "").partition(":")
        cleaned["product_id"] = int(number) if kind == "product" else None
        cleaned["service_id"] = int(number) if kind == "service" else None
        chosen = self.ticket_form
        if chosen is not None and chosen.product_id and not kind:
            cleaned["product_id"] = chosen.product_id  # the form is for one product
        return cleaned

    def custom_values(self) -> dict[str, Any]:
        """The custom fields' values by key (those left empty included)."""
        return field_inputs.submitted(self)

    def is_robot(self) -> bool:
        return bool(self.cleaned_data.get("website"))
