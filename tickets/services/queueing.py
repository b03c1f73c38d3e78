"""Queueing the routing task of a ticket after commit (on its tier's queue)."""

import logging

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


def tier_queue(level: int) -> str:
    return f"tier{level}"


def schedule_routing(ticket_id: int, tier_level: int) -> None:
    """Queue a routing task on the tier's queue when the transaction commits."""

    def enqueue() -> None:
        try:
            task = import_string(settings.HELPDESK_ROUTING_TASK)
            task.apply_async(args=(ticket_id,), queue=tier_queue(tier_level))
        except Exception:
            logger.exception("could not queue routing of ticket %s; the sweep will", ticket_id)

    transaction.on_commit(enqueue)
