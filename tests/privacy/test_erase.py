"""Erasing a customer on request, from their page after a preview: anonymised (tickets kept
for statistics, nothing personal left) or their tickets deleted; others untouched."""

import json
from typing import Any

import pytest

from tests.privacy.conftest import ANN_TRACES, Held, database_text
from tickets.models import (
    Attachment,
    AuditAction,
    AuditEntry,
    Customer,
    Message,
    SideAttachment,
    Ticket,
    TicketEvent,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client: Any, admin_user: Any) -> Any:
    client.force_login(admin_user)
    return client


def _files(held: Held) -> list[tuple[Any, str]]:
    found = [(a.file.storage, a.file.name) for a in Attachment.objects.all()]
    found += [(m.original.storage, m.original.name) for m in Message.objects.exclude(original="")]
    assert len(found) == 2 and all(storage.exists(name) for storage, name in found)
    return found


def _erase(client: Any, held: Held, mode: str, capture: Any) -> Any:
    with capture(execute=True):
        return client.post(
            f"/agent/customers/{held.ann.pk}/erase/", {"mode": mode, "confirm": "1"}, follow=True
        )


def test_the_preview_says_what_will_go(admin_client: Any, held: Held) -> None:
    page = admin_client.get(f"/agent/customers/{held.ann.pk}/erase/").content.decode()
    # Ann's mail, the reply, the note and the call on one ticket; her chat's first message.
    assert "2 tickets with 5 messages and 1 attachment" in page
    assert "2 of them still open" in page
    assert "2 contact points, 1 note, 1 service" in page
    assert "Their portal account" in page
    assert Customer.objects.get(pk=held.ann.pk).name == "Ann Person"  # nothing done yet


def test_anonymising_leaves_the_tickets_and_nothing_personal(
    admin_client: Any, admin_user: Any, held: Held, celery_eager: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    files = _files(held)
    messages_before = Message.objects.filter(ticket__customer=held.ann).count()
    before = database_text()
    assert all(trace in before for trace in ANN_TRACES)

    _erase(admin_client, held, "anonymise", django_capture_on_commit_callbacks)

    after = database_text()
    assert [trace for trace in ANN_TRACES if trace in after] == []
    assert "Bob Builder" in after and "bob.builder@example.com" in after  # others untouched
    assert Ticket.objects.get(pk=held.bob_ticket.pk).subject == "Bob Builder's bill"
    assert not held.bob_ticket.participants.exists()  # Ann was copied in on Bob's ticket
    kept = Ticket.objects.filter(customer=held.ann)
    assert set(kept.values_list("pk", flat=True)) == {held.mail.pk, held.chat_ticket.pk}
    assert Message.objects.filter(ticket__customer=held.ann).count() == messages_before
    assert TicketEvent.objects.filter(ticket=held.mail, kind="anonymised").count() == 1
    assert not any(storage.exists(name) for storage, name in files)
    ann = Customer.objects.select_related("user").get(pk=held.ann.pk)
    assert ann.erased_at is not None and ann.user is None
    assert not ann.contact_points.exists() and not ann.notes.exists()
    page = admin_client.get(f"/agent/customers/{ann.pk}/").content.decode()
    assert "Erased on" in page and "(no name)" in page
    entry = AuditEntry.objects.get(action=AuditAction.CUSTOMER_ERASED)
    assert entry.actor == admin_user and entry.details["mode"] == "anonymise"
    assert entry.details["tickets"] == 2 and entry.details["attachments"] == 1


def test_deleting_takes_their_tickets_and_files(
    admin_client: Any, held: Held, celery_eager: Any, django_capture_on_commit_callbacks: Any
) -> None:
    files = _files(held)

    _erase(admin_client, held, "delete", django_capture_on_commit_callbacks)

    assert not Ticket.objects.filter(pk__in=[held.mail.pk, held.chat_ticket.pk]).exists()
    assert not Message.objects.filter(ticket_id__in=[held.mail.pk, held.chat_ticket.pk]).exists()
    assert not TicketEvent.objects.filter(ticket_id=held.mail.pk).exists()
    assert not any(storage.exists(name) for storage, name in files)
    after = database_text()
    assert [trace for trace in ANN_TRACES if trace in after] == []
    assert Ticket.objects.filter(pk=held.bob_ticket.pk).exists() and "Bob Builder" in after
    entry = AuditEntry.objects.get(action=AuditAction.CUSTOMER_ERASED)
    assert entry.details["mode"] == "delete" and "Ann" not in json.dumps(entry.details)


@pytest.mark.parametrize("mode", ["anonymise", "delete"])
def test_the_files_of_side_conversations_go_too(
    admin_client: Any, held: Held, side_files: list[SideAttachment], mode: str,
    celery_eager: Any, django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    stored = [(f.file.storage, f.file.name) for f in side_files]
    page = admin_client.get(f"/agent/customers/{held.ann.pk}/erase/").content.decode()
    assert "and 3 attachments" in page  # the ticket's and the side conversation's

    _erase(admin_client, held, mode, django_capture_on_commit_callbacks)

    assert not SideAttachment.objects.exists()
    assert not any(storage.exists(name) for storage, name in stored)
    assert "order-ann" not in database_text() and "rma-ann" not in database_text()
    entry = AuditEntry.objects.get(action=AuditAction.CUSTOMER_ERASED)
    assert entry.details["attachments"] == 3


def test_customers_merged_into_them_are_erased_too(
    admin_client: Any, admin_user: Any, held: Held, celery_eager: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    from tickets import services

    old = Customer.objects.create(name="Ann Person (old account)")
    services.customer_merge(source=old, target=held.ann, actor=admin_user)
    _erase(admin_client, held, "anonymise", django_capture_on_commit_callbacks)
    old.refresh_from_db()
    assert old.name == "" and old.erased_at is not None
    assert "Ann Person" not in database_text()


def test_agents_and_leads_cannot_erase(
    client: Any, agent: Any, lead: Any, held: Held, celery_eager: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    for user in (agent, lead):
        client.force_login(user)
        assert _erase(client, held, "delete", django_capture_on_commit_callbacks).status_code == 403
    assert Customer.objects.get(pk=held.ann.pk).name == "Ann Person"
    assert Ticket.objects.filter(customer=held.ann).count() == 2
    assert not AuditEntry.objects.filter(action=AuditAction.CUSTOMER_ERASED).exists()


def test_no_mode_chosen_erases_nothing(admin_client: Any, held: Held) -> None:
    page = admin_client.post(f"/agent/customers/{held.ann.pk}/erase/", {"confirm": "1"})
    assert "Choose how to erase" in page.content.decode()
    assert Customer.objects.get(pk=held.ann.pk).erased_at is None
