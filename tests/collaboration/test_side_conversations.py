"""Side conversations: an agent emails a vendor from the ticket (pending, sent by the
delivery task through anymail); the vendor's reply, through the real inbound webhook,
threads into the side conversation: never onto the customer's conversation, never in the
portal, and the ticket's status stays as it was."""

import base64
import json

import pytest
from django.core import mail

from channels_ingest.models import InboundItem, InboundStatus
from tests.conftest import _client_for
from tickets import services
from tickets.collab import services as collab
from tickets.models import (
    DeliveryStatus,
    EventKind,
    Notification,
    SideConversation,
    SideMessage,
    Ticket,
    TicketStatus,
)

pytestmark = pytest.mark.django_db
SECRET = "hooks:side-secret"


@pytest.fixture(autouse=True)
def _mail(settings):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}


def vendor_mail(client, *, message_id: str, subject: str, text: str, sender: str, headers=()):
    """A reply as Postmark posts it to anymail's inbound webhook."""
    payload = {
        "FromFull": {"Email": sender, "Name": "Vendor Support", "MailboxHash": ""},
        "ToFull": [{"Email": "support@localhost", "Name": "", "MailboxHash": ""}],
        "CcFull": [],
        "Subject": subject,
        "Date": "Sat, 05 Dec 2026 10:30:00 +0000",
        "TextBody": text,
        "HtmlBody": "",
        "Headers": [{"Name": "Message-ID", "Value": message_id}, *headers],
        "Attachments": [],
    }
    auth = base64.b64encode(SECRET.encode()).decode()
    return client.post(
        "/anymail/postmark/inbound/",
        data=json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {auth}",
    )


@pytest.fixture
def started(as_user, ann, ticket, celery_eager, django_capture_on_commit_callbacks):
    """Ann, assigned, asks the vendor from the ticket page; the ticket waits on the customer."""
    services.ticket_assign(ticket=ticket, assignee=ann, actor=ann)
    services.ticket_change_status(ticket=ticket, status=TicketStatus.PENDING_CUSTOMER, actor=ann)
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(ann).post(
            f"/agent/tickets/{ticket.pk}/side/",
            {
                "to": "Help@Vendor.example",
                "subject": "Invoice sync API errors",
                "text": "Your API returns 500 for our invoice sync since Monday.",
            },
        )
    assert response.status_code == 302
    return SideConversation.objects.get()


def test_the_side_email_goes_out_through_anymail_in_its_own_thread(started, ticket):
    [sent] = mail.outbox  # to the vendor only: nothing to the customer
    assert sent.to == ["help@vendor.example"]
    tag = f"[{ticket.reference}/S{started.pk}]"
    assert sent.subject == f"Invoice sync API errors {tag}"
    assert f"[{ticket.reference}]" not in sent.subject  # never the ticket's own tag
    assert "+s" in sent.reply_to[0] and "+t" not in sent.reply_to[0]
    message = started.messages.get()
    assert sent.extra_headers["Message-ID"] == message.external_id
    assert sent.anymail_status.status == {"sent"}
    # anymail's test backend gives no provider id of its own: the message is known by ours.
    assert (message.delivery_status, message.provider_id) == (
        DeliveryStatus.SENT,
        sent.anymail_status.message_id or message.external_id,
    )
    assert ticket.messages.count() == 1  # the customer's conversation is untouched
    assert ticket.events.filter(kind=EventKind.SIDE_STARTED).count() == 1


def test_the_vendor_reply_threads_into_the_side_conversation_only(
    started, ticket, client, ann, cleo, customer_user, django_capture_on_commit_callbacks
):
    collab.ticket_follow(ticket=ticket, actor=cleo)
    ours = mail.outbox[0].extra_headers["Message-ID"]
    with django_capture_on_commit_callbacks(execute=True):
        response = vendor_mail(
            client,
            message_id="<r1@vendor.example>",
            subject=f"Re: {mail.outbox[0].subject}",
            text="We found the bug; a fix ships tomorrow.",
            sender="help@vendor.example",
            headers=[{"Name": "In-Reply-To", "Value": ours}, {"Name": "References", "Value": ours}],
        )
    assert response.status_code == 200
    item = InboundItem.objects.get()
    assert (item.status, item.outcome, item.ticket_id, item.message_id) == (
        InboundStatus.PROCESSED,
        "side",
        ticket.pk,
        None,
    )
    reply = SideMessage.objects.get(kind="inbound")
    assert (reply.conversation, reply.sender) == (started, "help@vendor.example")
    assert "fix ships tomorrow" in reply.body_text
    # Not on the customer's conversation, no new ticket, the status and clocks as they were.
    assert Ticket.objects.count() == 1
    ticket.refresh_from_db()
    assert ticket.messages.count() == 1
    assert ticket.status == TicketStatus.PENDING_CUSTOMER
    assert len(mail.outbox) == 1  # nothing went to the customer
    # The assignee and the followers are told.
    told = Notification.objects.filter(kind="side_reply").values_list("user__username", flat=True)
    assert sorted(told) == ["ann", "cleo"]

    # Shown on the ticket page in its thread; never in the customer's portal.
    page = _agent_page(client, ann, ticket)
    thread = page.split(f'id="side-{started.pk}"')[1].split("</details>")[0]
    assert "We found the bug; a fix ships tomorrow." in thread
    assert "Your API returns 500" in thread
    client.force_login(customer_user)
    portal = client.get(f"/support/tickets/{ticket.pk}/")
    assert portal.status_code == 200
    portal_html = portal.content.decode()
    assert "Since the update our invoices stopped syncing." in portal_html
    for secret in (
        "fix ships tomorrow",
        "Your API returns 500",
        "Invoice sync API errors",
        "vendor",
    ):
        assert secret not in portal_html

    # Redelivered: stored once.
    with django_capture_on_commit_callbacks(execute=True):
        vendor_mail(
            client,
            message_id="<r1@vendor.example>",
            subject="Re: anything",
            text="We found the bug; a fix ships tomorrow.",
            sender="help@vendor.example",
            headers=[{"Name": "In-Reply-To", "Value": ours}],
        )
    assert SideMessage.objects.filter(kind="inbound").count() == 1


def _agent_page(client, user, ticket) -> str:
    client.force_login(user)
    response = client.get(f"/agent/tickets/{ticket.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_a_reply_by_subject_tag_counts_only_from_the_vendor(
    started, ticket, client, django_capture_on_commit_callbacks
):
    subject = f"Re: lost headers [{ticket.reference}/S{started.pk}]"
    with django_capture_on_commit_callbacks(execute=True):
        vendor_mail(
            client, message_id="<r2@vendor.example>", subject=subject,
            text="Headers lost, tag kept.", sender="help@vendor.example",
        )  # fmt: skip
        # Someone else quoting the tag is ordinary mail: a ticket of their own.
        vendor_mail(
            client, message_id="<x1@elsewhere.example>", subject=subject,
            text="I saw this subject somewhere.", sender="eve@elsewhere.example",
        )  # fmt: skip
    assert started.messages.filter(kind="inbound").get().body_text.startswith("Headers lost")
    assert Ticket.objects.count() == 2
    assert ticket.messages.count() == 1


def test_writing_again_and_closing(
    started, as_user, ann, ticket, django_capture_on_commit_callbacks
):
    client = as_user(ann)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/agent/tickets/{ticket.pk}/side/{started.pk}/reply/", {"text": "Thanks!"})
    second = mail.outbox[1]
    assert second.subject.startswith("Re: Invoice sync API errors")
    assert second.extra_headers["In-Reply-To"] == mail.outbox[0].extra_headers["Message-ID"]
    client.post(f"/agent/tickets/{ticket.pk}/side/{started.pk}/close/")
    started.refresh_from_db()
    assert started.status == "closed"
    assert ticket.events.filter(kind=EventKind.SIDE_CLOSED).count() == 1


@pytest.mark.parametrize(
    "to, text, error",
    [
        ("portal@example.com", "Hi", "That is the customer&#x27;s address"),
        ("not an address", "Hi", "is not a valid email address"),
        ("help@vendor.example", "   ", "needs some text"),
        ("support@localhost", "Hi", "the help desk&#x27;s own address"),
    ],
)
def test_a_wrong_side_conversation_is_refused(as_user, ann, ticket, to, text, error):
    response = as_user(ann).post(
        f"/agent/tickets/{ticket.pk}/side/",
        {"to": to, "subject": "Question", "text": text},
        follow=True,
    )
    assert error in response.content.decode()
    assert not SideConversation.objects.exists() and not mail.outbox


def test_the_api_lists_and_starts_side_conversations_for_staff_only(
    ann, ticket, customer_user, django_capture_on_commit_callbacks, celery_eager
):
    api = _client_for(ann)
    url = f"/api/v1/tickets/{ticket.pk}/side-conversations/"
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post(
            url, {"to": "ops@other-dept.example", "subject": "Disk", "text": "Full?"}, format="json"
        )
    assert created.status_code == 201, created.content
    listed = api.get(url).json()
    assert [(c["counterpart"], c["status"]) for c in listed] == [("ops@other-dept.example", "open")]
    assert [(m["kind"], m["body_text"], m["delivery_status"]) for m in listed[0]["messages"]] == [
        ("outbound", "Full?", "sent")
    ]
    side = listed[0]["id"]
    again = api.post(f"{url}{side}/messages/", {"text": "Any news?"}, format="json")
    assert again.status_code == 201 and len(again.json()["messages"]) == 2
    assert api.post(url, {"to": "x@y.example", "subject": "s"}, format="json").status_code == 400
    assert _client_for(customer_user).get(url).status_code == 403


def test_a_reply_to_the_side_address_through_ingest_email_threads_there(started, ticket, tmp_path):
    """Another inbound door (`manage.py ingest_email`, an MTA pipe): a reply that kept only
    the side conversation's reply address still lands in it."""
    from io import StringIO

    from django.core.management import call_command

    reply_to = mail.outbox[0].reply_to[0]
    raw = tmp_path / "vendor.eml"
    raw.write_bytes(
        (
            "Message-ID: <r3@vendor.example>\r\nFrom: Vendor <help@vendor.example>\r\n"
            f"To: {reply_to}\r\nSubject: our findings\r\n\r\nPatched on our side.\r\n"
        ).encode()
    )
    out = StringIO()
    call_command("ingest_email", str(raw), stdout=out)
    assert out.getvalue().split() == [ticket.reference, "side"]
    assert started.messages.get(kind="inbound").body_text.startswith("Patched on our side.")
    assert ticket.messages.count() == 1 and Ticket.objects.count() == 1
