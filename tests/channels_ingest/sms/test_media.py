"""An MMS's pictures end up as files of its message, fetched from Twilio (with our account's
credentials: accounts that protect their media with HTTP auth are common) after the text
is on its ticket. A fetch that fails for now is tried again; one that fails for good
leaves the link in the text: nothing the customer sent is lost.

Twilio's media host is a local HTTP server here, the edge of the world."""

import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from channels_ingest.models import InboundItem, InboundStatus
from channels_ingest.sms import media
from tests.channels_ingest.sms.twilio_helpers import ACCOUNT_SID, SMS_URL, TOKEN, post, sms_params
from tickets.models import Message

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("twilio_settings")]

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 200
PDF = b"%PDF-1.4\n" + b"0" * 100
AUTH = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{TOKEN}".encode()).decode()


class TwilioMedia:
    """What the fake media host answers, by path: (status, content type, body); and what it
    was asked."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[int, str, bytes]] = {}
        self.asked: list[tuple[str, str]] = []


@pytest.fixture
def twilio_media(monkeypatch) -> Iterator[tuple[TwilioMedia, str]]:
    host = TwilioMedia()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            host.asked.append((self.path, self.headers.get("Authorization", "")))
            if self.headers.get("Authorization") != AUTH:
                status, content_type, body = 401, "text/plain", b"auth"
            else:
                status, content_type, body = host.files.get(self.path, (404, "text/plain", b""))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    # Our credentials go to Twilio's media hosts only; here that is the local one.
    monkeypatch.setattr(media, "TWILIO_MEDIA_HOSTS", ("127.0.0.1",))
    yield host, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def mms_in(client, django_capture_on_commit_callbacks, celery_eager):
    def deliver(sid: str, urls: list[tuple[str, str]], body: str = "") -> Message:
        extra = {"NumMedia": str(len(urls))}
        for index, (url, content_type) in enumerate(urls):
            extra[f"MediaUrl{index}"] = url
            extra[f"MediaContentType{index}"] = content_type
        with django_capture_on_commit_callbacks(execute=True):
            response = post(client, SMS_URL, sms_params(sid, "+14155550123", body, **extra))
        assert response.status_code == 200
        item = InboundItem.objects.get(channel="sms", idempotency_key=sid)
        assert item.status == InboundStatus.PROCESSED, item.error
        return Message.objects.get(pk=item.message_id)

    return deliver


def test_an_mms_picture_becomes_a_file_of_its_message(twilio_media, mms_in):
    host, base = twilio_media
    host.files["/Media/ME1"] = (200, "image/jpeg", JPEG)

    message = mms_in("MM100", [(f"{base}/Media/ME1", "image/jpeg")], body="My screen")

    [attachment] = message.attachments.all()
    assert attachment.content_type == "image/jpeg"
    assert attachment.file.read() == JPEG
    assert attachment.filename.endswith(".jpg")
    assert host.asked == [("/Media/ME1", AUTH)]
    # The link stays in the text, as it was.
    assert f"[media: image/jpeg {base}/Media/ME1]" in message.body_text


def test_every_item_of_a_message_is_kept_in_order(twilio_media, mms_in):
    host, base = twilio_media
    host.files["/Media/ME1"] = (200, "image/jpeg", JPEG)
    host.files["/Media/ME2"] = (200, "application/pdf", PDF)

    message = mms_in(
        "MM101", [(f"{base}/Media/ME1", "image/jpeg"), (f"{base}/Media/ME2", "application/pdf")]
    )

    files = [(a.content_type, a.file.read()) for a in message.attachments.order_by("pk")]
    assert files == [("image/jpeg", JPEG), ("application/pdf", PDF)]


def test_a_fetch_failing_for_now_is_tried_again_and_the_file_kept_once(
    twilio_media, mms_in, client, django_capture_on_commit_callbacks
):
    host, base = twilio_media
    host.files["/Media/ME1"] = (503, "text/plain", b"busy")

    message = mms_in("MM102", [(f"{base}/Media/ME1", "image/jpeg")])
    assert message.attachments.count() == 0

    host.files["/Media/ME1"] = (200, "image/jpeg", JPEG)
    from channels_ingest.tasks import fetch_sms_media

    item = InboundItem.objects.get(idempotency_key="MM102")
    fetch_sms_media.delay(item.pk)
    fetch_sms_media.delay(item.pk)  # a repeated task keeps it once

    assert [a.file.read() for a in message.attachments.all()] == [JPEG]


def test_media_gone_for_good_leaves_the_link_and_the_other_files(twilio_media, mms_in):
    host, base = twilio_media
    host.files["/Media/ME2"] = (200, "application/pdf", PDF)

    message = mms_in(
        "MM103", [(f"{base}/Media/ME1", "image/jpeg"), (f"{base}/Media/ME2", "application/pdf")]
    )

    assert [a.content_type for a in message.attachments.all()] == ["application/pdf"]
    assert f"{base}/Media/ME1" in message.body_text


def test_our_credentials_never_go_to_a_host_that_is_not_twilios(mms_in, twilio_media, monkeypatch):
    host, base = twilio_media
    monkeypatch.setattr(media, "TWILIO_MEDIA_HOSTS", ("api.twilio.com",))
    host.files["/Media/ME1"] = (200, "image/jpeg", JPEG)

    message = mms_in("MM104", [(f"{base}/Media/ME1", "image/jpeg")])

    assert message.attachments.count() == 0
    assert host.asked == []
