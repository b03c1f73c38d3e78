"""The audit log: data actions recorded by the services that do them, read by admins."""

from typing import Any

import pytest

from tickets import services
from tickets.models import AuditAction, AuditEntry, Customer

pytestmark = pytest.mark.django_db


def test_a_merge_from_the_customer_page_is_recorded_with_what_moved(
    client: Any, agent: Any, open_ticket: Any
) -> None:
    kept = open_ticket(sender="kept@example.com").customer
    gone = open_ticket(sender="gone@example.com").customer
    services.customer_note(customer=gone, actor=agent, text="Prefers mail.")
    client.force_login(agent)

    client.post(f"/agent/customers/{kept.pk}/merge/", {"other": str(gone.pk), "confirm": "1"})

    entry = AuditEntry.objects.get(action=AuditAction.CUSTOMER_MERGED)
    assert entry.actor == agent and entry.object_id == str(kept.pk)
    assert entry.details == {
        "source": gone.pk, "target": kept.pk, "tickets": 1, "contacts": 1, "services": 0,
        "notes": 1,
    }  # fmt: skip
    assert "gone@example.com" not in entry.summary


def test_a_refused_merge_records_nothing(agent: Any) -> None:
    one = Customer.objects.create(name="One")
    with pytest.raises(Exception, match="itself"):
        services.customer_merge(source=one, target=one, actor=agent)
    assert not AuditEntry.objects.exists()


def test_admins_read_the_log_and_nobody_edits_it(client: Any, admin_user: Any, agent: Any) -> None:
    kept, gone = Customer.objects.create(name="Kept"), Customer.objects.create(name="Gone")
    services.customer_merge(source=gone, target=kept, actor=agent)
    entry = AuditEntry.objects.get()
    client.force_login(admin_user)

    listing = client.get("/admin/tickets/auditentry/", {"action": "customer_merged"})
    assert listing.status_code == 200 and entry.summary in listing.content.decode()
    by_actor = client.get("/admin/tickets/auditentry/", {"actor__id__exact": str(agent.pk)})
    assert list(by_actor.context["cl"].result_list) == [entry]
    assert client.get("/admin/tickets/auditentry/add/").status_code == 403
    assert client.post(f"/admin/tickets/auditentry/{entry.pk}/delete/").status_code == 403
    client.force_login(agent)
    assert client.get("/admin/tickets/auditentry/").status_code in (302, 403)
