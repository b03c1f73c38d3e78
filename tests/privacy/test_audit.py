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


def _merges(n: int, actor: Any) -> None:
    for i in range(n):
        kept = Customer.objects.create(name=f"Kept {i}")
        services.customer_merge(
            source=Customer.objects.create(name=f"Gone {i}"), target=kept, actor=actor
        )


def test_leads_read_the_log_in_the_workspace_a_page_at_a_time(
    client: Any, lead: Any, agent: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tickets.privacy.audit import audit_record

    _merges(3, agent)
    audit_record(action=AuditAction.RETENTION_RUN, actor=None, object_type="retention",
                 summary="Retention: 0 ticket(s) acted on by 0 rule(s).")  # fmt: skip
    client.force_login(lead)

    def statements() -> int:
        client.get("/agent/audit/")
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/agent/audit/").status_code == 200
        return len(captured)

    few = statements()
    page = client.get("/agent/audit/").content.decode()
    assert "Audit log" in page and "Customers merged" in page and "system" in page
    merged = client.get("/agent/audit/", {"action": "customer_merged"}).content.decode()
    assert "Retention: 0 ticket(s)" not in merged and "merged into customer" in merged
    _merges(60, agent)
    assert statements() == few
    first = client.get("/agent/audit/")
    assert len(first.context["entries"]) == 50
    rest = client.get("/agent/audit/", {"before": first.context["next_before"]})
    assert len(rest.context["entries"]) == 14 and rest.context["next_before"] is None
    client.force_login(agent)
    assert client.get("/agent/audit/").status_code == 403
    assert "Audit log" not in client.get("/agent/").content.decode()
