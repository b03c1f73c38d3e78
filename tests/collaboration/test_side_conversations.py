"""Side conversations: an agent emails a vendor from the ticket (pending, sent by the
delivery task through anymail); the vendor's reply, through the real inbound webhook,
threads into the side conversation: never onto the customer's conversation, never in the
portal, and the ticket's status stays as it was."""

import base64
import json

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels_ingest.models import InboundItem, InboundStatus
from tests.conftest import _client_for
from tests.factories import LightAgentFactory
from tickets import services
from tickets.collab import services as collab
from tickets.inbound import InboundAttachment
from tickets.models import (
    Attachment,
    DeliveryStatus,
    EventKind,
    Notification,
    SideAttachment,
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


def vendor_mail(
    client, *, message_id: str, subject: str, text: str, sender: str, headers=(), files=()
):
    """A reply as Postmark posts it to anymail's inbound webhook (`files`: its attachments,
    as Postmark lists them)."""
    payload = {
        "FromFull": {"Email": sender, "Name": "Vendor Support", "MailboxHash": ""},
        "ToFull": [{"Email": "support@localhost", "Name": "", "MailboxHash": ""}],
        "CcFull": [],
        "Subject": subject,
        "Date": "Sat, 05 Dec 2026 10:30:00 +0000",
        "TextBody": text,
        "HtmlBody": "",
        "Headers": [{"Name": "Message-ID", "Value": message_id}, *headers],
        "Attachments": list(files),
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
    # Known by the provider's id for it (anymail's test backend numbers what it sends):
    # the id its delivery reports will name.
    assert (message.delivery_status, message.provider_id) == (
        DeliveryStatus.SENT,
        str(sent.anymail_status.message_id),
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


# --- Files ---------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 24
PDF = b"%PDF-1.4 patch notes\n"
# With CR bytes, which must come through Postmark's JSON as they were sent.
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\r\n\r;"


def _postmark_file(name: str, content: bytes, content_type: str, content_id: str = "") -> dict:
    listed = {
        "Name": name,
        "Content": base64.b64encode(content).decode(),
        "ContentType": content_type,
        "ContentLength": len(content),
    }
    return {**listed, "ContentID": content_id} if content_id else listed


def _thread(page: str, conversation: SideConversation) -> str:
    return page.split(f'id="side-{conversation.pk}"')[1].split("</details>")[0]


def _downloaded(response) -> bytes:
    assert response.status_code == 200, response.status_code
    return b"".join(response.streaming_content)  # read to the end: the client closes it


def test_files_go_to_the_vendor_with_the_side_email_and_show_on_the_ticket(
    as_user, ann, ticket, celery_eager, django_capture_on_commit_callbacks
):
    client = as_user(ann)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/agent/tickets/{ticket.pk}/side/",
            {
                "to": "help@vendor.example",
                "subject": "Invoice sync API errors",
                "text": "The log and a screenshot are attached.",
                "attachments": [
                    SimpleUploadedFile("sync.log", b"ERROR 500 /invoices\n", "text/plain"),
                    # A disguised name is made safe; the type is the bytes', not the declared.
                    SimpleUploadedFile("screen\u202egnp.exe", PNG, "application/octet-stream"),
                ],
            },
        )
    assert response.status_code == 302
    [sent] = mail.outbox
    assert sent.to == ["help@vendor.example"]
    assert [(a.filename, a.content, a.mimetype) for a in sent.attachments] == [
        ("sync.log", "ERROR 500 /invoices\n", "text/plain"),
        ("screengnp.exe", PNG, "image/png"),
    ]
    conversation = SideConversation.objects.get()
    files = list(SideAttachment.objects.filter(message__conversation=conversation).order_by("pk"))
    assert [(f.filename, f.content_type, f.size) for f in files] == [
        ("sync.log", "text/plain", 20),
        ("screengnp.exe", "image/png", len(PNG)),
    ]
    assert ticket.messages.count() == 1 and not Attachment.objects.exists()

    thread = _thread(_agent_page(client, ann, ticket), conversation)
    assert f'<a href="/api/v1/side-attachments/{files[0].pk}/">sync.log</a> (20' in thread
    assert f'<a href="/api/v1/side-attachments/{files[1].pk}/">screengnp.exe</a>' in thread
    download = client.get(f"/api/v1/side-attachments/{files[0].pk}/")
    assert download["Content-Disposition"] == 'attachment; filename="sync.log"'
    assert _downloaded(download) == b"ERROR 500 /invoices\n"


def test_writing_again_with_a_file(
    started, as_user, ann, ticket, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(ann).post(
            f"/agent/tickets/{ticket.pk}/side/{started.pk}/reply/",
            {
                "text": "Here is the full trace.",
                "attachments": [SimpleUploadedFile("trace.txt", b"Traceback: boom\n")],
            },
        )
    assert response.status_code == 302
    second = mail.outbox[1]
    assert second.extra_headers["In-Reply-To"] == mail.outbox[0].extra_headers["Message-ID"]
    assert [(a.filename, a.content) for a in second.attachments] == [
        ("trace.txt", "Traceback: boom\n")
    ]
    assert not mail.outbox[0].attachments
    latest = started.messages.order_by("-pk").first()
    assert [a.filename for a in latest.attachments.all()] == ["trace.txt"]


def test_a_vendor_reply_with_files_is_stored_in_the_side_conversation_only(
    started, ticket, client, ann, customer_user, django_capture_on_commit_callbacks
):
    ours = mail.outbox[0].extra_headers["Message-ID"]
    with django_capture_on_commit_callbacks(execute=True):
        response = vendor_mail(
            client,
            message_id="<r7@vendor.example>",
            subject=f"Re: {mail.outbox[0].subject}",
            text="The patch notes are attached; see the diagram.",
            sender="help@vendor.example",
            headers=[{"Name": "In-Reply-To", "Value": ours}],
            files=[
                _postmark_file("patch-notes.pdf", PDF, "application/pdf"),
                _postmark_file("diagram.gif", GIF, "image/gif", content_id="diagram@vendor"),
            ],
        )
    assert response.status_code == 200
    reply = SideMessage.objects.get(kind="inbound")
    files = list(reply.attachments.order_by("filename"))
    assert [(f.filename, f.content_type, f.size, f.content_id) for f in files] == [
        ("diagram.gif", "image/gif", len(GIF), "diagram@vendor"),  # inline, as on tickets
        ("patch-notes.pdf", "application/pdf", len(PDF), ""),
    ]
    assert (files[0].file.read(), files[1].file.read()) == (GIF, PDF)
    # Nothing reached the customer's conversation.
    assert ticket.messages.count() == 1 and not Attachment.objects.exists()

    thread = _thread(_agent_page(client, ann, ticket), started)
    assert "The patch notes are attached" in thread
    for f in files:
        assert f'<a href="/api/v1/side-attachments/{f.pk}/">{f.filename}</a>' in thread
    assert _downloaded(client.get(f"/api/v1/side-attachments/{files[1].pk}/")) == PDF

    client.force_login(customer_user)
    portal = client.get(f"/support/tickets/{ticket.pk}/").content.decode()
    assert "patch-notes.pdf" not in portal and "side-attachments" not in portal


def test_side_files_are_for_staff_only(
    started, ticket, ann, bob, customer_user, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        collab.side_conversation_reply(
            conversation=started, text="Config attached.", actor=ann,
            attachments=(InboundAttachment("router.conf", "text/plain", b"secret=1\n"),),
        )  # fmt: skip
    file = SideAttachment.objects.get()
    url = f"/api/v1/side-attachments/{file.pk}/"
    # Everyone on staff reads every ticket (tickets.policy): another tier's agent, a light
    # agent; the API by token as by the ticket page's session.
    light = LightAgentFactory(username="lee", tiers=[1])
    for person in (bob, light):
        assert _downloaded(_client_for(person).get(url)) == b"secret=1\n"
        client.force_login(person)
        assert _downloaded(client.get(url)) == b"secret=1\n"
    # Customers never: not through the API, not through the portal's downloads.
    assert _client_for(customer_user).get(url).status_code == 403
    assert _client_for(None).get(url).status_code == 401
    client.force_login(customer_user)
    assert client.get(url).status_code == 403
    assert client.get(f"/support/attachments/{file.pk}/").status_code == 404
    assert "router.conf" not in client.get(f"/support/tickets/{ticket.pk}/").content.decode()


def test_a_file_too_large_is_refused_and_what_was_typed_is_kept(
    as_user, ann, ticket, settings, django_capture_on_commit_callbacks
):
    settings.HELPDESK_MAX_ATTACHMENT_BYTES = 1000
    client = as_user(ann)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/agent/tickets/{ticket.pk}/side/",
            {
                "to": "help@vendor.example",
                "subject": "Crash dump",
                "text": "The dump from last night.",
                "attachments": [SimpleUploadedFile("core.dump", b"x" * 1001)],
            },
        )
    assert response.status_code == 400
    page = response.content.decode()
    error = "core.dump is larger than 1000\xa0bytes; attach a smaller file (your message is kept)."
    assert error in page
    assert f"Nothing was sent: {error}" in page  # said at the top of the page as well
    start = page.split('id="side-new"')[1].split("</details>")[0]
    assert 'value="help@vendor.example"' in start and 'value="Crash dump"' in start
    assert ">The dump from last night.</textarea>" in start
    assert not SideConversation.objects.exists() and not SideAttachment.objects.exists()
    assert not mail.outbox


def test_a_reply_with_a_file_too_large_keeps_the_text_in_its_conversation(
    started, as_user, ann, ticket, settings, django_capture_on_commit_callbacks
):
    settings.HELPDESK_MAX_ATTACHMENT_BYTES = 1000
    collab.side_conversation_close(conversation=started, actor=ann)
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(ann).post(
            f"/agent/tickets/{ticket.pk}/side/{started.pk}/reply/",
            {"text": "One more log.", "attachments": [SimpleUploadedFile("big.log", b"x" * 1001)]},
        )
    assert response.status_code == 400
    thread = response.content.decode().split(f'id="side-{started.pk}"')[1]
    assert thread.startswith(" open>")  # closed, yet open to show what went wrong
    thread = thread.split("</details>")[0]
    assert "big.log is larger than 1000\xa0bytes" in thread
    assert ">One more log.</textarea>" in thread
    assert started.messages.count() == 1 and len(mail.outbox) == 1


def test_more_files_than_allowed_are_refused(as_user, ann, ticket):
    uploads = [SimpleUploadedFile(f"f{n}.txt", b"x") for n in range(11)]
    response = as_user(ann).post(
        f"/agent/tickets/{ticket.pk}/side/",
        {
            "to": "help@vendor.example",
            "subject": "Logs",
            "text": "All logs.",
            "attachments": uploads,
        },
    )
    assert response.status_code == 400
    assert "Attach at most 10 files." in response.content.decode()
    assert not SideConversation.objects.exists()


def test_a_refusal_with_files_keeps_the_text_too(as_user, ann, ticket):
    """The service's refusal (here: the customer's own address) shows the box again."""
    response = as_user(ann).post(
        f"/agent/tickets/{ticket.pk}/side/",
        {
            "to": "portal@example.com",
            "subject": "Logs",
            "text": "Our logs.",
            "attachments": [SimpleUploadedFile("a.log", b"log")],
        },
    )
    assert response.status_code == 400
    start = response.content.decode().split('id="side-new"')[1].split("</details>")[0]
    assert "That is the customer&#x27;s address" in start and ">Our logs.</textarea>" in start
    assert not SideAttachment.objects.exists()


def test_the_api_takes_files_as_multipart_and_lists_them(
    ann, ticket, settings, celery_eager, django_capture_on_commit_callbacks
):
    api = _client_for(ann)
    url = f"/api/v1/tickets/{ticket.pk}/side-conversations/"
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post(
            url,
            {
                "to": "ops@other-dept.example",
                "subject": "Disk",
                "text": "df output attached.",
                "attachments": [
                    SimpleUploadedFile("df.txt", b"/dev/sda1 100%\n", "text/plain"),
                    SimpleUploadedFile("du.txt", b"4.0G /var/log\n", "text/plain"),
                ],
            },
            format="multipart",
        )
    assert created.status_code == 201, created.content
    [message] = created.json()["messages"]
    listed = message["attachments"]
    assert [(f["filename"], f["content_type"], f["size"]) for f in listed] == [
        ("df.txt", "text/plain", 15),
        ("du.txt", "text/plain", 14),
    ]
    assert _downloaded(api.get(listed[0]["url"])) == b"/dev/sda1 100%\n"
    assert [a.filename for a in mail.outbox[0].attachments] == ["df.txt", "du.txt"]
    side = created.json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        again = api.post(
            f"{url}{side}/messages/",
            {"text": "And the inodes.", "attachments": [SimpleUploadedFile("df-i.txt", b"99%")]},
            format="multipart",
        )
    assert again.status_code == 201
    assert [f["filename"] for f in again.json()["messages"][1]["attachments"]] == ["df-i.txt"]
    assert [a.filename for a in mail.outbox[1].attachments] == ["df-i.txt"]

    settings.HELPDESK_MAX_ATTACHMENT_BYTES = 10
    refused = api.post(
        f"{url}{side}/messages/",
        {"text": "Too big.", "attachments": [SimpleUploadedFile("big.txt", b"x" * 11)]},
        format="multipart",
    )
    assert refused.status_code == 400
    assert refused.json()["error"] == {
        "code": "attachment_too_large",
        "message": "big.txt is larger than the 0 MiB limit.",
    }
    assert SideMessage.objects.count() == 2 and SideAttachment.objects.count() == 3


def test_the_api_refuses_files_larger_together_than_the_upload_limit(ann, ticket, settings):
    """The API takes files outside the forms' field: the overall limit holds there too."""
    settings.HELPDESK_MAX_ATTACHMENT_BYTES = 10
    settings.HELPDESK_MAX_UPLOAD_BYTES = 15
    refused = _client_for(ann).post(
        f"/api/v1/tickets/{ticket.pk}/side-conversations/",
        {
            "to": "ops@other-dept.example",
            "subject": "Logs",
            "text": "Both logs attached.",
            "attachments": [
                SimpleUploadedFile("a.log", b"x" * 8),
                SimpleUploadedFile("b.log", b"y" * 8),
            ],
        },
        format="multipart",
    )
    assert refused.status_code == 400
    assert refused.json()["error"] == {
        "code": "attachments_too_large",
        "message": "These files together are larger than 15\xa0bytes.",
    }
    assert not SideMessage.objects.exists() and not SideAttachment.objects.exists()


def test_the_ticket_page_reads_side_files_at_the_same_cost_however_many(
    started, as_user, ann, ticket
):
    client = as_user(ann)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/agent/tickets/{ticket.pk}/").status_code == 200
        return len(captured)

    queries()  # the agent's first page reads their set-up and the desk's counts
    few = queries()
    for n in range(4):
        files = tuple(InboundAttachment(f"f{n}-{i}.txt", "text/plain", b"x") for i in range(3))
        collab.side_conversation_reply(
            conversation=started, text=f"More {n}", attachments=files, actor=ann
        )
        collab.side_conversation_start(
            ticket=ticket, to=f"v{n}@vendor.example", subject=f"Part {n}", text="In stock?",
            attachments=files, actor=ann,
        )  # fmt: skip
    assert SideAttachment.objects.count() == 24
    queries()  # the desk's counts changed with the conversations: read again once
    assert queries() == few
