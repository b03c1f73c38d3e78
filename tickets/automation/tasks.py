"""Celery tasks of the rules: take ids, call one service (registered through tickets.tasks)."""

from celery import Task, shared_task
from django.db import OperationalError

from helpdesk.faults import is_transient
from tickets.automation import dispatch, sending, timed


@shared_task(
    name="tickets.dispatch_events",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=10,
)
def dispatch_events(event_ids: list[int]) -> int:
    """Run the triggers and webhook subscriptions for these ticket events (once each)."""
    return dispatch.dispatch(event_ids)


@shared_task(name="tickets.run_automations", bind=True, max_retries=3)
def run_automations(self: Task) -> int:
    """Beat, every minute: the automations whose time has come act. An outage (the database
    or Redis unreachable) is retried with backoff; an error of ours was kept to its ticket
    or automation by the run and is raised here only if it escaped that (a bug in the run)."""
    try:
        return timed.run_automations()
    except Exception as error:
        if is_transient(error):
            raise self.retry(exc=error, countdown=5 * 2**self.request.retries) from error
        raise


@shared_task(name="tickets.deliver_webhooks")
def deliver_webhooks(delivery_ids: list[int]) -> int:
    """Send these webhook deliveries (those still pending and due). No retry here: a failure
    is retried by the sweep when its time comes, a lost run when its claim runs out."""
    return sending.deliver(delivery_ids)


@shared_task(name="tickets.sweep_webhooks")
def sweep_webhooks() -> int:
    """Beat, every 30 s: send the webhook deliveries whose retry is due or whose task was lost."""
    return sending.sweep()
