"""Celery tasks of the ticket domain: take ids, re-read, call one service."""

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from tickets import services
from tickets.services import chat
from tickets.services.queueing import tier_queue


@shared_task(
    name="tickets.route_ticket",
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=8,
)
def route_ticket(ticket_id: int) -> str:
    """One routing step; queued on the ticket's tier queue (tier0 ... tier3)."""
    return services.ticket_route(ticket_id=ticket_id)


@shared_task(name="tickets.sweep_routing")
def sweep_routing() -> int:
    """Route tickets whose routing is due: tier-0 hand-offs, and tasks that were lost."""
    due = services.routing_due(now=timezone.now())
    for ticket_id, level in due:
        route_ticket.apply_async(args=(ticket_id,), queue=tier_queue(level))
    return len(due)


@shared_task(name="tickets.sla_sweep")
def sla_sweep() -> int:
    """Fire due SLA warnings and breaches (each exactly once) and run their actions."""
    return services.sla_sweep()


@shared_task(name="tickets.email_notifications", autoretry_for=(OSError,), retry_backoff=True)
def email_notifications(notification_ids: list[int]) -> int:
    """Email each notification to its agent if they asked for email (sent once)."""
    return services.notifications_email(notification_ids=notification_ids)


@shared_task(name="tickets.send_sign_in_link", autoretry_for=(OSError,), retry_backoff=True)
def send_sign_in_link(email: str) -> bool:
    """Look the address up and email it a portal sign-in link if it is a customer's: in a
    worker, so the visitor's request takes the same time whoever they are."""
    return services.customer_send_sign_in_link(email=email)


@shared_task(name="tickets.send_contact_verification", autoretry_for=(OSError,), retry_backoff=True)
def send_contact_verification(contact_id: int) -> bool:
    """Email the customer a link that confirms the address is theirs (nothing if it is
    gone or verified meanwhile)."""
    from tickets.services.verification import send_verification_email

    return send_verification_email(contact_id)


@shared_task(name="tickets.send_password_reset", autoretry_for=(OSError,), retry_backoff=True)
def send_password_reset(email: str) -> None:
    """Django's password-reset mail for the accounts with this address, in a worker."""
    from tickets.password_reset import send_password_reset_mail

    send_password_reset_mail(email=email)


@shared_task(name="tickets.mail_weekly_reports", autoretry_for=(OSError,), retry_backoff=True)
def mail_weekly_reports() -> int:
    """Monday morning: last week's summary to the admins and leads who asked for it."""
    from tickets.reporting.weekly import send_weekly_summaries

    return send_weekly_summaries(timezone.now())


@shared_task(name="tickets.rollup_reports")
def rollup_reports() -> int:
    """Count again the report days that changes to tickets have made stale, and fill in
    past days not counted yet (tickets.reporting.rollups)."""
    from tickets.reporting import rollups

    return rollups.refresh(now=timezone.now())


@shared_task(name="tickets.sweep_chats")
def sweep_chats() -> int:
    """End live chats whose customer left (their page stopped answering)."""
    return chat.chat_sweep_abandoned(now=timezone.now())


# The rules' tasks live with the rules; importing them here registers them with Celery.
from tickets.automation import tasks as automation_tasks  # noqa: E402, F401


@shared_task(
    name="tickets.solve_problem",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=8,
)
def solve_problem(problem_id: int) -> tuple[int, int]:
    """Answer and resolve a solved problem's open tickets; (answered, left)."""
    from tickets.problems import solving

    return solving.answer_linked(problem_id)


@shared_task(name="tickets.build_customer_export", acks_late=True)
def build_customer_export(export_id: int) -> str:
    """Build a customer's export ZIP (tickets.privacy.export); marked failed if it cannot be."""
    from tickets.privacy import export

    try:
        built = export.customer_export_build(export_id=export_id)
    except Exception as error:
        export.customer_export_failed(export_id=export_id, error=repr(error))
        raise
    return built.state if built is not None else "gone"


@shared_task(name="tickets.erase_customer", autoretry_for=(OperationalError,), retry_backoff=True)
def erase_customer(customer_id: int, mode: str, actor_id: int | None) -> int:
    """Erase a customer as an admin chose (tickets.privacy.erase); a repeat finds less to do."""
    from django.contrib.auth.models import User

    from tickets.privacy.erase import customer_erase

    actor = User.objects.filter(pk=actor_id).first() if actor_id is not None else None
    return customer_erase(customer_id=customer_id, mode=mode, actor=actor).tickets


@shared_task(name="tickets.apply_retention", autoretry_for=(OperationalError,), retry_backoff=True)
def apply_retention() -> int:
    """Nightly: the admins' retention rules on closed tickets (tickets.privacy.retention)."""
    from tickets.privacy.retention import retention_run

    return sum(retention_run(now=timezone.now()).values())
