"""The audit log's one writer (tickets.models_audit): called by the services that act, inside
their transaction. Never given personal data: counts and ids only."""

import json
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from tickets.models_audit import AuditEntry


def audit_record(
    *,
    action: str,
    actor: User | None,
    object_type: str,
    object_id: object = "",
    summary: str,
    now: datetime | None = None,
    **details: Any,
) -> AuditEntry:
    """Write one entry; `details` are stored as JSON (numbers, ids, modes)."""
    return AuditEntry.objects.create(
        at=now or timezone.now(),
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        summary=summary[:300],
        details=json.loads(json.dumps(details, cls=DjangoJSONEncoder)),
    )


def audit_page(
    *, action: str = "", before: int | None = None, size: int = 50
) -> tuple[list[AuditEntry], int | None]:
    """A page of the log, newest first (keyset on id: one statement at any depth), and the
    id to ask for the next page with (None on the last)."""
    entries = AuditEntry.objects.select_related("actor").order_by("-id")
    if action:
        entries = entries.filter(action=action)
    if before is not None:
        entries = entries.filter(pk__lt=before)
    found = list(entries[: size + 1])
    return found[:size], (found[size - 1].pk if len(found) > size else None)
