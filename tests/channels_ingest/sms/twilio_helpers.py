"""Signed Twilio webhook requests, built with the SDK's own RequestValidator."""

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from twilio.request_validator import RequestValidator

TOKEN = "test-auth-token-0123456789abcdef"
BASE_URL = "https://help.example.com"
ACCOUNT_SID = "AC" + "1" * 32
OUR_NUMBER = "+14155559999"

SMS_URL = "/inbound/sms/twilio/"
STATUS_URL = "/inbound/sms/twilio/status/"
VOICE_URL = "/inbound/voice/twilio/"


@pytest.fixture
def twilio_settings(settings: Any) -> Any:
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_FROM_NUMBER = OUR_NUMBER
    settings.PUBLIC_BASE_URL = BASE_URL
    settings.SMS_BACKEND = "locmem"
    return settings


def sign(path: str, params: Mapping[str, str], *, token: str = TOKEN) -> str:
    return RequestValidator(token).compute_signature(BASE_URL + path, dict(params))


def post(
    client: Client,
    path: str,
    params: Mapping[str, str],
    *,
    signature: str | None = None,
    signed_params: Mapping[str, str] | None = None,
    token: str = TOKEN,
) -> Any:
    """POST a form as Twilio does. Signed over `signed_params` (default: what is sent)."""
    if signature is None:
        signature = sign(path, signed_params if signed_params is not None else params, token=token)
    headers = {"X-Twilio-Signature": signature} if signature else {}
    return client.post(
        path,
        data=urlencode(params),
        content_type="application/x-www-form-urlencoded",
        headers=headers,
    )


def sms_params(sid: str, sender: str, body: str, **extra: str) -> dict[str, str]:
    """The fields Twilio posts for an inbound text (US numbers)."""
    return {
        "ToCountry": "US",
        "ToState": "CA",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": body,
        "FromCountry": "US",
        "To": OUR_NUMBER,
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "ApiVersion": "2010-04-01",
        **extra,
    }


def call_params(sid: str, status: str, **extra: str) -> dict[str, str]:
    """The fields of a call status callback for an inbound call."""
    return {
        "Called": OUR_NUMBER,
        "ToState": "CA",
        "CallerCountry": "US",
        "Direction": "inbound",
        "Timestamp": "Mon, 03 Mar 2025 09:00:00 +0000",
        "CallbackSource": "call-progress-events",
        "SequenceNumber": "0",
        "To": OUR_NUMBER,
        "CallSid": sid,
        "From": "+14155550123",
        "Caller": "+14155550123",
        "CallStatus": status,
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        **extra,
    }
