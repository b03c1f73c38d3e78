"""Everything held about a customer, as a ZIP: `customer.json` (profile, contact points,
organization, portal account, services, notes, known-issue subscriptions, and every ticket
with its messages, calls, chat, participants, ratings and history) and the files themselves
(attachments, side conversations' too, and each message's original as it arrived).

An admin asks on the customer's page or the API (customer_export_request); a worker builds
it (customer_export_build) reading tickets a batch at a time with a fixed number of
statements per batch, and the admin is notified; only they may download it, until it
expires. `manage.py export_customer` writes one straight to a file.
"""

import json
import shutil
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import IO, Any
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

from django.contrib.auth.models import User
from django.core.files import File
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Prefetch
from django.utils import formats, timezone
from django.utils.functional import lazy
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from tickets.errors import InvalidInput
from tickets.files import storage_name
from tickets.models import (
    Attachment,
    AuditAction,
    ContactPoint,
    Customer,
    CustomerExport,
    CustomerNote,
    ExportState,
    KnownIssueSubscriber,
    Message,
    Service,
    SideAttachment,
    SideConversation,
    SideMessage,
    Ticket,
    TicketEvent,
    TicketFieldValue,
)
from tickets.privacy.audit import audit_record
from tickets.privacy.erase import customer_family, refuse_unless_handles_personal_data

# Tickets read per batch (a fixed number of statements each).
BATCH = 100
# How long the requester may download an export.
EXPORT_DAYS = 7
# An export still pending this long after it was asked for lost its task.
REQUEUE_AFTER = timedelta(minutes=10)
# The task that builds an export (services do not import tasks; tasks import services).
_BUILD_TASK = "tickets.tasks.build_customer_export"


def customer_export_request(
    *, customer: Customer, actor: User, now: datetime | None = None
) -> CustomerExport:
    """Ask for an export; a worker builds it after this commits."""
    refuse_unless_handles_personal_data(actor, _("export a customer's data"))
    if customer.merged_into_id is not None:
        raise InvalidInput(
            _("Customer %(pk)s was merged into customer %(merged_into_id)s: export that one.")
            % {"pk": customer.pk, "merged_into_id": customer.merged_into_id},
            code="customer_merged",
        )
    now = now or timezone.now()
    with transaction.atomic():
        pending = (
            CustomerExport.objects.select_for_update()
            .filter(customer=customer, requested_by=actor, state=ExportState.PENDING)
            .first()
        )
        if pending is not None and pending.created_at > now - REQUEUE_AFTER:
            return pending  # asked twice: one export is enough
        export = pending or CustomerExport.objects.create(
            customer=customer,
            requested_by=actor,
            created_at=now,
            expires_at=now + timedelta(days=EXPORT_DAYS),
        )
        # A pending export this old lost its task (a worker gone): asking again re-queues it.
        transaction.on_commit(lambda: import_string(_BUILD_TASK).delay(export.pk))
    return export


def customer_export_build(*, export_id: int, now: datetime | None = None) -> CustomerExport | None:
    """Build a requested export (once: a repeated task finds it built), store it, record
    it in the audit log and tell the admin who asked."""
    from tickets.services.notices import Said, notify_staff

    export = CustomerExport.objects.select_related("customer").filter(pk=export_id).first()
    if export is None or export.state != ExportState.PENDING:
        return export
    now = now or timezone.now()
    with tempfile.TemporaryFile() as out:
        counts = write_customer_zip(export.customer, out, now=now)
        out.seek(0)
        with transaction.atomic():
            export = CustomerExport.objects.select_for_update().get(pk=export.pk)
            if export.state != ExportState.PENDING:  # a re-queued twin finished first
                return export
            export.file.save(storage_name("export.zip"), File(out), save=False)
            export.size = export.file.size
            export.state = ExportState.READY
            export.ready_at = now
            export.save(update_fields=["file", "size", "state", "ready_at"])
            _audit(export.customer, export.requested_by, counts, now=now, via="workspace")
            notify_staff(
                user_ids=[export.requested_by_id],
                kind="export_ready",
                text=Said(
                    gettext_noop(
                        "The export of customer %(customer)s is ready: download it from the "
                        "customer's page until %(until)s."
                    ),
                    {"customer": export.customer_id, "until": _day(export.expires_at)},
                ),
                now=now,
            )
    return export


# A day as the reader's language writes it (6 December 2026, 6. Dezember 2026).
_day = lazy(lambda moment: formats.date_format(timezone.localtime(moment), "DATE_FORMAT"), str)


def customer_export_failed(*, export_id: int, error: str) -> None:
    CustomerExport.objects.filter(pk=export_id, state=ExportState.PENDING).update(
        state=ExportState.FAILED, error=error[:2000]
    )


def customer_export_to_file(
    *, customer: Customer, out: IO[bytes], actor: User | None, now: datetime | None = None
) -> dict[str, int]:
    """Write the export straight to `out` (the management command), recorded like any."""
    refuse_unless_handles_personal_data(actor, _("export a customer's data"))
    now = now or timezone.now()
    counts = write_customer_zip(customer, out, now=now)
    _audit(customer, actor, counts, now=now, via="command")
    return counts


def _audit(
    customer: Customer, actor: User | None, counts: dict[str, int], *, now: datetime, via: str
) -> None:
    audit_record(
        action=AuditAction.CUSTOMER_EXPORTED,
        actor=actor,
        object_type="customer",
        object_id=customer.pk,
        summary=f"Customer {customer.pk} exported: {counts['tickets']} ticket(s), "
        f"{counts['files']} file(s).",
        now=now,
        via=via,
        **counts,
    )


def write_customer_zip(customer: Customer, out: IO[bytes], *, now: datetime) -> dict[str, int]:
    """The ZIP into `out`; returns what it holds (tickets, messages, files).

    customer.json is written a ticket at a time; the files follow it (a ZIP is written one
    entry at a time), copied from storage in chunks. A file missing from storage is listed
    in missing-files.txt."""
    counts = {"tickets": 0, "messages": 0, "files": 0}
    family = customer_family(customer.pk)
    files: list[tuple[str, Any, str]] = []
    with ZipFile(out, "w", compression=ZIP_DEFLATED) as archive:
        with archive.open(_entry("customer.json", now), "w", force_zip64=True) as document:
            head = json.dumps(_profile(customer, family, now=now), cls=DjangoJSONEncoder, indent=1)
            document.write(f'{head.rstrip().removesuffix("}")},\n "tickets": [\n'.encode())
            for tickets in _ticket_batches(family):
                for ticket in tickets:
                    entry, ticket_files = _ticket(ticket)
                    text = json.dumps(entry, cls=DjangoJSONEncoder, indent=1)
                    document.write((",\n" if counts["tickets"] else "").encode() + text.encode())
                    counts["tickets"] += 1
                    counts["messages"] += len(entry["messages"])
                    files.extend(ticket_files)
            document.write(b"\n]}\n")
        missing = []
        for path, storage, name in files:
            try:
                with (
                    storage.open(name, "rb") as source,
                    archive.open(_entry(path, now), "w", force_zip64=True) as target,
                ):
                    shutil.copyfileobj(source, target, 1024 * 1024)
            except FileNotFoundError:
                missing.append(path)
            else:
                counts["files"] += 1
        if missing:
            archive.writestr(_entry("missing-files.txt", now), "\n".join(missing) + "\n")
    return counts


def _entry(path: str, now: datetime) -> ZipInfo:
    """A compressed entry dated when the export was made (not 1980)."""
    entry = ZipInfo(path, date_time=timezone.localtime(now).timetuple()[:6])
    entry.compress_type = ZIP_DEFLATED
    return entry


def _profile(customer: Customer, family: list[int], *, now: datetime) -> dict[str, Any]:
    organization = customer.organization
    user = customer.user
    return {
        "exported_at": now,
        "customer": {
            "id": customer.pk,
            "name": customer.name,
            "created_at": customer.created_at,
            "merged_customers": [
                {"id": c.pk, "name": c.name, "created_at": c.created_at}
                for c in Customer.objects.filter(pk__in=family[1:]).order_by("pk")
            ],
        },
        "contact_points": [
            {"kind": p.kind, "value": p.value, "added_at": p.created_at}
            for p in ContactPoint.objects.filter(customer_id__in=family).order_by("pk")
        ],
        "organization": {"id": organization.pk, "name": organization.name}
        if organization
        else None,
        "portal_account": {
            "username": user.username,
            "email": user.email,
            "name": user.get_full_name(),
            "joined_at": user.date_joined,
            "last_sign_in": user.last_login,
            "active": user.is_active,
        }
        if user
        else None,
        "services": [
            {
                "product": s.product.name,
                "plan": s.plan.name if s.plan else "",
                "identifier": s.identifier,
                "region": s.region,
                "status": s.status,
            }
            for s in Service.objects.filter(customer_id__in=family)
            .select_related("product", "plan")
            .order_by("pk")
        ],
        "notes": [
            {"text": n.text, "at": n.created_at, "by": _person(n.author)}
            for n in CustomerNote.objects.filter(customer_id__in=family)
            .select_related("author")
            .order_by("pk")
        ],
        "known_issue_subscriptions": [
            {
                "known_issue": s.known_issue_id,
                "kind": s.kind,
                "address": s.address,
                "at": s.created_at,
                "told_at": s.notified_at,
            }
            for s in KnownIssueSubscriber.objects.filter(customer_id__in=family).order_by("pk")
        ],
    }


def _ticket_batches(family: list[int]) -> Iterator[list[Ticket]]:
    """The customer's tickets, a batch at a time by id, each with everything hanging from it
    (the same statements per batch however many messages a ticket has)."""
    query = (
        Ticket.objects.filter(customer_id__in=family)
        .select_related("tier", "product", "service", "chat", "chat__agent")
        .prefetch_related(
            "tags",
            "participants",
            Prefetch(
                "messages",
                queryset=Message.objects.select_related("author_user", "call").prefetch_related(
                    Prefetch("attachments", queryset=Attachment.objects.order_by("pk"))
                ),
            ),
            Prefetch("events", queryset=TicketEvent.objects.select_related("actor")),
            Prefetch(
                "field_values",
                queryset=TicketFieldValue.objects.select_related("field").order_by("pk"),
            ),
            Prefetch(
                "side_conversations",
                queryset=SideConversation.objects.order_by("pk").prefetch_related(
                    Prefetch(
                        "messages",
                        queryset=SideMessage.objects.select_related("author_user")
                        .prefetch_related(
                            Prefetch("attachments", queryset=SideAttachment.objects.order_by("pk"))
                        )
                        .order_by("pk"),
                    )
                ),
            ),
        )
        .order_by("pk")
    )
    last = 0
    while True:
        batch = list(query.filter(pk__gt=last)[:BATCH])
        if not batch:
            return
        yield batch
        last = batch[-1].pk


def _custom_fields(ticket: Ticket) -> dict[str, list[Any]]:
    """Every custom field's values on the ticket, by key (agents' fields too: all we hold)."""
    values: dict[str, list[Any]] = {}
    for row in ticket.field_values.all():
        value = next(
            (v for v in (row.value_text, row.value_number, row.value_date) if v is not None), None
        )
        values.setdefault(row.field.key, []).append(value)
    return values


def _person(user: User | None) -> str | None:
    return (user.get_full_name() or user.username) if user is not None else None


def _files_of(owner: Any, folder: str, files: list[tuple[str, Any, str]]) -> list[dict[str, Any]]:
    """A message's attachments as the document lists them; their files join `files` (path
    in the archive, storage, stored name)."""
    listed = []
    for attachment in owner.attachments.all():
        path = f"{folder}/{attachment.pk}-{attachment.filename}"
        listed.append(
            {"filename": attachment.filename, "content_type": attachment.content_type,
             "size": attachment.size, "file": path}
        )  # fmt: skip
        files.append((path, attachment.file.storage, str(attachment.file.name)))
    return listed


def _side_conversations(ticket: Ticket, files: list[tuple[str, Any, str]]) -> list[dict[str, Any]]:
    return [
        {
            "subject": side.subject,
            "with": side.counterpart,
            "status": side.status,
            "started_at": side.created_at,
            "messages": [
                {
                    "kind": m.kind,
                    "at": m.created_at,
                    "by": _person(m.author_user) or m.sender,
                    "text": m.body_text,
                    "attachments": _files_of(m, f"side_attachments/{ticket.pk}", files),
                }
                for m in side.messages.all()
            ],
        }
        for side in ticket.side_conversations.all()
    ]


def _ticket(ticket: Ticket) -> tuple[dict[str, Any], list[tuple[str, Any, str]]]:
    files: list[tuple[str, Any, str]] = []
    messages = []
    for message in ticket.messages.all():
        attachments = _files_of(message, f"attachments/{ticket.pk}", files)
        original = None
        if message.original:
            original = f"originals/{ticket.pk}/{message.pk}.eml"
            files.append((original, message.original.storage, str(message.original.name)))
        call = getattr(message, "call", None)
        messages.append(
            {
                "id": message.pk,
                "kind": message.kind,
                "channel": message.channel,
                "at": message.created_at,
                "from_customer": message.author_customer_id is not None,
                "agent": _person(message.author_user),
                "sender": message.sender,
                "subject": message.subject,
                "text": message.body_text,
                "html": message.body_html,
                "attachments": attachments,
                "original": original,
                "call": {
                    "direction": call.direction,
                    "number": call.phone_number,
                    "duration_seconds": call.duration_seconds,
                    "recording_url": call.recording_url,
                }
                if call
                else None,
            }
        )
    chat = getattr(ticket, "chat", None)
    entry = {
        "reference": ticket.reference,
        "subject": ticket.subject,
        "channel": ticket.channel,
        "status": ticket.status,
        "priority": ticket.priority,
        "tier": ticket.tier.level,
        "product": ticket.product.name if ticket.product else None,
        "service": str(ticket.service) if ticket.service else None,
        "tags": sorted(tag.name for tag in ticket.tags.all()),
        "created_at": ticket.created_at,
        "resolved_at": ticket.resolved_at,
        "closed_at": ticket.closed_at,
        "satisfaction": ticket.satisfaction,
        "participants": [{"email": p.email, "name": p.name} for p in ticket.participants.all()],
        "chat": {
            "name": chat.name,
            "email": chat.email,
            "started_at": chat.created_at,
            "ended_at": chat.ended_at,
            "agent": _person(chat.agent),
            "rating": chat.rating,
            "rating_comment": chat.rating_comment,
        }
        if chat
        else None,
        "messages": messages,
        "custom_fields": _custom_fields(ticket),
        "side_conversations": _side_conversations(ticket, files),
        "history": [
            {
                "kind": e.kind,
                "at": e.created_at,
                "by": _person(e.actor) or e.actor_label,
                "data": e.data,
            }
            for e in ticket.events.all()
        ],
    }
    return entry, files
