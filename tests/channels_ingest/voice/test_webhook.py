"""POST /inbound/voice/twilio/: a completed call becomes a message on the caller's phone ticket."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from channels_ingest.models import InboundItem, InboundStatus
from tests.channels_ingest.sms.twilio_helpers import VOICE_URL, call_params, post
from tickets.inbound import IngestOutcome
from tickets.models import CallDirection, CallLog, Channel, ContactKind, Message, Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("twilio_settings")]

EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
RECORDING = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"
MONDAY = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def call_ends(client, django_capture_on_commit_callbacks, celery_eager):
    """Deliver a signed 'completed' callback and run the processing queued on commit."""

    def deliver(sid: str, **extra: str) -> Message:
        params = call_params(sid, "completed", **extra)
        with django_capture_on_commit_callbacks(execute=True):
            response = post(client, VOICE_URL, params)
        assert response.status_code == 200
        assert response.content == EMPTY_TWIML
        item = InboundItem.objects.get(channel="phone", idempotency_key=sid)
        assert item.status == InboundStatus.PROCESSED, item.error
        return Message.objects.select_related("call", "ticket").get(pk=item.message_id)

    return deliver


def test_route_name():
    assert reverse("voice-twilio") == VOICE_URL


def test_completed_call_opens_a_phone_ticket_with_its_call_log(call_ends):
    message = call_ends("CA100", CallDuration="192", RecordingUrl=RECORDING)

    ticket = message.ticket
    assert ticket.channel == Channel.PHONE
    assert message.channel == Channel.PHONE
    assert message.external_id == "CA100"
    assert message.body_text == f"Inbound call, 3 min 12 s. Recording: {RECORDING}"
    call = message.call
    assert (call.direction, call.phone_number, call.duration_seconds, call.recording_url) == (
        CallDirection.INBOUND,
        "+14155550123",
        192,
        RECORDING,
    )
    contact = ticket.customer.contact_points.get()
    assert (contact.kind, contact.value) == (ContactKind.PHONE, "+14155550123")


def test_outbound_call_lands_on_the_callee(call_ends):
    message = call_ends(
        "CA101", Direction="outbound-api", From="+14155559999", To="+14155550188", CallDuration="9"
    )

    assert message.call.direction == CallDirection.OUTBOUND
    assert message.call.phone_number == "+14155550188"
    assert message.ticket.customer.contact_points.get().value == "+14155550188"


def test_second_call_within_the_window_updates_the_same_ticket(call_ends, settings):
    settings.HELPDESK_SMS_THREAD_HOURS = 72
    with time_machine.travel(MONDAY, tick=False):
        first = call_ends("CA200", CallDuration="60")
    with time_machine.travel(MONDAY + timedelta(hours=2), tick=False):
        second = call_ends("CA201", CallDuration="30")
    with time_machine.travel(MONDAY + timedelta(hours=2 + 73), tick=False):
        third = call_ends("CA202", CallDuration="15")

    assert second.ticket_id == first.ticket_id
    assert third.ticket_id != first.ticket_id
    assert CallLog.objects.filter(message__ticket=first.ticket).count() == 2
    outcomes = list(InboundItem.objects.order_by("id").values_list("outcome", flat=True))
    assert outcomes == [IngestOutcome.NEW, IngestOutcome.THREADED, IngestOutcome.NEW]


@pytest.mark.parametrize(
    "status", ["queued", "ringing", "in-progress", "busy", "no-answer", "failed", "canceled"]
)
def test_calls_that_did_not_complete_store_nothing(client, status):
    response = post(client, VOICE_URL, call_params("CA300", status))

    assert response.status_code == 200
    assert response.content == EMPTY_TWIML
    assert InboundItem.objects.count() == 0


def test_repeated_completed_callback_is_stored_once(client):
    params = call_params("CA400", "completed", CallDuration="5")

    post(client, VOICE_URL, params)
    post(client, VOICE_URL, params)

    assert InboundItem.objects.count() == 1


@pytest.mark.parametrize("how", ["tampered body", "wrong token", "missing header"])
def test_badly_signed_callbacks_are_refused_and_nothing_is_stored(client, how):
    params = call_params("CA500", "completed", CallDuration="5")
    if how == "tampered body":
        response = post(client, VOICE_URL, {**params, "From": "+14155550999"}, signed_params=params)
    elif how == "wrong token":
        response = post(client, VOICE_URL, params, token="not-our-token")
    else:
        response = post(client, VOICE_URL, params, signature="")

    assert response.status_code == 403
    assert InboundItem.objects.count() == 0
    assert Ticket.objects.count() == 0


def test_missing_call_sid_is_a_bad_request(client):
    params = call_params("CA600", "completed")
    del params["CallSid"]

    assert post(client, VOICE_URL, params).status_code == 400
    assert InboundItem.objects.count() == 0


def test_a_withheld_number_is_rejected_without_a_ticket(
    client, django_capture_on_commit_callbacks, celery_eager
):
    params = call_params("CA700", "completed", From="+266696687", Caller="+266696687")
    with django_capture_on_commit_callbacks(execute=True):
        post(client, VOICE_URL, params)

    item = InboundItem.objects.get()
    assert item.status == InboundStatus.REJECTED
    assert Ticket.objects.count() == 0
