"""Sending texts: splitting long replies, the backends, and Twilio's errors mapped to ours.

The Twilio backend runs the real twilio Client against a fake HTTP client: the provider
edge, where the request leaves the process.
"""

import json
import logging
from typing import Any

import pytest
import requests
from django.core.exceptions import ImproperlyConfigured
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response

from channels_ingest.errors import DeliveryError
from channels_ingest.sms import backends
from channels_ingest.sms.backends import (
    MAX_PART_CHARS,
    TRUNCATION_NOTE,
    TwilioBackend,
    send_sms,
    split_sms,
)
from tests.channels_ingest.sms.twilio_helpers import ACCOUNT_SID, OUR_NUMBER, TOKEN

CUSTOMER = "+14155550123"


def words(count: int) -> str:
    return " ".join(f"word{n:05d}" for n in range(count))  # 9 characters + a space each


# --- splitting --------------------------------------------------------------------------------


def test_short_text_is_one_part_without_a_prefix():
    assert split_sms("  Your ticket HD-12 is solved.\n") == ["Your ticket HD-12 is solved."]


def test_exactly_the_limit_is_one_part():
    text = "x" * MAX_PART_CHARS
    assert split_sms(text) == [text]


def test_empty_text_has_no_parts():
    assert split_sms(" \n ") == []


def test_long_text_is_split_at_whitespace_and_numbered():
    text = words(400)  # 3,999 characters

    parts = split_sms(text)

    assert [part[:6] for part in parts] == ["(1/3) ", "(2/3) ", "(3/3) "]
    assert all(len(part) <= MAX_PART_CHARS for part in parts)
    bodies = [part.split(" ", 1)[1] for part in parts]
    assert all(body.startswith("word") and len(body.split()[-1]) == 9 for body in bodies)
    assert " ".join(bodies) == text  # nothing lost, no word cut


def test_line_breaks_inside_a_part_are_kept():
    text = ("First paragraph line.\n\n" + words(200)) * 2

    parts = split_sms(text)

    assert parts[0].startswith("(1/3) First paragraph line.\n\nword00000")


def test_a_word_longer_than_a_part_is_cut_hard():
    parts = split_sms("y" * 4000)

    assert len(parts) == 3
    assert all(len(part) <= MAX_PART_CHARS for part in parts)
    assert "".join(part.split(" ", 1)[1] for part in parts) == "y" * 4000


def test_more_than_ten_parts_are_cut_to_ten_and_say_so():
    text = words(3000)  # about 30,000 characters

    parts = split_sms(text)

    assert len(parts) == 10
    assert parts[0].startswith("(1/10) ")
    assert parts[-1].startswith("(10/10) ")
    assert parts[-1].endswith(TRUNCATION_NOTE)
    assert parts[-1].removesuffix(TRUNCATION_NOTE).split()[-1].startswith("word")
    assert all(len(part) <= MAX_PART_CHARS for part in parts)
    assert "email" not in TRUNCATION_NOTE  # we promise nothing we do not do


# --- console and locmem ------------------------------------------------------------------


def test_locmem_backend_keeps_every_part_in_the_outbox(settings, sms_outbox):
    settings.SMS_BACKEND = "locmem"

    ids = send_sms(CUSTOMER, words(400))

    assert len(ids) == 3
    assert [sms.provider_id for sms in sms_outbox] == ids
    assert {sms.to for sms in sms_outbox} == {CUSTOMER}
    assert sms_outbox[1].body.startswith("(2/3) ")


def test_console_backend_logs_the_text(settings, caplog):
    settings.SMS_BACKEND = "console"

    with caplog.at_level(logging.INFO, logger="channels_ingest.sms.backends"):
        ids = send_sms(CUSTOMER, "Hello from the help desk")

    assert len(ids) == 1 and ids[0].startswith("console-")
    assert "Hello from the help desk" in caplog.text


def test_a_dotted_path_names_a_backend(settings, sms_outbox):
    settings.SMS_BACKEND = "channels_ingest.sms.backends.LocmemBackend"

    send_sms(CUSTOMER, "Hi")

    assert len(sms_outbox) == 1


@pytest.mark.parametrize("name", ["carrier-pigeon", "tickets.models.Ticket"])
def test_an_unknown_backend_fails_loudly(settings, name):
    settings.SMS_BACKEND = name

    with pytest.raises(ImproperlyConfigured):
        send_sms(CUSTOMER, "Hi")


def test_an_empty_text_is_a_permanent_failure(settings, sms_outbox):
    settings.SMS_BACKEND = "locmem"

    with pytest.raises(DeliveryError) as error:
        send_sms(CUSTOMER, "   ")

    assert error.value.permanent
    assert sms_outbox == []


# --- Twilio ------------------------------------------------------------------------------


class FakeTwilioHttp(HttpClient):
    """Answers the Twilio client's requests with canned responses (or raises)."""

    def __init__(self, *answers: Response | Exception) -> None:
        super().__init__(logging.getLogger("fake-twilio"), is_async=False, timeout=10)
        self.answers = list(answers)
        self.requests: list[dict[str, Any]] = []

    def request(  # type: ignore[override]
        self,
        method,
        url,
        params=None,
        data=None,
        headers=None,
        auth=None,
        timeout=None,
        allow_redirects=False,
    ):
        self.requests.append({"method": method, "url": url, "data": data, "auth": auth})
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def created(sid: str) -> Response:
    return Response(201, json.dumps({"sid": sid, "status": "queued", "account_sid": ACCOUNT_SID}))


def error(status: int, code: int, message: str) -> Response:
    body = {"code": code, "message": message, "more_info": "", "status": status}
    return Response(status, json.dumps(body))


@pytest.fixture
def twilio(twilio_settings):
    twilio_settings.SMS_BACKEND = "twilio"
    return twilio_settings


def test_twilio_sends_each_part_with_our_number_and_status_callback(twilio):
    http = FakeTwilioHttp(created("SM0001"), created("SM0002"))

    ids = send_sms(CUSTOMER, words(300), backend=TwilioBackend(http_client=http))

    assert ids == ["SM0001", "SM0002"]
    first = http.requests[0]
    assert first["method"] == "POST"
    assert first["url"] == f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert first["auth"] == (ACCOUNT_SID, TOKEN)
    assert first["data"]["To"] == CUSTOMER
    assert first["data"]["From"] == OUR_NUMBER
    assert first["data"]["StatusCallback"] == "https://help.example.com/inbound/sms/twilio/status/"
    assert first["data"]["Body"].startswith("(1/2) word00000")
    assert http.requests[1]["data"]["Body"].startswith("(2/2) ")


def test_twilio_backend_is_chosen_by_settings_with_a_ten_second_timeout(twilio):
    backend = backends.get_backend()

    assert isinstance(backend, TwilioBackend)
    assert isinstance(backend.http_client, TwilioHttpClient)
    assert backend.http_client.timeout == 10


@pytest.mark.parametrize(
    ("answer", "permanent", "reason"),
    [
        (error(400, 21211, "The 'To' number is not valid."), True, "not a valid phone number"),
        (error(400, 21610, "Attempt to send to unsubscribed recipient"), True, "opted out"),
        (error(400, 21999, "Something else about this number"), True, "Something else"),
        (error(404, 20404, "The requested resource was not found"), True, "20404"),
        (error(401, 20003, "Authenticate"), False, "credentials"),
        (error(429, 20429, "Too Many Requests"), False, "HTTP 429"),
        (error(500, 20500, "Internal Server Error"), False, "HTTP 500"),
        (Response(503, "<html>Service Unavailable</html>"), False, "HTTP 503"),
        (requests.ConnectTimeout("timed out"), False, "ConnectTimeout"),
        (requests.ConnectionError("connection reset"), False, "ConnectionError"),
    ],
)
def test_twilio_errors_become_delivery_errors(twilio, answer, permanent, reason):
    backend = TwilioBackend(http_client=FakeTwilioHttp(answer))

    with pytest.raises(DeliveryError) as failure:
        send_sms(CUSTOMER, "Hello", backend=backend)

    assert failure.value.permanent is permanent
    assert reason in failure.value.reason


def test_a_failure_after_some_parts_went_out_is_permanent_so_nothing_is_sent_twice(twilio):
    http = FakeTwilioHttp(created("SM0001"), error(500, 20500, "Internal Server Error"))

    with pytest.raises(DeliveryError) as failure:
        send_sms(CUSTOMER, words(300), backend=TwilioBackend(http_client=http))

    assert failure.value.permanent
    assert failure.value.reason.startswith("Only 1 of 2 parts were sent")


def test_twilio_without_credentials_fails_loudly(twilio):
    twilio.TWILIO_ACCOUNT_SID = ""

    with pytest.raises(ImproperlyConfigured):
        send_sms(CUSTOMER, "Hello", backend=TwilioBackend(http_client=FakeTwilioHttp()))
