"""The forms of problems, known issues and a ticket's product in the workspace."""

from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy as _

from tickets.catalog.selectors import offered_products
from tickets.models import Problem, ProblemStatus, Product

STATUS_CHOICES = [
    (ProblemStatus.INVESTIGATING, ProblemStatus.INVESTIGATING.label),
    (ProblemStatus.IDENTIFIED, ProblemStatus.IDENTIFIED.label),
]


class ProblemForm(forms.Form):
    title = forms.CharField(max_length=200, label=_("Title"))
    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False, label=_("Status"))
    owner = forms.ModelChoiceField(queryset=User.objects.none(), required=False, label=_("Owner"))
    product = forms.ModelChoiceField(
        queryset=Product.objects.none(), required=False, label=_("Product")
    )
    region = forms.CharField(max_length=100, required=False, label=_("Region"))
    public_explanation = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        label=_("Public explanation"),
        help_text=_("What customers may read: the known issue and the status page show it."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        staff = User.objects.filter(is_active=True, is_staff=True) | User.objects.filter(
            is_active=True, agent_profile__isnull=False
        )
        self.fields["owner"].queryset = staff.distinct().order_by("username")  # type: ignore[attr-defined]
        self.fields["product"].queryset = Product.objects.order_by("name")  # type: ignore[attr-defined]

    @classmethod
    def of(cls, problem: Problem) -> "ProblemForm":
        return cls(
            initial={
                "title": problem.title,
                "status": problem.status,
                "owner": problem.owner_id,
                "product": problem.product_id,
                "region": problem.region,
                "public_explanation": problem.public_explanation,
            }
        )


class KnownIssueForm(forms.Form):
    # On the problem's page beside the problem's own form (its fields' ids apart).
    prefix = "issue"
    title = forms.CharField(max_length=200, label=_("Title"))
    summary = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        label=_("Summary"),
        help_text=_(
            "What customers read on the help center, the contact form, the chat and "
            "the status page."
        ),
    )
    products = forms.ModelMultipleChoiceField(
        queryset=Product.objects.none(),
        required=False,
        label=_("Products"),
        help_text=_("Tier 0 tells these products' customers first; none: everyone."),
    )
    regions = forms.CharField(
        max_length=500,
        required=False,
        label=_("Regions"),
        help_text=_("Comma separated, as services name them."),
    )
    expected_fix_at = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        label=_("Expected fix"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["products"].queryset = offered_products()  # type: ignore[attr-defined]

    def region_list(self) -> list[str]:
        return [r.strip() for r in self.cleaned_data["regions"].split(",") if r.strip()]


class SolveForm(forms.Form):
    answer = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), label=_("Answer"))


class LinkForm(forms.Form):
    """Tickets to link, by reference ("HD-12, HD-13") or number."""

    references = forms.CharField(max_length=5000)
