"""A caller who rings the desk's Twilio number hears a greeting and leaves a voicemail, which
becomes a message on their phone ticket: the number's voice URL (/inbound/voice/twilio/
incoming/) answers with TwiML, and <Record>'s action (/inbound/voice/twilio/voicemail/)
brings the recording. Every request signed as Twilio signs it."""

import xml.etree.ElementTree as ET

import pytest

from channels_ingest.models import InboundItem, InboundStatus
from tests.channels_ingest.sms.twilio_helpers import (
    BASE_URL,
    VOICE_URL,
    call_params,
    post,
)
from tickets.models import Channel, Message, Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("twilio_settings")]

INCOMING_URL = "/inbound/voice/twilio/incoming/"
VOICEMAIL_URL = "/inbound/voice/twilio/voicemail/"
RECORDING = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"
CALLER = "+14155550123"


def twiml(response) -> ET.Element:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "Response"
    return root


def voicemail_params(sid: str = "CA900", **extra: str) -> dict[str, str]:
    """What Twilio posts to <Record>'s action when the caller has spoken."""
    return call_params(
        sid,
        "in-progress",
        RecordingUrl=RECORDING,
        RecordingSid="RE" + "1" * 32,
        RecordingDuration="42",
        Digits="hangup",
        **extra,
    )


@pytest.fixture
def leave_voicemail(client, django_capture_on_commit_callbacks, celery_eager):
    def leave(sid: str = "CA900", **extra: str) -> Message:
        with django_capture_on_commit_callbacks(execute=True):
            response = post(client, VOICEMAIL_URL, voicemail_params(sid, **extra))
        root = twiml(response)
        assert root.find("Hangup") is not None
        item = InboundItem.objects.get(channel="phone", idempotency_key=f"{sid}:voicemail")
        assert item.status == InboundStatus.PROCESSED, item.error
        return Message.objects.get(pk=item.message_id)

    return leave


def test_an_incoming_call_is_greeted_and_asked_for_a_voicemail(client):
    root = twiml(post(client, INCOMING_URL, call_params("CA800", "ringing")))

    say, record = root[0], root[1]
    assert say.tag == "Say" and "message" in say.text
    assert record.tag == "Record"
    assert record.get("action") == BASE_URL + VOICEMAIL_URL
    assert int(record.get("maxLength")) > 0
    assert InboundItem.objects.count() == 0  # nothing said yet


def test_a_caller_who_withholds_their_number_is_told_how_to_reach_us(client):
    params = call_params("CA801", "ringing", From="+266696687", Caller="+266696687")

    root = twiml(post(client, INCOMING_URL, params))

    assert [element.tag for element in root] == ["Say", "Hangup"]
    assert "number" in root[0].text


def test_a_voicemail_becomes_a_message_on_the_callers_phone_ticket(leave_voicemail):
    message = leave_voicemail()

    assert message.channel == Channel.PHONE
    assert message.body_text == f"Voicemail, 42 s: {RECORDING}"
    assert message.ticket.channel == Channel.PHONE
    assert message.ticket.customer.contact_points.get().value == CALLER


def test_a_voicemail_sent_twice_is_one_message(leave_voicemail):
    first = leave_voicemail()
    second = leave_voicemail()

    assert first.pk == second.pk
    assert Message.objects.count() == 1


def test_the_call_ending_after_its_voicemail_joins_the_same_ticket(
    client, leave_voicemail, django_capture_on_commit_callbacks
):
    voicemail = leave_voicemail()

    with django_capture_on_commit_callbacks(execute=True):
        post(client, VOICE_URL, call_params("CA900", "completed", CallDuration="60"))

    assert Ticket.objects.count() == 1
    assert voicemail.ticket.messages.count() == 2


@pytest.mark.parametrize("missing", ["RecordingUrl", "RecordingDuration"])
def test_a_caller_who_hung_up_without_speaking_leaves_nothing(client, missing):
    params = voicemail_params()
    if missing == "RecordingUrl":
        del params["RecordingUrl"]
    else:
        params["RecordingDuration"] = "0"

    root = twiml(post(client, VOICEMAIL_URL, params))

    assert root.find("Hangup") is not None
    assert InboundItem.objects.count() == 0


@pytest.mark.parametrize("url", [INCOMING_URL, VOICEMAIL_URL])
def test_unsigned_voice_requests_are_refused_and_store_nothing(client, url):
    response = post(client, url, voicemail_params(), signature="")

    assert response.status_code == 403
    assert InboundItem.objects.count() == 0
