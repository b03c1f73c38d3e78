"""Merging tickets and merging customers."""

import pytest

from tests.factories import UserFactory
from tickets import services
from tickets.errors import Conflict, InvalidInput
from tickets.models import (
    ContactKind,
    ContactPoint,
    Customer,
    EventKind,
    Message,
    TicketEvent,
    TicketStatus,
)

pytestmark = pytest.mark.django_db


def test_merge_moves_messages_and_closes_source(open_ticket, agent):
    source, target = open_ticket(sender="ann@example.com"), open_ticket(sender="ann@example.com")
    services.ticket_add_note(ticket=source, actor=agent, text="note on source")

    kept = services.ticket_merge(source=source, target=target, actor=agent)

    assert kept.pk == target.pk
    source.refresh_from_db()
    assert (source.status, source.merged_into_id) == (TicketStatus.CLOSED, target.pk)
    assert source.closed_at is not None
    assert Message.objects.filter(ticket=source).count() == 0
    assert Message.objects.filter(ticket=target).count() == 3
    into = TicketEvent.objects.get(ticket=source, kind=EventKind.MERGED_INTO)
    from_ = TicketEvent.objects.get(ticket=target, kind=EventKind.MERGED_FROM)
    assert into.data == {"target": target.pk, "messages": 2}
    assert from_.data == {"source": source.pk, "messages": 2}


def test_merge_refusals(open_ticket, agent):
    a, b, c = (open_ticket(sender="ann@example.com") for _ in range(3))
    with pytest.raises(InvalidInput):
        services.ticket_merge(source=a, target=a, actor=agent)
    services.ticket_merge(source=a, target=b, actor=agent)
    with pytest.raises(Conflict):  # already merged
        services.ticket_merge(source=a, target=c, actor=agent)
    with pytest.raises(Conflict):  # target was merged away
        services.ticket_merge(source=c, target=a, actor=agent)
    services.ticket_close(ticket=c, actor=agent)
    with pytest.raises(Conflict):  # closed
        services.ticket_merge(source=c, target=b, actor=agent)


def test_merged_ticket_refuses_further_work(open_ticket, agent):
    source, target = open_ticket(sender="ann@example.com"), open_ticket(sender="ann@example.com")
    services.ticket_merge(source=source, target=target, actor=agent)
    with pytest.raises(Conflict) as error:
        services.ticket_reply(ticket=source, actor=agent, text="hi")
    assert error.value.code in {"ticket_merged", "ticket_closed"}


def test_customer_merge_moves_tickets_and_contacts(open_ticket, agent):
    first = open_ticket(sender="old@example.com")
    second = open_ticket(sender="new@example.com")
    source, target = first.customer, second.customer
    portal = UserFactory(username="portal")
    source.user = portal
    source.save()

    services.customer_merge(source=source, target=target, actor=agent)

    first.refresh_from_db()
    source.refresh_from_db()
    target.refresh_from_db()
    assert first.customer == target
    assert source.merged_into == target
    assert set(target.contact_points.values_list("value", flat=True)) == {
        "old@example.com",
        "new@example.com",
    }
    assert target.user == portal and source.user is None
    assert Message.objects.filter(author_customer=source).count() == 0
    event = TicketEvent.objects.get(ticket=first, kind=EventKind.CUSTOMER_MERGED)
    assert event.data == {"from_customer": source.pk, "to_customer": target.pk}


def test_messages_from_a_merged_customers_address_land_on_the_target(open_ticket, inbound, agent):
    first = open_ticket(sender="old@example.com")
    second = open_ticket(sender="new@example.com")
    services.customer_merge(source=first.customer, target=second.customer, actor=agent)

    result = services.ticket_open(inbound=inbound(sender="old@example.com"))

    assert result.ticket.customer_id == second.customer_id
    assert Customer.objects.filter(merged_into__isnull=True).count() == 1


def test_customer_merge_refusals(open_ticket, agent):
    a = open_ticket().customer
    b = open_ticket().customer
    c = open_ticket().customer
    with pytest.raises(InvalidInput):
        services.customer_merge(source=a, target=a, actor=agent)
    services.customer_merge(source=a, target=b, actor=agent)
    with pytest.raises(Conflict):
        services.customer_merge(source=a, target=c, actor=agent)
    with pytest.raises(Conflict):
        services.customer_merge(source=c, target=a, actor=agent)


def test_contact_point_of_another_customer_is_refused(open_ticket):
    a = open_ticket(sender="a@example.com").customer
    b = open_ticket(sender="b@example.com").customer
    with pytest.raises(Conflict) as error:
        services.customer_add_contact_point(
            customer=b, kind=ContactKind.EMAIL, value="A@example.com"
        )
    assert error.value.code == "contact_taken"
    assert ContactPoint.objects.get(value="a@example.com").customer == a


def test_adding_own_contact_point_again_is_harmless(open_ticket):
    customer = open_ticket(sender="a@example.com").customer
    services.customer_add_contact_point(customer=customer, kind="email", value="A@Example.com")
    assert customer.contact_points.count() == 1


def test_customer_create_needs_a_contact(db):
    with pytest.raises(InvalidInput):
        services.customer_create(name="Nobody", contacts=[])
    customer = services.customer_create(
        name="Pat", contacts=[("email", "pat@example.com"), ("phone", "(207) 946-0000")]
    )
    assert sorted(customer.contact_points.values_list("value", flat=True)) == [
        "+12079460000",
        "pat@example.com",
    ]
