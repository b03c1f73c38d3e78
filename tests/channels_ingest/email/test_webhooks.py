"""Inbound email through anymail's real webhook views, for four providers, authenticated."""

import base64
import hashlib
import hmac
import json
import secrets
import time

import pytest

from channels_ingest.models import InboundItem, InboundStatus
from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db

SECRET = "hooks:s3cr3t-Pa55"
SIGNING_KEY = "key-mailgun-signing-0123456789"
RAW = (
    b"Message-ID: <CAF3x+sample@mail.gmail.com>\r\n"
    b"From: Maria Lopez <maria.lopez@example.com>\r\n"
    b"To: support@localhost\r\n"
    b"Subject: Cannot log in\r\n"
    b"Date: Sat, 21 Nov 2026 09:30:00 +0000\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"My account says it is locked.\r\n"
)


def basic_auth(credentials: str = SECRET) -> dict[str, str]:
    token = base64.b64encode(credentials.encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


@pytest.fixture(autouse=True)
def anymail_settings(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}


def postmark(
    client,
    *,
    attachment: bytes = b"Account locked (code 42)",
    name: str = "error.txt",
    content_type: str = "text/plain",
    **auth,
):
    payload = {
        "FromName": "Maria Lopez",
        "MessageStream": "inbound",
        "From": "maria.lopez@example.com",
        "FromFull": {"Email": "maria.lopez@example.com", "Name": "Maria Lopez", "MailboxHash": ""},
        "To": "support@localhost",
        "ToFull": [{"Email": "support@localhost", "Name": "", "MailboxHash": ""}],
        "Cc": "",
        "CcFull": [],
        "Bcc": "",
        "BccFull": [],
        "OriginalRecipient": "support@localhost",
        "Subject": "Cannot log in",
        "MessageID": "22c74902-a0c1-4511-804f-341342852c90",
        "ReplyTo": "",
        "MailboxHash": "",
        "Date": "Sat, 21 Nov 2026 09:30:00 +0000",
        "TextBody": "My account says it is locked.",
        "HtmlBody": "<p>My account says it is <b>locked</b>.<script>alert(1)</script></p>",
        "StrippedTextReply": "",
        "Tag": "",
        "Headers": [
            {"Name": "Message-ID", "Value": "<CAF3x+sample@mail.gmail.com>"},
            {"Name": "X-Spam-Status", "Value": "No"},
        ],
        "Attachments": [
            {
                "Name": name,
                "Content": base64.b64encode(attachment).decode(),
                "ContentType": content_type,
                "ContentLength": len(attachment),
            }
        ],
    }
    return client.post(
        "/anymail/postmark/inbound/",
        data=json.dumps(payload),
        content_type="application/json",
        **auth,
    )


def mailgun(
    client,
    signing_key: str = SIGNING_KEY,
    *,
    raw: bytes = RAW,
    token: str | None = None,
    signed_at: float | None = None,
    **auth,
):
    """Post as Mailgun does: a fresh random token and the current time, signed."""
    timestamp = str(int(time.time() if signed_at is None else signed_at))
    token = token or secrets.token_hex(25)
    signature = hmac.new(
        signing_key.encode(), (timestamp + token).encode(), hashlib.sha256
    ).hexdigest()
    return client.post(
        "/anymail/mailgun/inbound_mime/",
        {
            "recipient": "support@localhost",
            "sender": "maria.lopez@example.com",
            "from": "Maria Lopez <maria.lopez@example.com>",
            "subject": "Cannot log in",
            "body-mime": raw.decode(),
            "timestamp": timestamp,
            "token": token,
            "signature": signature,
        },
        **auth,
    )


def sendgrid(client, **auth):
    return client.post(
        "/anymail/sendgrid/inbound/",
        {
            "email": RAW.decode(),
            "to": "support@localhost",
            "from": "Maria Lopez <maria.lopez@example.com>",
            "subject": "Cannot log in",
            "envelope": json.dumps(
                {"to": ["support@localhost"], "from": "maria.lopez@example.com"}
            ),
            "charsets": json.dumps({"to": "UTF-8", "subject": "UTF-8", "from": "UTF-8"}),
            "spam_score": "0.1",
        },
        **auth,
    )


def amazon_ses(client, **auth):
    notification = {
        "notificationType": "Received",
        "mail": {
            "timestamp": "2026-11-21T09:30:01.000Z",
            "source": "maria.lopez@example.com",
            "messageId": "jili9m351il3gkburn7o2f0u6788stij94c8ld01",
            "destination": ["support@localhost"],
            "headersTruncated": False,
            "commonHeaders": {"subject": "Cannot log in"},
        },
        "receipt": {
            "timestamp": "2026-11-21T09:30:01.000Z",
            "recipients": ["support@localhost"],
            "spamVerdict": {"status": "PASS"},
            "virusVerdict": {"status": "PASS"},
            "action": {
                "type": "SNS",
                "topicArn": "arn:aws:sns:us-east-1:123456789012:helpdesk-inbound",
                "encoding": "BASE64",
            },
        },
        "content": base64.b64encode(RAW).decode(),
    }
    sns = {
        "Type": "Notification",
        "MessageId": "8a3f6f41-0c2c-5f3e-9b2a-5c1c1f3b9d21",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:helpdesk-inbound",
        "Subject": "Amazon SES Email Receipt Notification",
        "Message": json.dumps(notification),
        "Timestamp": "2026-11-21T09:30:01.000Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLE",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/cert.pem",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
    }
    return client.post(
        "/anymail/amazon_ses/inbound/",
        data=json.dumps(sns),
        content_type="text/plain; charset=UTF-8",
        HTTP_X_AMZ_SNS_MESSAGE_TYPE="Notification",
        HTTP_X_AMZ_SNS_MESSAGE_ID=sns["MessageId"],
        **auth,
    )


AUTHENTICATED = {
    "postmark": lambda c: postmark(c, **basic_auth()),
    "mailgun": lambda c: mailgun(c, **basic_auth()),
    "sendgrid": lambda c: sendgrid(c, **basic_auth()),
    "amazon_ses": lambda c: amazon_ses(c, **basic_auth()),
}
UNAUTHENTICATED = {
    "postmark, no auth": lambda c: postmark(c),
    "postmark, wrong password": lambda c: postmark(c, **basic_auth("hooks:wrong")),
    "mailgun, wrong signing key": lambda c: mailgun(c, signing_key="wrong", **basic_auth()),
    "mailgun, no auth": lambda c: mailgun(c),
    "sendgrid, no auth": lambda c: sendgrid(c),
    "amazon_ses, no auth": lambda c: amazon_ses(c),
    "amazon_ses, wrong password": lambda c: amazon_ses(c, **basic_auth("hooks:wrong")),
}


@pytest.mark.parametrize("provider", AUTHENTICATED)
def test_provider_payload_becomes_a_ticket(
    client, provider, celery_eager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = AUTHENTICATED[provider](client)

    assert response.status_code == 200, response.content
    item = InboundItem.objects.get()
    assert (item.channel, item.source, item.status, item.outcome) == (
        "email",
        provider,
        InboundStatus.PROCESSED,
        "new",
    )
    assert item.idempotency_key == "<CAF3x+sample@mail.gmail.com>"
    ticket = Ticket.objects.get()
    assert (ticket.subject, ticket.channel) == ("Cannot log in", "email")
    assert ticket.customer.contact_points.get().value == "maria.lopez@example.com"
    message = Message.objects.get()
    assert "locked" in message.body_text
    assert message.external_id == "<CAF3x+sample@mail.gmail.com>"
    assert message.original  # the full message is kept


def test_postmark_html_is_sanitised_and_attachment_kept(
    client, celery_eager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        postmark(client, **basic_auth())
    message = Message.objects.get()
    assert "<b>locked</b>" in message.body_html
    assert "script" not in message.body_html
    attachment = message.attachments.get()
    assert (attachment.filename, attachment.file.read()) == (
        "error.txt",
        b"Account locked (code 42)",
    )


@pytest.mark.parametrize(
    ("name", "content_type", "content"),
    [
        ("screen.png", "image/png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))),
        ("logs.zip", "application/zip", b"PK\x03\x04" + b"\r\n\r" * 40 + b"\x00\r"),
        ("notes.txt", "text/plain", b"first line\r\nsecond line\r\n"),
    ],
)
def test_a_postmark_attachment_is_kept_byte_for_byte(
    name, content_type, content, client, celery_eager, django_capture_on_commit_callbacks
):
    """Postmark posts JSON; the message anymail builds from it is serialised to be stored:
    CR bytes in a file must come through as they were sent."""
    with django_capture_on_commit_callbacks(execute=True):
        response = postmark(
            client, attachment=content, name=name, content_type=content_type, **basic_auth()
        )
    assert response.status_code == 200
    attachment = Message.objects.get().attachments.get()
    assert (attachment.filename, attachment.file.read()) == (name, content)


@pytest.mark.parametrize("provider", AUTHENTICATED)
def test_redelivery_is_stored_once(
    client, provider, celery_eager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert AUTHENTICATED[provider](client).status_code == 200
        assert AUTHENTICATED[provider](client).status_code == 200
    assert InboundItem.objects.count() == 1
    assert Message.objects.count() == 1


@pytest.mark.parametrize("attempt", UNAUTHENTICATED)
def test_unauthenticated_posts_are_refused_and_store_nothing(client, attempt):
    response = UNAUTHENTICATED[attempt](client)
    assert response.status_code in (400, 401, 403)
    assert not InboundItem.objects.exists()
    assert not Ticket.objects.exists()


WITHOUT_A_SECRET = {
    "postmark": postmark,
    "mailgun": mailgun,  # signed with its signing key, its only other check
    "sendgrid": sendgrid,
    "amazon_ses": amazon_ses,
}


@pytest.mark.parametrize("secret", ["unset", ""])  # "": docker-compose.yml's default
@pytest.mark.parametrize("provider", WITHOUT_A_SECRET)
def test_without_a_webhook_secret_the_mail_webhooks_are_off(client, settings, provider, secret):
    """anymail itself takes anyone's post when no secret is set (it only warns)."""
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}
    if secret != "unset":
        settings.ANYMAIL["WEBHOOK_SECRET"] = secret

    response = WITHOUT_A_SECRET[provider](client)

    assert response.status_code == 404
    assert not InboundItem.objects.exists()
    assert not Ticket.objects.exists()


def test_stored_before_processing(client):
    """Without a worker, the payload is still safely stored (processing happens later)."""
    response = postmark(client, **basic_auth())
    assert response.status_code == 200
    item = InboundItem.objects.get()
    assert item.status == InboundStatus.RECEIVED
    assert b"Subject: Cannot log in" in bytes(item.payload)
    assert not Ticket.objects.exists()


def _mime_with(attachment: bytes) -> bytes:
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"], message["To"] = "Maria Lopez <maria.lopez@example.com>", "support@localhost"
    message["Subject"], message["Message-ID"] = "Big log", "<big@mail.example>"
    message.set_content("The log is attached.")
    message.add_attachment(attachment, maintype="application", subtype="octet-stream",
                           filename="big.log")  # fmt: skip
    return message.as_bytes()


@pytest.mark.parametrize("provider", ["postmark", "mailgun"])
def test_mail_with_megabytes_of_attachments_is_taken_not_refused(
    client, provider, celery_eager, django_capture_on_commit_callbacks
):
    big = b"0123456789abcdef" * (10 * 1024 * 1024 // 16)  # 10 MiB, past Django's 2.5 MiB
    with django_capture_on_commit_callbacks(execute=True):
        if provider == "postmark":
            response = postmark(client, attachment=big, **basic_auth())
        else:
            response = mailgun(client, raw=_mime_with(big), **basic_auth())
    assert response.status_code == 200, response.content[:300]
    stored = Message.objects.get().attachments.get()
    assert stored.size == len(big)


def test_a_mailgun_signature_is_taken_once(client, celery_eager):
    token = secrets.token_hex(25)
    first = mailgun(client, token=token, **basic_auth())
    other = RAW.replace(b"CAF3x+sample", b"forged").replace(b"locked", b"fine, send money")

    replayed = mailgun(client, token=token, raw=other, **basic_auth())

    assert (first.status_code, replayed.status_code) == (200, 400)
    assert InboundItem.objects.count() == 1
    assert not Message.objects.filter(body_text__contains="money").exists()


@pytest.mark.parametrize("seconds_ago", [400 * 24 * 3600, 541 * 60, -3600])
def test_a_mailgun_signature_outside_the_window_is_refused(client, seconds_ago):
    response = mailgun(client, signed_at=time.time() - seconds_ago, **basic_auth())

    assert response.status_code == 400
    assert not InboundItem.objects.exists()


def test_a_mailgun_retry_within_the_window_is_taken(client, celery_eager):
    # Mailgun retries for up to 8 hours; a delivery signed 7 hours ago is still Mailgun's.
    response = mailgun(client, signed_at=time.time() - 7 * 3600, **basic_auth())

    assert response.status_code == 200
    assert InboundItem.objects.count() == 1


def test_a_failed_mailgun_delivery_gives_its_token_back(client, celery_eager, monkeypatch):
    from channels_ingest import pipeline

    real_receive = pipeline.receive

    def database_down(**kwargs):
        raise ConnectionError("database down")

    token = secrets.token_hex(25)
    monkeypatch.setattr(pipeline, "receive", database_down)
    with pytest.raises(ConnectionError):
        mailgun(client, token=token, **basic_auth())
    monkeypatch.setattr(pipeline, "receive", real_receive)

    retried = mailgun(client, token=token, **basic_auth())

    assert retried.status_code == 200
    assert InboundItem.objects.count() == 1


UNREADABLE_BODIES = {
    "a form": {"data": {"subject": "hello"}},
    "a JSON list": {"data": "[1, 2]", "content_type": "application/json"},
    "a JSON string": {"data": '"hello"', "content_type": "application/json"},
    "cut-off JSON": {"data": '{"From": ', "content_type": "application/json"},
    "nothing": {"data": "", "content_type": "application/json"},
}


@pytest.mark.parametrize("body", UNREADABLE_BODIES, ids=str)
@pytest.mark.parametrize(
    "url",
    [
        "/anymail/postmark/inbound/",
        "/anymail/postmark/tracking/",
        "/anymail/sendgrid/inbound/",
        "/anymail/sendgrid/tracking/",
        "/anymail/amazon_ses/inbound/",
        "/anymail/amazon_ses/tracking/",
        "/anymail/mailjet/tracking/",
        "/anymail/brevo/tracking/",
    ],
)
def test_an_authenticated_post_that_is_not_the_providers_is_a_bad_request(client, url, body):
    """A client error, not a server error the provider would retry for days."""
    response = client.post(url, **UNREADABLE_BODIES[body], **basic_auth())

    assert response.status_code == 400
    assert InboundItem.objects.count() == 0


def test_a_signed_mailgun_post_without_its_message_is_a_bad_request(client):
    timestamp, token = str(int(time.time())), secrets.token_hex(25)
    signature = hmac.new(
        SIGNING_KEY.encode(), (timestamp + token).encode(), hashlib.sha256
    ).hexdigest()
    response = client.post(
        "/anymail/mailgun/inbound_mime/",
        {"timestamp": timestamp, "token": token, "signature": signature},
        **basic_auth(),
    )

    assert response.status_code == 400
    assert InboundItem.objects.count() == 0


def test_our_own_fault_while_storing_stays_a_server_error(client, monkeypatch):
    """What the provider posted was read: a fault of ours after that is a 500, retried."""
    from channels_ingest import pipeline

    def broken(**kwargs):
        raise ValueError("a bug of ours")

    monkeypatch.setattr(pipeline, "receive", broken)
    with pytest.raises(ValueError, match="a bug of ours"):
        postmark(client, **basic_auth())
