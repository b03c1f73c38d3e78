"""Exporting everything held about a customer: asked for on their page (or the API, or a
command), built by a worker, downloaded by the admin who asked."""

import io
import json
import zipfile
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import AdminFactory
from tests.privacy.conftest import Held
from tickets import services
from tickets.collab.services import side_conversation_start
from tickets.inbound import InboundAttachment
from tickets.models import AuditAction, AuditEntry, CustomerExport, Notification, SideAttachment
from tickets.privacy import export

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client: Any, admin_user: Any) -> Any:
    client.force_login(admin_user)
    return client


def _zip(response: Any) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def _ask(client: Any, held: Held, capture: Any) -> Any:
    with capture(execute=True):
        return client.post(f"/agent/customers/{held.ann.pk}/export/", follow=True)


def test_an_admin_exports_a_customer_and_downloads_everything(
    admin_client: Any, admin_user: Any, held: Held, celery_eager: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    page = _ask(admin_client, held, django_capture_on_commit_callbacks)

    assert "Export requested" in page.content.decode()
    made = CustomerExport.objects.get()
    link = f"/agent/exports/{made.pk}/download/"
    page = admin_client.get(f"/agent/customers/{held.ann.pk}/")
    assert f'href="{link}"' in page.content.decode()  # the page lists it once built
    archive = _zip(admin_client.get(link))
    document = json.loads(archive.read("customer.json"))
    assert document["customer"]["name"] == "Ann Person"
    assert {(p["kind"], p["value"]) for p in document["contact_points"]} == {
        ("email", "ann.person@example.com"), ("phone", "+14155550123"),
    }  # fmt: skip
    assert document["portal_account"]["username"] == "annp"
    assert document["services"][0]["identifier"] == "LINE-77"
    assert document["notes"][0]["text"] == "Ann Person prefers the phone."
    tickets = {t["reference"]: t for t in document["tickets"]}
    assert set(tickets) == {held.mail.reference, held.chat_ticket.reference}
    mail = tickets[held.mail.reference]
    texts = [m["text"] for m in mail["messages"]]
    assert "I am Ann Person, call me on +1 415 555 0123." in texts
    assert "Hello Ann Person, we are on it." in texts and "Ann Person called twice." in texts
    call = next(m["call"] for m in mail["messages"] if m["call"])
    assert call["number"] == "+14155550123" and call["duration_seconds"] == 60
    assert mail["participants"] == [{"email": "fred.friend@example.com", "name": "Fred Friend"}]
    assert any(e["kind"] == "created" for e in mail["history"])
    assert mail["custom_fields"] == {"site": ["Ann Person's flat"]}
    (side,) = mail["side_conversations"]
    assert side["with"] == "vendor@supplier.example" and side["subject"] == "Router of Ann Person"
    assert side["messages"][0]["text"] == "Please swap the router of Ann Person."
    first = mail["messages"][0]
    assert archive.read(first["attachments"][0]["file"]) == b"%PDF-1.4 Ann"
    assert archive.read(first["original"]).startswith(b"From: Ann Person")
    chat = tickets[held.chat_ticket.reference]["chat"]
    assert chat["name"] == "Ann Person" and chat["email"] == "ann.person@example.com"
    assert "Bob Builder" not in archive.read("customer.json").decode()
    # Recorded (without the personal data), and the admin was told.
    entry = AuditEntry.objects.get(action=AuditAction.CUSTOMER_EXPORTED)
    assert entry.actor == admin_user and entry.object_id == str(held.ann.pk)
    assert entry.details["tickets"] == 2 and entry.details["files"] == 2
    assert "Ann" not in entry.summary + json.dumps(entry.details)
    assert Notification.objects.filter(user=admin_user, kind="export_ready").exists()


def test_only_the_admin_who_asked_downloads_it_until_it_expires(
    admin_client: Any, held: Held, celery_eager: Any, django_capture_on_commit_callbacks: Any,
    client: Any,
) -> None:  # fmt: skip
    _ask(admin_client, held, django_capture_on_commit_callbacks)
    made = CustomerExport.objects.get()
    link = f"/agent/exports/{made.pk}/download/"
    other = AdminFactory(username="other-admin")
    client.force_login(other)
    assert client.get(link).status_code == 404
    CustomerExport.objects.filter(pk=made.pk).update(expires_at=timezone.now())
    assert admin_client.get(link).status_code == 404


def test_agents_leads_and_customers_cannot_export(
    client: Any, agent: Any, lead: Any, customer_user: Any, held: Held, agent_api: Any,
    customer_api: Any,
) -> None:  # fmt: skip
    for user in (agent, lead, customer_user):
        client.force_login(user)
        assert client.post(f"/agent/customers/{held.ann.pk}/export/").status_code == 403
        assert client.get(f"/agent/customers/{held.ann.pk}/erase/").status_code == 403
    page = client.get(f"/agent/customers/{held.ann.pk}/")
    assert page.status_code == 403
    client.force_login(agent)
    assert (
        "Export everything" not in client.get(f"/agent/customers/{held.ann.pk}/").content.decode()
    )
    for api in (agent_api, customer_api):
        assert api.post(f"/api/v1/customers/{held.ann.pk}/export/").status_code == 403
    assert not CustomerExport.objects.exists()
    assert not AuditEntry.objects.exists()


def test_the_api_asks_polls_and_downloads(
    admin_api: Any, held: Held, celery_eager: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        asked = admin_api.post(f"/api/v1/customers/{held.ann.pk}/export/")
    assert asked.status_code == 202 and asked.json()["state"] == "pending"
    polled = admin_api.get(f"/api/v1/exports/{asked.json()['id']}/").json()
    assert polled["state"] == "ready"
    assert polled["download_url"].endswith(f"/api/v1/exports/{asked.json()['id']}/download/")
    archive = _zip(admin_api.get(polled["download_url"]))
    assert json.loads(archive.read("customer.json"))["customer"]["id"] == held.ann.pk
    assert admin_api.get("/api/v1/exports/999999/").status_code == 404


def test_the_command_writes_the_zip(held: Held, admin_user: Any, tmp_path: Any) -> None:
    out = tmp_path / "ann.zip"
    said = io.StringIO()
    call_command("export_customer", held.ann.pk, output=str(out), by="boss", stdout=said)
    assert "2 ticket(s)" in said.getvalue()
    document = json.loads(zipfile.ZipFile(out).read("customer.json"))
    assert document["customer"]["name"] == "Ann Person"
    entry = AuditEntry.objects.get(action=AuditAction.CUSTOMER_EXPORTED)
    assert entry.actor == admin_user and entry.details["via"] == "command"


def test_the_export_holds_the_files_of_side_conversations(
    held: Held, side_files: list[SideAttachment], admin_user: Any, tmp_path: Any
) -> None:
    out = tmp_path / "ann.zip"
    call_command("export_customer", held.ann.pk, output=str(out), by="boss", stdout=io.StringIO())
    archive = zipfile.ZipFile(out)
    tickets = json.loads(archive.read("customer.json"))["tickets"]
    (mail,) = (t for t in tickets if t["reference"] == held.mail.reference)
    (side,) = mail["side_conversations"]
    listed = [a for m in side["messages"] for a in m["attachments"]]
    assert [(a["filename"], a["content_type"], a["size"]) for a in listed] == [
        ("order-ann.pdf", "application/pdf", 14),
        ("rma-ann.txt", "text/plain", 18),
    ]
    assert [archive.read(a["file"]) for a in listed] == [b"%PDF-1.4 Ann's", b"RMA for Ann Person"]
    assert listed[0]["file"] == f"side_attachments/{held.mail.pk}/{side_files[0].pk}-order-ann.pdf"
    # With the ticket's own attachment and original.
    entry = AuditEntry.objects.get(action=AuditAction.CUSTOMER_EXPORTED)
    assert entry.details["files"] == 4


def test_a_batch_of_tickets_costs_the_same_statements_however_much_they_hold(
    held: Held, agent: Any, open_ticket: Any
) -> None:
    def statements() -> int:
        with CaptureQueriesContext(connection) as captured:
            export.write_customer_zip(held.ann, io.BytesIO(), now=timezone.now())
        return len(captured)

    statements()
    few = statements()
    for n in range(6):
        ticket = open_ticket(sender="ann.person@example.com", subject=f"More {n}")
        services.ticket_reply(ticket=ticket, actor=agent, text=f"Answer {n}")
        services.ticket_add_note(ticket=ticket, actor=agent, text=f"Note {n}")
        side_conversation_start(
            ticket=ticket, to="vendor@supplier.example", subject=f"Part {n}", text="In stock?",
            attachments=(InboundAttachment(f"part-{n}.txt", "text/plain", b"part"),), actor=agent,
        )  # fmt: skip
    assert statements() == few


def test_expired_exports_go_with_the_retention_run(
    admin_client: Any, held: Held, celery_eager: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from tickets.privacy.retention import retention_run

    _ask(admin_client, held, django_capture_on_commit_callbacks)
    made = CustomerExport.objects.get()
    storage, name = made.file.storage, made.file.name
    with django_capture_on_commit_callbacks(execute=True):
        retention_run(now=made.expires_at + timedelta(seconds=1))
    assert not CustomerExport.objects.exists() and not storage.exists(name)


def test_a_file_gone_from_storage_is_listed_not_fatal(held: Held) -> None:
    from tickets.models import Attachment

    attachment = Attachment.objects.get()
    attachment.file.storage.delete(attachment.file.name)
    out = io.BytesIO()
    counts = export.write_customer_zip(held.ann, out, now=timezone.now())
    archive = zipfile.ZipFile(out)
    assert counts["files"] == 1  # the original is still there
    missing = archive.read("missing-files.txt").decode().split()
    assert missing == [f"attachments/{held.mail.pk}/{attachment.pk}-scan.pdf"]
    assert archive.getinfo("customer.json").date_time[0] == timezone.now().year


def test_asking_twice_makes_one_export_and_a_lost_one_is_queued_again(
    admin_user: Any, held: Held, django_capture_on_commit_callbacks: Any, celery_eager: Any
) -> None:
    asked = timezone.now()
    with django_capture_on_commit_callbacks(execute=False) as queued:
        first = export.customer_export_request(customer=held.ann, actor=admin_user, now=asked)
        again = export.customer_export_request(customer=held.ann, actor=admin_user, now=asked)
    assert again == first and len(queued) == 1
    # Its task was lost (never ran); ten minutes on, asking again builds the same export.
    later = asked + timedelta(minutes=11)
    with django_capture_on_commit_callbacks(execute=True):
        retried = export.customer_export_request(customer=held.ann, actor=admin_user, now=later)
    assert retried == first and CustomerExport.objects.get().state == "ready"
    # A late twin of the task finds it built and does nothing more.
    export.customer_export_build(export_id=first.pk)
    assert AuditEntry.objects.filter(action=AuditAction.CUSTOMER_EXPORTED).count() == 1
