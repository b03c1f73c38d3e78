"""Celery tasks of the rules: take ids, call one service (registered through tickets.tasks)."""

from collections.abc import Callable

from celery import Task, shared_task

from helpdesk.faults import is_transient
from tickets.automation import dispatch, sending, timed


def _retried_on_outage(task: Task, work: Callable[[], int]) -> int:
    """`work`, retried with backoff (5 s, 10 s, 20 s, ...) when an outage (the database or
    Redis unreachable: helpdesk.faults) stopped it. An error of ours was kept to its ticket
    or rule by the run and is raised here only if it escaped that (a bug in the run)."""
    try:
        return work()
    except Exception as error:
        if is_transient(error):
            raise task.retry(exc=error, countdown=5 * 2**task.request.retries) from error
        raise


@shared_task(name="tickets.dispatch_events", bind=True, max_retries=10)
def dispatch_events(self: Task, event_ids: list[int]) -> int:
    """Run the triggers and webhook subscriptions for these ticket events (once each)."""
    return _retried_on_outage(self, lambda: dispatch.dispatch(event_ids))


@shared_task(name="tickets.run_automations", bind=True, max_retries=3)
def run_automations(self: Task) -> int:
    """Beat, every minute: the automations whose time has come act."""
    return _retried_on_outage(self, timed.run_automations)


@shared_task(name="tickets.deliver_webhooks")
def deliver_webhooks(delivery_ids: list[int]) -> int:
    """Send these webhook deliveries (those still pending and due). No retry here: a failure
    is retried by the sweep when its time comes, a lost run when its claim runs out."""
    return sending.deliver(delivery_ids)


@shared_task(name="tickets.sweep_webhooks")
def sweep_webhooks() -> int:
    """Beat, every 30 s: send the webhook deliveries whose retry is due or whose task was lost."""
    return sending.sweep()
