"""Claims on outbound messages for sending (Message and SideMessage alike): one worker
process at a time sends a message, whether or not the processes share a cache (an install
without Redis has none), and a claim whose process died runs out, so the sweep sends the
message again.

A claim is a token and an end on the message's row (`claimed_by`, `claimed_until`), taken by
one conditional UPDATE for any number of messages: of two processes claiming a row at once,
the database lets one win (PostgreSQL's row lock, re-checking the condition once the first
commits; SQLite's single writer)."""

import uuid
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from tickets.models import DeliveryStatus


def unclaimed(now: datetime) -> Q:
    """Rows no worker holds at `now`: never claimed, given back, or the claim run out."""
    return Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)


def claim_for_sending(rows: QuerySet[Any], *, now: datetime, until: datetime) -> tuple[str, int]:
    """Claim those of the pending `rows` nobody holds, until `until`; returns the claim's
    token (read them back by `claimed_by`) and how many it took."""
    claim = uuid.uuid4().hex
    taken = rows.filter(unclaimed(now), delivery_status=DeliveryStatus.PENDING).update(
        claimed_by=claim, claimed_until=until
    )
    return claim, taken


def release_claim(rows: QuerySet[Any], *, claim: str) -> None:
    """Give back the claim on those of the `rows` still pending (a retry may claim them at
    once); another worker's claim is left alone."""
    rows.filter(claimed_by=claim, delivery_status=DeliveryStatus.PENDING).update(
        claimed_by="", claimed_until=None
    )
