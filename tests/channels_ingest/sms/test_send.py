"""deliver_sms: an agent's SMS reply goes to the customer's number through the backend."""

import pytest

from channels_ingest import delivery, outbox
from channels_ingest.errors import DeliveryError
from channels_ingest.sms.backends import TwilioBackend
from channels_ingest.sms.send import deliver_sms
from tests.channels_ingest.sms.test_backends import FakeTwilioHttp, error
from tickets import services
from tickets.inbound import InboundMessage
from tickets.models import Channel, ContactKind, ContactPoint, DeliveryStatus, Message

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("twilio_settings")]


def sms_from(number: str, sid: str, text: str = "Help") -> InboundMessage:
    return InboundMessage(
        channel=Channel.SMS,
        sender_kind=ContactKind.PHONE,
        sender=number,
        text=text,
        external_id=sid,
    )


def send(reply: Message) -> list[str]:
    with outbox.opened() as batch:
        return deliver_sms(reply, batch)


@pytest.fixture
def sms_ticket(db):
    return services.ticket_ingest(inbound=sms_from("+14155550123", "SM1")).ticket


def test_reply_goes_to_the_customers_number(sms_ticket, agent, sms_outbox):
    reply = services.ticket_reply(ticket=sms_ticket, actor=agent, text="Try restarting it.")

    provider_ids = send(reply)

    assert [(sms.to, sms.body) for sms in sms_outbox] == [("+14155550123", "Try restarting it.")]
    assert provider_ids == [sms_outbox[0].provider_id]


def test_long_reply_returns_every_parts_id(sms_ticket, agent, sms_outbox):
    reply = services.ticket_reply(ticket=sms_ticket, actor=agent, text="word " * 700)

    provider_ids = send(reply)

    assert len(sms_outbox) == 3
    assert provider_ids == [sms.provider_id for sms in sms_outbox]


def test_reply_goes_to_the_number_the_customer_last_texted_from(sms_ticket, agent, sms_outbox):
    customer = sms_ticket.customer
    services.customer_add_contact_point(
        customer=customer, kind=ContactKind.PHONE, value="+14155550999"
    )
    # Texted again from the first number, which is now the older contact point.
    services.ticket_ingest(inbound=sms_from("+14155550123", "SM2", "Still broken"))
    reply = services.ticket_reply(ticket=sms_ticket, actor=agent, text="On it.")

    send(reply)

    assert sms_outbox[0].to == "+14155550123"


def test_without_a_usable_last_number_the_newest_contact_point_is_used(
    sms_ticket, agent, sms_outbox
):
    customer = sms_ticket.customer
    reply = services.ticket_reply(ticket=sms_ticket, actor=agent, text="On it.")
    # The number the customer texted from was taken off their record, another added.
    ContactPoint.objects.filter(customer=customer).delete()
    ContactPoint.objects.create(customer=customer, kind=ContactKind.PHONE, value="+14155550111")
    ContactPoint.objects.create(customer=customer, kind=ContactKind.PHONE, value="+14155550222")

    send(reply)

    assert sms_outbox[0].to == "+14155550222"


def test_customer_without_a_phone_is_a_permanent_failure(sms_ticket, agent, sms_outbox):
    reply = services.ticket_reply(ticket=sms_ticket, actor=agent, text="On it.")
    ContactPoint.objects.filter(kind=ContactKind.PHONE).delete()

    with pytest.raises(DeliveryError) as failure:
        send(reply)

    assert failure.value.permanent
    assert sms_outbox == []


def test_a_message_that_is_not_an_outbound_sms_is_refused(sms_ticket, sms_outbox):
    inbound = Message.objects.get(ticket=sms_ticket)

    with pytest.raises(DeliveryError) as failure:
        send(inbound)

    assert failure.value.permanent
    assert sms_outbox == []


def test_the_delivery_task_sends_and_records_the_provider_id(sms_ticket, agent, sms_outbox):
    """Through the lead's delivery code: pending -> sent, with the Twilio id stored."""
    reply = services.ticket_reply(ticket=sms_ticket, actor=agent, text="Fixed now.")

    delivery.deliver(reply.pk)

    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.SENT
    assert reply.provider_id == sms_outbox[0].provider_id


class OptedOutAtTwilio(TwilioBackend):
    """Twilio as it answers a text to a number that texted STOP to our number."""

    def __init__(self) -> None:
        super().__init__(
            http_client=FakeTwilioHttp(error(400, 21610, "Attempt to send to unsubscribed"))
        )


def test_a_number_twilio_says_opted_out_gets_no_more_texts_from_any_door(
    sms_ticket, agent, settings, sms_outbox, django_capture_on_commit_callbacks, celery_eager
):
    """They texted STOP before the desk knew (or to another of our numbers): the reply fails
    saying so, and the number is flagged, so the next one is not even tried."""
    settings.SMS_BACKEND = f"{__name__}.OptedOutAtTwilio"
    with django_capture_on_commit_callbacks(execute=True):
        first = services.ticket_reply(ticket=sms_ticket, actor=agent, text="Fixed now.")
    first.refresh_from_db()
    assert first.delivery_status == DeliveryStatus.FAILED
    assert "opted out" in first.delivery_error
    point = ContactPoint.objects.get(kind=ContactKind.PHONE, value="+14155550123")
    assert point.undeliverable == "opted_out"

    settings.SMS_BACKEND = "locmem"
    with django_capture_on_commit_callbacks(execute=True):
        second = services.ticket_reply(ticket=sms_ticket, actor=agent, text="Hello?")
    second.refresh_from_db()
    assert sms_outbox == []
    assert "replied STOP" in second.delivery_error
