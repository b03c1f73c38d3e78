"""POST /inbound/sms/twilio/status/: Twilio's delivery reports update the message we sent."""

import pytest

from channels_ingest.models import InboundItem
from tests.channels_ingest.sms.twilio_helpers import ACCOUNT_SID, OUR_NUMBER, STATUS_URL, post
from tickets import services
from tickets.errors import InvalidInput
from tickets.inbound import InboundMessage
from tickets.models import (
    Channel,
    ContactKind,
    ContactPoint,
    DeliveryStatus,
    EventKind,
    Message,
    TicketEvent,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("twilio_settings")]

SID = "SM" + "f" * 32


@pytest.fixture
def sent_reply(agent) -> Message:
    """An agent's SMS reply that Twilio accepted as SID (as the delivery task records it)."""
    inbound = InboundMessage(
        channel=Channel.SMS,
        sender_kind=ContactKind.PHONE,
        sender="+14155550123",
        text="Help",
        external_id="SM-in-1",
    )
    ticket = services.ticket_ingest(inbound=inbound).ticket
    reply = services.ticket_reply(ticket=ticket, actor=agent, text="Try this.")
    services.message_mark_sent(message_id=reply.pk, provider_id=SID)
    reply.refresh_from_db()
    return reply


def report(client, status: str, sid: str = SID, **extra: str):
    params = {
        "SmsSid": sid,
        "SmsStatus": status,
        "MessageStatus": status,
        "To": "+14155550123",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": OUR_NUMBER,
        "ApiVersion": "2010-04-01",
        **extra,
    }
    return post(client, STATUS_URL, params)


def failures(message: Message) -> list[dict]:
    return list(
        TicketEvent.objects.filter(
            ticket=message.ticket, kind=EventKind.DELIVERY_FAILED
        ).values_list("data", flat=True)
    )


def test_delivered(client, sent_reply):
    response = report(client, "delivered")

    assert response.status_code == 204
    sent_reply.refresh_from_db()
    assert sent_reply.delivery_status == DeliveryStatus.DELIVERED
    assert failures(sent_reply) == []
    assert InboundItem.objects.count() == 0  # status reports are not inbound messages


@pytest.mark.parametrize("status", ["undelivered", "failed"])
def test_failure_is_recorded_with_the_error_code_and_an_event(client, sent_reply, status):
    response = report(client, status, ErrorCode="30003")

    assert response.status_code == 204
    sent_reply.refresh_from_db()
    assert sent_reply.delivery_status == DeliveryStatus.FAILED
    reason = "Twilio error 30003: the phone is switched off or out of coverage"
    assert sent_reply.delivery_error == reason
    assert failures(sent_reply) == [{"message": sent_reply.pk, "channel": "sms", "reason": reason}]


def test_repeated_failure_report_makes_one_event(client, sent_reply):
    report(client, "failed", ErrorCode="30005")
    report(client, "failed", ErrorCode="30005")

    assert len(failures(sent_reply)) == 1


def test_late_sent_after_delivered_keeps_delivered(client, sent_reply):
    report(client, "delivered")
    report(client, "sent")

    sent_reply.refresh_from_db()
    assert sent_reply.delivery_status == DeliveryStatus.DELIVERED


@pytest.mark.parametrize("status", ["queued", "accepted", "sending", "scheduled", "bogus"])
def test_intermediate_statuses_change_nothing(client, sent_reply, status):
    assert report(client, status).status_code == 204

    sent_reply.refresh_from_db()
    assert sent_reply.delivery_status == DeliveryStatus.SENT


def test_unknown_sid_is_acknowledged_and_ignored(client, sent_reply):
    response = report(client, "failed", sid="SM" + "0" * 32, ErrorCode="30003")

    assert response.status_code == 204
    sent_reply.refresh_from_db()
    assert sent_reply.delivery_status == DeliveryStatus.SENT
    assert failures(sent_reply) == []


def test_unsigned_report_is_refused_and_changes_nothing(client, sent_reply):
    params = {"MessageSid": SID, "MessageStatus": "failed", "ErrorCode": "30003"}

    response = post(client, STATUS_URL, params, signature="")

    assert response.status_code == 403
    sent_reply.refresh_from_db()
    assert sent_reply.delivery_status == DeliveryStatus.SENT


def test_inbound_messages_are_never_touched_by_reports(sent_reply):
    inbound = Message.objects.get(external_id="SM-in-1")
    Message.objects.filter(pk=inbound.pk).update(provider_id="SMsame")

    assert services.message_record_delivery(provider_id="SMsame", status="failed") is None


def test_service_refuses_statuses_that_are_not_reports(sent_reply):
    with pytest.raises(InvalidInput):
        services.message_record_delivery(provider_id=SID, status=DeliveryStatus.PENDING)


@pytest.mark.parametrize(
    ("code", "said"),
    [
        ("30005", "the number does not exist"),
        ("30006", "landline"),
        ("30007", "filtered it as spam"),
        ("99999", "Twilio error 99999"),
    ],
)
def test_a_failure_says_what_its_code_means(client, sent_reply, code, said):
    report(client, "undelivered", ErrorCode=code)

    sent_reply.refresh_from_db()
    assert said in sent_reply.delivery_error
    assert sent_reply.delivery_error.startswith(f"Twilio error {code}")


def test_a_failure_because_the_customer_opted_out_flags_the_number(
    client, sent_reply, agent, sms_outbox, django_capture_on_commit_callbacks, celery_eager
):
    """Twilio knew they had texted STOP (before the desk did): the next reply is held."""
    report(client, "failed", ErrorCode="21610")

    point = ContactPoint.objects.get(kind=ContactKind.PHONE, value="+14155550123")
    assert point.undeliverable == "opted_out"
    with django_capture_on_commit_callbacks(execute=True):
        again = services.ticket_reply(ticket=sent_reply.ticket, actor=agent, text="Hello?")
    again.refresh_from_db()
    assert sms_outbox == []
    assert again.delivery_status == DeliveryStatus.FAILED
    assert "replied STOP" in again.delivery_error


@pytest.fixture
def long_reply(agent, sms_outbox, django_capture_on_commit_callbacks, celery_eager):
    """An agent's reply too long for one text, sent as three parts (as in production); the
    reply and the SID Twilio gave each part, in order."""
    inbound = InboundMessage(
        channel=Channel.SMS,
        sender_kind=ContactKind.PHONE,
        sender="+14155550123",
        text="How do I set up the router?",
        external_id="SM-in-2",
    )
    ticket = services.ticket_ingest(inbound=inbound).ticket
    sms_outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.ticket_reply(ticket=ticket, actor=agent, text="step " * 700)
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.SENT
    sids = [sms.provider_id for sms in sms_outbox]
    assert len(sids) == 3
    return reply, sids


def test_a_later_part_that_fails_fails_the_reply(client, long_reply):
    reply, sids = long_reply

    report(client, "delivered", sid=sids[0])
    response = report(client, "undelivered", sid=sids[2], ErrorCode="30003")

    assert response.status_code == 204
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.FAILED
    assert "Twilio error 30003: the phone is switched off" in reply.delivery_error
    assert "3" in reply.delivery_error.split("Twilio error")[0]  # which part
    assert [event["message"] for event in failures(reply)] == [reply.pk]


def test_a_long_reply_is_delivered_only_when_every_part_is(client, long_reply):
    reply, sids = long_reply

    for sid in sids[:2]:
        report(client, "delivered", sid=sid)
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.SENT

    report(client, "delivered", sid=sids[2])
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.DELIVERED


def test_a_failed_part_stays_failed_when_the_others_are_delivered(client, long_reply):
    reply, sids = long_reply

    report(client, "failed", sid=sids[1], ErrorCode="30005")
    report(client, "delivered", sid=sids[0])
    report(client, "delivered", sid=sids[2])

    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.FAILED
    assert "30005" in reply.delivery_error
    assert len(failures(reply)) == 1
