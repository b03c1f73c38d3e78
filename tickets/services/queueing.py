"""Queueing the routing task of a ticket after commit (on its tier's queue)."""

import logging

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

# The Celery task that routes every ticket whose routing is due.
_ROUTING_SWEEP_TASK = "tickets.tasks.sweep_routing"


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


def schedule_routing_sweep() -> None:
    """Queue one routing sweep when the transaction commits: it routes every ticket whose
    routing is due, each on its tier's queue (for many tickets made due at once)."""

    def enqueue() -> None:
        try:
            task = getattr(settings, "HELPDESK_ROUTING_SWEEP_TASK", _ROUTING_SWEEP_TASK)
            import_string(task).apply_async()
        except Exception:
            logger.exception("could not queue a routing sweep; the scheduled one will route")

    transaction.on_commit(enqueue)
