"""Golden Twilio call status callbacks -> InboundMessage, exact values."""

from pathlib import Path

import pytest

from channels_ingest.errors import Rejected
from channels_ingest.voice.parse import parse_call
from tickets.inbound import InboundCall
from tickets.models import CallDirection, Channel, ContactKind

GOLDEN = Path(__file__).parent / "golden"
RECORDING = (
    "https://api.twilio.com/2010-04-01/Accounts/AC11111111111111111111111111111111/"
    "Recordings/RE0a1b2c3d4e5f60718293a4b5c6d7e8f9"
)

# file -> (customer number, call sid, text, call)
EXPECTED = {
    "inbound_recorded.txt": (
        "+14155550123",
        "CA0a1b2c3d4e5f60718293a4b5c6d7e8f9",
        f"Inbound call, 3 min 12 s. Recording: {RECORDING}",
        InboundCall(CallDirection.INBOUND, "+14155550123", 192, RECORDING),
    ),
    "outbound_api.txt": (
        "+447700900123",
        "CAbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
        "Outbound call, 45 s.",
        InboundCall(CallDirection.OUTBOUND, "+447700900123", 45, ""),
    ),
    "inbound_long_unrecorded.txt": (
        "+442079460000",
        "CAcccccccccccccccccccccccccccccccc",
        "Inbound call, 1 h 2 min 5 s.",
        InboundCall(CallDirection.INBOUND, "+442079460000", 3725, ""),
    ),
}


def test_every_golden_file_has_expectations():
    assert sorted(p.name for p in GOLDEN.glob("*.txt")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_golden(name):
    number, sid, text, call = EXPECTED[name]

    inbound = parse_call((GOLDEN / name).read_bytes().strip())

    assert (inbound.channel, inbound.sender_kind) == (Channel.PHONE, ContactKind.PHONE)
    assert (inbound.sender, inbound.external_id, inbound.text) == (number, sid, text)
    assert inbound.call == call


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"From=%2B14155550123&CallStatus=completed", "no CallSid"),
        (b"CallSid=CA1&From=Anonymous&Direction=inbound", "not a phone number"),
        (b"CallSid=CA1&From=%2B266696687&Direction=inbound", "withheld"),
        (b"CallSid=CA1&From=%2B14155559999&Direction=outbound-api", "no callee number"),
        (b"CallSid=CA1&From=%2B14155550123&Direction=sideways", "unknown call direction"),
        (b"CallSid=CA1&From=%2B14155550123&CallDuration=long", "CallDuration"),
    ],
)
def test_rejections_say_why(body, reason):
    with pytest.raises(Rejected) as error:
        parse_call(body)

    assert reason in error.value.reason


def test_missing_direction_and_duration_mean_an_inbound_call_of_zero_seconds():
    inbound = parse_call(b"CallSid=CA1&From=%2B14155550123&CallStatus=completed")

    assert inbound.text == "Inbound call, 0 s."
    assert inbound.call == InboundCall(CallDirection.INBOUND, "+14155550123", 0, "")


def test_outbound_dial_is_outbound():
    inbound = parse_call(b"CallSid=CA1&To=%2B14155550123&Direction=outbound-dial&CallDuration=60")

    assert inbound.text == "Outbound call, 1 min 0 s."
    assert inbound.call is not None
    assert inbound.call.direction == CallDirection.OUTBOUND


def test_a_recording_url_too_long_for_the_call_log_stays_in_the_text():
    url = "https://x.example/" + "a" * 500

    inbound = parse_call(f"CallSid=CA1&From=%2B14155550123&RecordingUrl={url}".encode())

    assert inbound.text.endswith(f"Recording: {url}")
    assert inbound.call is not None
    assert inbound.call.recording_url == ""
