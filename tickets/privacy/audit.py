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
