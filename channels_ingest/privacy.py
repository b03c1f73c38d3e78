"""Erasing tickets (tickets.privacy.erase) erases the raw payloads they came from too: an
email's source or a provider's form names the customer and holds what they wrote."""

from collections.abc import Sequence

from channels_ingest.models import InboundItem


def forget_payloads(ticket_ids: Sequence[int], mode: str) -> None:
    """Delete the stored deliveries of these tickets (anonymised or deleted alike)."""
    InboundItem.objects.filter(ticket_id__in=ticket_ids).delete()
