"""Retention rules (tickets.models_privacy.RetentionRule): closed tickets older than a rule's
days are anonymised or deleted by the nightly run, through erase's bulk paths; each run is
one audit entry saying how many each rule did."""

from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from tickets.models import (
    AuditAction,
    Customer,
    CustomerExport,
    ErasureMode,
    RetentionRule,
    Ticket,
    TicketStatus,
)
from tickets.privacy.audit import audit_record
from tickets.privacy.erase import (
    ANONYMOUS_CUSTOMER,
    delete_files_on_commit,
    tickets_anonymise,
    tickets_delete,
)


def retention_due(rule: RetentionRule, *, now: datetime) -> QuerySet[Ticket]:
    """The tickets the rule would act on now (the admin's dry run counts these)."""
    tickets = Ticket.objects.filter(status=TicketStatus.CLOSED, closed_at__lt=rule.cutoff(now))
    if rule.channel:
        tickets = tickets.filter(channel=rule.channel)
    if rule.action == ErasureMode.ANONYMISE:
        # Anonymised ones belong to an erased customer or the anonymous placeholder.
        tickets = tickets.filter(customer__erased_at__isnull=True)
    return tickets


def anonymous_customer(*, now: datetime) -> Customer:
    """The one customer that tickets anonymised by retention belong to."""
    found = (
        Customer.objects.filter(name=ANONYMOUS_CUSTOMER, erased_at__isnull=False)
        .order_by("pk")
        .first()
    )
    return found or Customer.objects.create(name=ANONYMOUS_CUSTOMER, erased_at=now)


def retention_run(*, now: datetime | None = None) -> dict[int, int]:
    """Apply every enabled rule (deleting rules first: nothing is anonymised only to be
    deleted); returns how many tickets each rule acted on, by rule id."""
    now = now or timezone.now()
    done: dict[int, int] = {}
    rules = list(RetentionRule.objects.filter(enabled=True).order_by("pk"))
    for rule in sorted(rules, key=lambda r: (r.action != ErasureMode.DELETE, r.pk)):
        due = retention_due(rule, now=now)
        if rule.action == ErasureMode.DELETE:
            count = tickets_delete(tickets=due)
        else:
            count = tickets_anonymise(
                tickets=due, placeholder_id=anonymous_customer(now=now).pk, now=now
            )
        RetentionRule.objects.filter(pk=rule.pk).update(last_run_at=now, last_run_count=count)
        done[rule.pk] = count
    with transaction.atomic():
        expired = exports_purge_expired(now=now)
        audit_record(
            action=AuditAction.RETENTION_RUN,
            actor=None,
            object_type="retention",
            summary=f"Retention: {sum(done.values())} ticket(s) acted on by {len(done)} rule(s)"
            f", {expired} expired export(s) removed.",
            now=now,
            rules=[
                {
                    "rule": rule.pk,
                    "name": rule.name,
                    "action": rule.action,
                    "closed_days": rule.closed_days,
                    "channel": rule.channel,
                    "tickets": done[rule.pk],
                }
                for rule in rules
            ],
            expired_exports=expired,
        )
    return done


def exports_purge_expired(*, now: datetime) -> int:
    """Exports past their date go, files and all (a copy of personal data kept no longer)."""
    expired = CustomerExport.objects.filter(expires_at__lte=now)
    delete_files_on_commit(CustomerExport, "file", expired.values_list("file", flat=True))
    return expired.delete()[0]
