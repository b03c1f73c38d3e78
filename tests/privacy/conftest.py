"""A customer with something of everything the help desk keeps about a person, and another
customer who must be left alone."""

from dataclasses import dataclass
from typing import Any

import pytest

from tests.factories import AgentFactory, UserFactory
from tickets import services
from tickets.catalog.services import service_save
from tickets.collab.services import side_conversation_reply, side_conversation_start
from tickets.fields.services import ticket_set_fields
from tickets.inbound import InboundAttachment, InboundMessage
from tickets.models import (
    Channel,
    ContactKind,
    Customer,
    Product,
    SideAttachment,
    Ticket,
    TicketField,
)
from tickets.services import chat

# What must not survive Ann's erasure anywhere in the database.
ANN_TRACES = ("Ann Person", "ann.person@example.com", "4155550123", "annp", "LINE-77")


@dataclass
class Held:
    ann: Customer
    bob: Customer
    mail: Ticket
    chat_ticket: Ticket
    bob_ticket: Ticket


def _mail(**values: Any) -> InboundMessage:
    base: dict[str, Any] = {
        "channel": Channel.EMAIL,
        "sender_kind": ContactKind.EMAIL,
        "sender": "ann.person@example.com",
        "sender_name": "Ann Person",
        "subject": "Router for Ann Person",
        "text": "I am Ann Person, call me on +1 415 555 0123.",
        "external_id": "<first@ann.example.com>",
    }
    return InboundMessage(**{**base, **values})


@pytest.fixture
def lead(db: None) -> Any:
    from django.contrib.auth.models import Group

    user = AgentFactory(username="lead1", tiers=[1])
    user.groups.add(Group.objects.get_or_create(name="Leads")[0])
    return user


@pytest.fixture
def held(db: None, agent: Any) -> Held:
    opened = services.ticket_open(
        inbound=_mail(
            attachments=(InboundAttachment("scan.pdf", "application/pdf", b"%PDF-1.4 Ann"),),
            original=b"From: Ann Person <ann.person@example.com>\r\n\r\nI am Ann Person.\r\n",
            cc=(("fred.friend@example.com", "Fred Friend"),),
        ),
        tier_level=1,
    )
    mail = opened.ticket
    ann = mail.customer
    services.customer_add_contact_point(customer=ann, kind=ContactKind.PHONE, value="+14155550123")
    services.customer_note(customer=ann, actor=agent, text="Ann Person prefers the phone.")
    services.ticket_reply(ticket=mail, actor=agent, text="Hello Ann Person, we are on it.")
    services.ticket_add_note(ticket=mail, actor=agent, text="Ann Person called twice.")
    TicketField.objects.create(key="site", kind="text", agent_label="Site")
    ticket_set_fields(ticket=mail, values={"site": "Ann Person's flat"}, actor=agent)
    side_conversation_start(
        ticket=mail, to="vendor@supplier.example", subject="Router of Ann Person",
        text="Please swap the router of Ann Person.", actor=agent,
    )  # fmt: skip
    services.ticket_log_call(
        actor=agent, phone_number="+14155550123", direction="inbound", duration_seconds=60,
        notes="Ann Person rang about the router.", ticket=mail,
    )  # fmt: skip
    started = chat.chat_start(
        name="Ann Person", email="ann.person@example.com", text="Hi, Ann Person here.",
        client_id="chat-ann",
    )  # fmt: skip
    portal = UserFactory(
        username="annp", email="ann.person@example.com", first_name="Ann", last_name="Person"
    )
    Customer.objects.filter(pk=ann.pk).update(user=portal)
    router = Product.objects.create(name="Router")
    service_save(
        service=None, product=router, actor=None, customer=ann, identifier="LINE-77",
        region="Leeds",
    )  # fmt: skip
    bob_ticket = services.ticket_open(
        inbound=_mail(
            sender="bob.builder@example.com", sender_name="Bob Builder",
            subject="Bob Builder's bill", text="Bob Builder writes.", external_id="<b@bob>",
            cc=(("ann.person@example.com", "Ann Person"),),  # Ann is copied in on Bob's
        ),
        tier_level=1,
    ).ticket  # fmt: skip
    ann.refresh_from_db()
    return Held(
        ann=ann,
        bob=bob_ticket.customer,
        mail=Ticket.objects.get(pk=mail.pk),
        chat_ticket=started.ticket,
        bob_ticket=bob_ticket,
    )


def database_text() -> str:
    """Every row of every model (the whole database as the ORM sees it), as text."""
    from django.apps import apps
    from django.core import serializers

    return "\n".join(
        serializers.serialize("json", model._default_manager.all())
        for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy
    )


@pytest.fixture
def side_files(held: Held, agent: Any) -> list[SideAttachment]:
    """Files about Ann in the side conversation on her mail: one the agent sent the vendor,
    and one in the vendor's reply (through the ingest door)."""
    conversation = held.mail.side_conversations.get()
    sent = side_conversation_reply(
        conversation=conversation, text="Her order form is attached.", actor=agent,
        attachments=(InboundAttachment("order-ann.pdf", "application/pdf", b"%PDF-1.4 Ann's"),),
    )  # fmt: skip
    services.ticket_ingest(
        inbound=_mail(
            sender="vendor@supplier.example", sender_name="Supplier", subject="Re: the router",
            text="The return label is attached.", external_id="<rma@supplier.example>",
            thread_ids=(str(sent.external_id),),
            attachments=(InboundAttachment("rma-ann.txt", "text/plain", b"RMA for Ann Person"),),
        )
    )  # fmt: skip
    files = list(SideAttachment.objects.order_by("pk"))
    assert [f.filename for f in files] == ["order-ann.pdf", "rma-ann.txt"]
    assert all(f.file.storage.exists(f.file.name) for f in files)
    return files
