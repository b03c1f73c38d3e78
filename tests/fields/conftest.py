"""A desk with custom fields of every kind and two forms that group them."""

from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from tickets.models import FieldChoice, FieldKind, Product, TicketField, TicketForm, TicketFormField


def make_field(key: str, kind: str, label: str, choices: tuple[str, ...] = (), **rest: Any):
    field = TicketField.objects.create(key=key, kind=kind, agent_label=label, **rest)
    for n, value in enumerate(choices):
        FieldChoice.objects.create(field=field, value=value, label=value.title(), position=n)
    return field


@dataclass
class Desk:
    plan: TicketField
    order: TicketField
    seats: TicketField
    renewal: TicketField
    modules: TicketField
    vip: TicketField
    cause: TicketField
    billing: TicketForm
    technical: TicketForm


@pytest.fixture
def desk(db: None) -> Desk:
    plan = make_field(
        "plan", FieldKind.DROPDOWN, "Plan", ("basic", "pro", "enterprise"),
        customer_label="Your plan", customer_editable=True, customer_visible=True, position=1,
    )  # fmt: skip
    order = make_field(
        "order_number", FieldKind.TEXT, "Order number", customer_editable=True, required=True,
        pattern=r"[A-Z]{2}-\d{4}", pattern_message="Like AB-1234", position=2,
    )  # fmt: skip
    seats = make_field("seats", FieldKind.NUMBER, "Seats", min_value=1, max_value=1000, position=3)
    renewal = make_field("renewal", FieldKind.DATE, "Renewal date", position=4)
    modules = make_field(
        "modules", FieldKind.MULTISELECT, "Modules", ("crm", "billing", "reports"),
        customer_editable=True, position=5,
    )  # fmt: skip
    vip = make_field("vip", FieldKind.CHECKBOX, "VIP", position=6)
    cause = make_field(
        "root_cause", FieldKind.DROPDOWN, "Root cause", ("bug", "setup", "user"),
        required_to_solve=True, position=7,
    )  # fmt: skip
    product = Product.objects.create(name="Ledger")
    billing = TicketForm.objects.create(name="Billing question", position=1, product=product)
    for n, field in enumerate((plan, order, modules)):
        TicketFormField.objects.create(form=billing, field=field, position=n)
    technical = TicketForm.objects.create(name="Technical problem", position=2)
    TicketFormField.objects.create(form=technical, field=plan, position=0)
    return Desk(plan, order, seats, renewal, modules, vip, cause, billing, technical)


@pytest.fixture
def agent_client(agent: Any) -> Client:
    client = Client()
    client.force_login(agent)
    return client
