"""POST /inbound/sms/twilio/: signature, storage once per MessageSid, and the whole way to a
ticket."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from twilio.request_validator import RequestValidator

from channels_ingest.models import InboundItem, InboundStatus
from tests.channels_ingest.sms.twilio_helpers import (
    BASE_URL,
    SMS_URL,
    TOKEN,
    post,
    sms_params,
)
from tickets import services
from tickets.inbound import IngestOutcome
from tickets.models import Channel, ContactKind, Customer, Message, Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("twilio_settings")]

EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
MONDAY = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def text_in(client, django_capture_on_commit_callbacks, celery_eager):
    """Deliver a signed inbound SMS and run the processing queued on commit."""

    def deliver(sid: str, sender: str = "+14155550123", body: str = "Help please") -> Message:
        with django_capture_on_commit_callbacks(execute=True):
            response = post(client, SMS_URL, sms_params(sid, sender, body))
        assert response.status_code == 200
        item = InboundItem.objects.get(channel="sms", idempotency_key=sid)
        assert item.status == InboundStatus.PROCESSED, item.error
        return Message.objects.get(pk=item.message_id)

    return deliver


def test_route_names():
    assert reverse("sms-twilio") == SMS_URL
    assert reverse("sms-twilio-status") == "/inbound/sms/twilio/status/"


def test_signed_text_is_stored_and_answered_with_empty_twiml(client):
    params = sms_params("SM100", "+14155550123", "My printer is on fire")

    response = post(client, SMS_URL, params)

    assert response.status_code == 200
    assert response.content == EMPTY_TWIML
    assert response["Content-Type"] == "text/xml"
    item = InboundItem.objects.get()
    assert (item.channel, item.source, item.idempotency_key) == ("sms", "twilio", "SM100")
    assert item.status == InboundStatus.RECEIVED
    assert item.content_type == "application/x-www-form-urlencoded"
    assert b"Body=My+printer+is+on+fire" in bytes(item.payload)


@pytest.mark.parametrize(
    "how",
    ["tampered body", "wrong token", "missing header", "garbage header", "other host signed"],
)
def test_unsigned_or_badly_signed_requests_are_refused_and_nothing_is_stored(client, how):
    params = sms_params("SM200", "+14155550123", "Hello")
    if how == "tampered body":
        response = post(client, SMS_URL, {**params, "Body": "Hello, pay me"}, signed_params=params)
    elif how == "wrong token":
        response = post(client, SMS_URL, params, token="someone-elses-token")
    elif how == "missing header":
        response = post(client, SMS_URL, params, signature="")
    elif how == "garbage header":
        response = post(client, SMS_URL, params, signature="bm90IGEgc2lnbmF0dXJl")
    else:  # signed for the address Django sees, not the public one Twilio calls
        internal = RequestValidator(TOKEN).compute_signature("http://testserver" + SMS_URL, params)
        response = post(client, SMS_URL, params, signature=internal)

    assert response.status_code == 403
    assert InboundItem.objects.count() == 0


def test_without_an_auth_token_every_request_is_refused(client, settings):
    params = sms_params("SM201", "+14155550123", "Hello")
    settings.TWILIO_AUTH_TOKEN = ""

    response = post(client, SMS_URL, params, token="")

    assert response.status_code == 403
    assert InboundItem.objects.count() == 0


def test_signature_covers_the_public_url_not_the_one_django_sees(client, settings):
    """Behind a proxy Django sees http://testserver; Twilio signed https://help.example.com."""
    params = sms_params("SM202", "+14155550123", "Hello")
    settings.PUBLIC_BASE_URL = "https://elsewhere.example.com"

    assert post(client, SMS_URL, params).status_code == 403

    settings.PUBLIC_BASE_URL = BASE_URL
    assert post(client, SMS_URL, params).status_code == 200


def test_query_string_is_part_of_the_signed_url(client):
    params = sms_params("SM203", "+14155550123", "Hello")
    path = SMS_URL + "?tenant=1"

    response = post(client, path, params)

    assert response.status_code == 200
    assert InboundItem.objects.count() == 1


def test_missing_message_sid_is_a_bad_request_and_nothing_is_stored(client):
    params = sms_params("SM204", "+14155550123", "Hello")
    for field in ("MessageSid", "SmsSid", "SmsMessageSid"):
        del params[field]

    response = post(client, SMS_URL, params)

    assert response.status_code == 400
    assert InboundItem.objects.count() == 0


def test_get_is_not_allowed(client):
    assert client.get(SMS_URL).status_code == 405


def test_redelivered_message_sid_is_stored_once(client):
    params = sms_params("SM300", "+14155550123", "Hello")

    first = post(client, SMS_URL, params)
    second = post(client, SMS_URL, params)

    assert (first.status_code, second.status_code) == (200, 200)
    assert InboundItem.objects.filter(idempotency_key="SM300").count() == 1


def test_redelivery_after_processing_makes_no_second_message(text_in):
    first = text_in("SM301")
    second = text_in("SM301")

    assert first.pk == second.pk
    assert Message.objects.count() == 1


def test_text_becomes_an_sms_ticket_for_a_new_customer(text_in):
    message = text_in("SM400", sender="+1 (415) 555-0123", body="The app crashes on login")

    ticket = message.ticket
    assert ticket.channel == Channel.SMS
    assert ticket.subject == "The app crashes on login"
    assert (message.channel, message.external_id, message.body_text) == (
        Channel.SMS,
        "SM400",
        "The app crashes on login",
    )
    contact = ticket.customer.contact_points.get()
    assert (contact.kind, contact.value) == (ContactKind.PHONE, "+14155550123")


def test_a_nul_character_in_a_text_is_dropped_and_the_text_becomes_its_ticket(text_in):
    # PostgreSQL cannot store one: the text was a failed inbound item, never a ticket.
    message = text_in("SM401", body="The app\x00 crashes")

    assert message.body_text == "The app crashes"
    assert message.ticket.subject == "The app crashes"


def test_second_text_within_the_window_joins_the_ticket_and_later_opens_a_new_one(
    text_in, settings
):
    settings.HELPDESK_SMS_THREAD_HOURS = 72
    with time_machine.travel(MONDAY, tick=False):
        first = text_in("SM500", body="Internet is down")
    with time_machine.travel(MONDAY + timedelta(hours=71), tick=False):
        second = text_in("SM501", body="Still down")
    with time_machine.travel(MONDAY + timedelta(hours=71 + 73), tick=False):
        third = text_in("SM502", body="Down again")

    assert second.ticket_id == first.ticket_id
    assert third.ticket_id != first.ticket_id
    assert third.ticket.customer_id == first.ticket.customer_id
    outcomes = list(InboundItem.objects.order_by("id").values_list("outcome", flat=True))
    assert outcomes == [IngestOutcome.NEW, IngestOutcome.THREADED, IngestOutcome.NEW]


def test_text_from_the_number_of_an_email_customer_lands_on_that_customer(text_in):
    known = services.customer_create(
        name="Ada Lovelace",
        contacts=[(ContactKind.EMAIL, "ada@example.com"), (ContactKind.PHONE, "+14155550177")],
    )

    message = text_in("SM600", sender="+14155550177", body="Did you get my email?")

    assert message.ticket.customer_id == known.pk
    assert message.author_customer_id == known.pk
    assert Customer.objects.count() == 1


def test_text_from_an_alphanumeric_sender_is_rejected_without_a_ticket(
    client, django_capture_on_commit_callbacks, celery_eager
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, SMS_URL, sms_params("SM700", "ACME Bank", "Your code is 1234"))

    assert response.status_code == 200  # accepted from Twilio; refused by us, on purpose
    item = InboundItem.objects.get()
    assert item.status == InboundStatus.REJECTED
    assert "alphanumeric" in item.error
    assert Ticket.objects.count() == 0
