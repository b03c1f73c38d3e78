"""Bounces of the emails we send: reported by the provider through anymail's tracking
webhook, or mailed back by a mail server (RFC 3464) to the support address. Either way the
agents see the reply was not delivered, on the ticket and in their notifications; a
bounce never becomes a ticket of its own."""

import base64
from io import StringIO

import pytest
from django.core.management import call_command

from tickets import services
from tickets.collab import services as collab
from tickets.inbound import InboundMessage
from tickets.models import Channel, ContactKind, DeliveryStatus, Message, SideMessage, Ticket

pytestmark = pytest.mark.django_db

SECRET = "hooks:bounce-s3cret"
CUSTOMER = "maria.lopez@example.com"
COPY = "boss@example.com"
POSTMARK_TRACKING = "/anymail/postmark/tracking/"
NOT_FOUND = "smtp;550 5.1.1 The email account that you tried to reach does not exist."


@pytest.fixture(autouse=True)
def _mail(settings, celery_eager):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}


@pytest.fixture
def reply(agent, django_capture_on_commit_callbacks) -> Message:
    """An agent's email reply to Maria (and her boss, on copy), sent by the delivery task."""
    inbound = InboundMessage(
        channel=Channel.EMAIL,
        sender_kind=ContactKind.EMAIL,
        sender=CUSTOMER,
        sender_name="Maria Lopez",
        subject="Cannot log in",
        text="My account says it is locked.",
        external_id="<locked-1@example.com>",
        cc=((COPY, "The Boss"),),
    )
    ticket = services.ticket_ingest(inbound=inbound).ticket
    with django_capture_on_commit_callbacks(execute=True):
        sent = services.ticket_reply(ticket=ticket, actor=agent, text="I unlocked it.")
    sent.refresh_from_db()
    assert sent.delivery_status == DeliveryStatus.SENT
    return sent


def postmark_report(client, message: Message | SideMessage, record_type: str = "Bounce", **fields):
    payload = {
        "RecordType": record_type,
        "ID": 4323372036854775807,
        "Type": "HardBounce",
        "TypeCode": 1,
        "MessageID": message.provider_id,
        "Description": "The server was unable to deliver your message (ex: unknown user).",
        "Details": NOT_FOUND,
        "Email": CUSTOMER,
        "Recipient": CUSTOMER,
        "BouncedAt": "2026-12-06T10:00:00Z",
        "DeliveredAt": "2026-12-06T10:00:00Z",
        "MessageStream": "outbound",
        **fields,
    }
    auth = base64.b64encode(SECRET.encode()).decode()
    return client.post(
        POSTMARK_TRACKING,
        payload,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {auth}",
    )


def ticket_page(client, agent, ticket: Ticket) -> str:
    client.force_login(agent)
    return client.get(f"/agent/tickets/{ticket.pk}/").content.decode()


def notifications_page(client, agent) -> str:
    client.force_login(agent)
    return client.get("/agent/notifications/").content.decode()


def test_a_bounce_the_provider_reports_shows_on_the_reply_and_tells_the_agent(client, agent, reply):
    response = postmark_report(client, reply)

    assert response.status_code == 200
    page = ticket_page(client, agent, reply.ticket)
    assert "not delivered: Postmark: The server was unable to deliver your message" in page
    assert "550 5.1.1" in page
    told = notifications_page(client, agent)
    assert f"{reply.ticket.reference}: a message to the customer was not delivered" in told


def test_without_a_webhook_secret_no_report_is_taken(client, agent, reply, settings):
    settings.ANYMAIL = {}

    response = postmark_report(client, reply)

    assert response.status_code == 404
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.SENT
    assert "not delivered" not in ticket_page(client, agent, reply.ticket)


def test_a_delivery_the_provider_reports_shows_on_the_reply(client, agent, reply):
    response = postmark_report(client, reply, record_type="Delivery")

    assert response.status_code == 200
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.DELIVERED
    assert "not delivered" not in ticket_page(client, agent, reply.ticket)


def test_a_bounce_of_the_copy_leaves_the_customers_reply_delivered(client, agent, reply):
    postmark_report(client, reply, Email=COPY, Recipient=COPY)

    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.SENT
    page = ticket_page(client, agent, reply.ticket)
    assert f"Not delivered to {COPY}, who had a copy: Postmark:" in page


def test_a_report_on_mail_that_is_not_ours_changes_nothing(client, agent, reply):
    other = Message(provider_id="someone-elses-0000")

    response = postmark_report(client, other)

    assert response.status_code == 200
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.SENT


def dsn(original_message_id: str, *, action: str = "failed", status: str = "5.1.1") -> bytes:
    """A bounce as Postfix mails it back: the explanation, the delivery status, the headers
    of the email it is about."""
    return (
        "From: MAILER-DAEMON@mx.example.com (Mail Delivery System)\r\n"
        "To: support@localhost\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <20261206100000.ABC@mx.example.com>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n'
        "\r\n"
        "--B\r\n"
        "Content-Type: text/plain\r\n"
        "\r\n"
        "This is the mail system at host mx.example.com. I'm sorry to have to inform you\r\n"
        "that your message could not be delivered to one or more recipients.\r\n"
        "--B\r\n"
        "Content-Type: message/delivery-status\r\n"
        "\r\n"
        "Reporting-MTA: dns; mx.example.com\r\n"
        "\r\n"
        f"Final-Recipient: rfc822; {CUSTOMER}\r\n"
        f"Action: {action}\r\n"
        f"Status: {status}\r\n"
        f"Diagnostic-Code: smtp; 550 {status} <{CUSTOMER}>: Recipient address rejected\r\n"
        "--B\r\n"
        "Content-Type: text/rfc822-headers\r\n"
        "\r\n"
        f"Message-ID: {original_message_id}\r\n"
        "From: Support <support@localhost>\r\n"
        f"To: {CUSTOMER}\r\n"
        "Subject: Re: Cannot log in\r\n"
        "--B--\r\n"
    ).encode()


def ingest(tmp_path, raw: bytes) -> str:
    path = tmp_path / "bounce.eml"
    path.write_bytes(raw)
    out = StringIO()
    call_command("ingest_email", str(path), stdout=out)
    return out.getvalue().strip()


def test_a_bounce_mailed_back_goes_on_the_reply_not_on_a_new_ticket(tmp_path, client, agent, reply):
    said = ingest(tmp_path, dsn(reply.external_id))

    assert said == f"{reply.ticket.reference} bounce"
    assert Ticket.objects.count() == 1
    page = ticket_page(client, agent, reply.ticket)
    assert f"not delivered: {CUSTOMER}: 550 5.1.1 &lt;{CUSTOMER}&gt;: Recipient address" in page
    assert "Undelivered Mail Returned to Sender" not in page
    assert "a message to the customer was not delivered" in notifications_page(client, agent)


def test_a_delay_warning_keeps_the_reply_sent(tmp_path, reply):
    said = ingest(tmp_path, dsn(reply.external_id, action="delayed", status="4.4.1"))

    assert said == f"{reply.ticket.reference} delayed"
    assert Ticket.objects.count() == 1
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.SENT


def test_a_bounce_of_mail_that_is_not_ours_is_kept_as_a_ticket_and_not_answered(tmp_path, reply):
    said = ingest(tmp_path, dsn("<sent-by-someone-else@example.org>"))

    bounce = Ticket.objects.exclude(pk=reply.ticket_id).get()
    assert said == f"{bounce.reference} new"
    assert bounce.subject == "Undelivered Mail Returned to Sender"
    assert not bounce.messages.filter(kind="outbound").exists()  # no acknowledgement
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.SENT


@pytest.fixture
def side_email(agent, reply, django_capture_on_commit_callbacks) -> SideMessage:
    """The agent's email to a vendor about the ticket, in a side conversation, sent."""
    with django_capture_on_commit_callbacks(execute=True):
        conversation = collab.side_conversation_start(
            ticket=reply.ticket,
            to="help@vendor.example",
            subject="Locked accounts",
            text="Do you see lockouts on your side?",
            actor=agent,
        )
    sent = conversation.messages.get()
    assert sent.delivery_status == DeliveryStatus.SENT
    return sent


def test_a_bounce_of_a_side_conversation_email_shows_in_the_history(client, agent, side_email):
    response = postmark_report(
        client, side_email, Email="help@vendor.example", Recipient="help@vendor.example"
    )

    assert response.status_code == 200
    side_email.refresh_from_db()
    assert side_email.delivery_status == DeliveryStatus.FAILED
    assert "Not delivered: Postmark: The server was unable" in ticket_page(
        client, agent, side_email.conversation.ticket
    )


def test_a_side_conversation_bounce_mailed_back_goes_on_its_email(tmp_path, side_email):
    said = ingest(tmp_path, dsn(side_email.external_id))

    assert said == f"{side_email.conversation.ticket.reference} bounce"
    assert Ticket.objects.count() == 1
    side_email.refresh_from_db()
    assert side_email.delivery_status == DeliveryStatus.FAILED


def test_a_german_agent_is_told_in_german(client, agent, reply):
    agent.agent_profile.language = "de"
    agent.agent_profile.save()

    postmark_report(client, reply)

    told = notifications_page(client, agent)
    assert "Eine Nachricht an den Kunden wurde nicht zugestellt: Postmark:" in told
