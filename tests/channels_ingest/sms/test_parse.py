"""Golden Twilio inbound-SMS bodies -> InboundMessage, exact values."""

from pathlib import Path

import pytest

from channels_ingest.errors import Rejected
from channels_ingest.sms.parse import parse_sms
from tickets.models import Channel, ContactKind

GOLDEN = Path(__file__).parent / "golden"
MEDIA = "https://api.twilio.com/2010-04-01/Accounts/AC11111111111111111111111111111111/Messages"

# file -> (sender, external id, text)
EXPECTED = {
    "plain_us.txt": (
        "+14155550123",
        "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9",
        "My router keeps dropping the connection every evening.",
    ),
    "mms_two_items.txt": (
        "+12125550147",
        "MM9f8e7d6c5b4a39281706f5e4d3c2b1a0",
        "Here is the error screen and the invoice\n"
        f"[media: image/jpeg {MEDIA}/MM9f8e7d6c5b4a39281706f5e4d3c2b1a0/Media/"
        "ME0000000000000000000000000000000a]\n"
        f"[media: application/pdf {MEDIA}/MM9f8e7d6c5b4a39281706f5e4d3c2b1a0/Media/"
        "ME0000000000000000000000000000000b]",
    ),
    "mms_without_text.txt": (
        "+14155550123",
        "MM00000000000000000000000000000001",
        f"[media: image/png {MEDIA}/MM00000000000000000000000000000001/Media/"
        "ME00000000000000000000000000000001]",
    ),
    "unicode_uk.txt": (
        "+447700900123",
        "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "Ça ne marche plus 😞\nLe voyant clignote en rouge.",
    ),
}


def test_every_golden_file_has_expectations():
    assert sorted(p.name for p in GOLDEN.glob("*.txt")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_golden(name):
    sender, external_id, text = EXPECTED[name]

    inbound = parse_sms((GOLDEN / name).read_bytes().strip())

    assert inbound.channel == Channel.SMS
    assert inbound.sender_kind == ContactKind.PHONE
    assert (inbound.sender, inbound.external_id, inbound.text) == (sender, external_id, text)
    assert (inbound.subject, inbound.html, inbound.attachments, inbound.call) == ("", "", (), None)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"MessageSid=SM1&From=%2B14155550123&Body=&NumMedia=0", "empty message"),
        (b"MessageSid=SM1&From=%2B14155550123&Body=+++%0A", "empty message"),
        (b"MessageSid=SM1&Body=Hello", "no sender number"),
        (b"MessageSid=SM1&From=ACME&Body=Hello", "alphanumeric sender ID"),
        (b"MessageSid=SM1&From=whatsapp%3A%2B14155550123&Body=Hi", "not a phone number"),
        (b"MessageSid=SM1&From=12345&Body=Hello", "short code"),
        (b"MessageSid=SM1&From=%2B266696687&Body=Hello", "not a possible phone number"),
        (b"From=%2B14155550123&Body=Hello", "no MessageSid"),
        (b"MessageSid=SM1&From=%2B14155550123&Body=Hi&NumMedia=two", "NumMedia"),
    ],
)
def test_rejections_say_why(body, reason):
    with pytest.raises(Rejected) as error:
        parse_sms(body)

    assert reason in error.value.reason


def test_national_format_is_normalised_with_the_default_region(settings):
    settings.HELPDESK_PHONE_REGION = "GB"

    inbound = parse_sms(b"MessageSid=SM1&From=07700+900123&Body=Hi")

    assert inbound.sender == "+447700900123"


def test_media_without_url_is_skipped_and_count_is_bounded():
    fields = "&".join(f"MediaUrl{i}=https%3A%2F%2Fm.example%2F{i}" for i in range(12))
    body = f"MessageSid=SM1&From=%2B14155550123&Body=x&NumMedia=12&MediaUrl1=&{fields}"

    inbound = parse_sms(body.encode())

    # MediaUrl1 appears twice; the first (empty) value counts, as Twilio sends each once.
    assert inbound.text.splitlines() == ["x"] + [
        f"[media: unknown type https://m.example/{i}]" for i in range(10) if i != 1
    ]


def test_invalid_utf8_is_replaced_not_rejected():
    inbound = parse_sms(b"MessageSid=SM1&From=%2B14155550123&Body=caf%E9+ok")

    assert inbound.text == "caf\ufffd ok"
