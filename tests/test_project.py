"""Project-wide checks: migrations match the models, the OpenAPI schema is valid."""

from io import StringIO

import pytest
import yaml  # PyYAML comes with drf-spectacular
from django.core.management import call_command


@pytest.mark.django_db
def test_no_missing_migrations():
    # Exits non-zero (SystemExit) when a model change has no migration.
    call_command("makemigrations", "--check", "--dry-run", stdout=StringIO())


def test_openapi_schema_validates_without_warnings(tmp_path):
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    for path in [
        "/api/v1/tickets/",
        "/api/v1/tickets/{ticket_id}/",
        "/api/v1/tickets/{ticket_id}/replies/",
        "/api/v1/tickets/{ticket_id}/notes/",
        "/api/v1/tickets/{ticket_id}/tier/",
        "/api/v1/tickets/{ticket_id}/merge/",
        "/api/v1/customers/",
        "/api/v1/customers/{customer_id}/",
        "/api/v1/customers/{customer_id}/contact-points/",
        "/api/v1/customers/{customer_id}/merge/",
        "/api/v1/tiers/",
        "/api/v1/attachments/{attachment_id}/",
    ]:
        assert path in paths
        for operation in paths[path].values():
            # Every operation documents its refusals in the common error shape.
            assert {"401", "403"} <= set(operation["responses"])


@pytest.mark.django_db
def test_tiers_0_to_3_are_seeded_by_migration():
    from tickets.models import Tier

    assert list(Tier.objects.values_list("level", flat=True)) == [0, 1, 2, 3]


@pytest.mark.django_db
def test_seed_demo_is_idempotent(settings):
    from tickets.models import AgentProfile, Automation, Customer, Message, Ticket, Trigger

    settings.DEBUG = True
    models = (Ticket, Message, Customer, AgentProfile, Trigger, Automation)
    call_command("seed_demo", stdout=StringIO())
    counts = [m.objects.count() for m in models]
    call_command("seed_demo", stdout=StringIO())
    assert [m.objects.count() for m in models] == counts
    assert counts[0] >= 5
    # An example trigger on, the usual automations as examples, off.
    assert [t.active for t in Trigger.objects.all()] == [True]
    assert [a.active for a in Automation.objects.all()] == [False, False, False]
    assert set(Ticket.objects.values_list("channel", flat=True)) >= {"email", "sms", "phone", "web"}


@pytest.mark.django_db
def test_seed_demo_refuses_without_debug(settings):
    from django.core.management.base import CommandError

    settings.DEBUG = False
    with pytest.raises(CommandError, match="well-known passwords"):
        call_command("seed_demo", stdout=StringIO())


def test_every_celery_queue_has_a_worker_in_make_run_and_in_compose(settings):
    """A queue no worker serves holds its tasks for ever (the inbound sweep's `recovery`)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    queues = {queue.name for queue in settings.CELERY_TASK_QUEUES}
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    assert routed <= queues
    procfile = (root / "helpdesk" / "Procfile.dev").read_text()
    dev_worker = next(line for line in procfile.splitlines() if line.startswith("worker:"))
    served = set(dev_worker.split("--queues ")[1].split()[0].split(","))
    assert served == queues
    compose = yaml.safe_load((root / "docker-compose.yml").read_text())
    command = compose["services"]["worker"]["command"]
    served = set(next(a for a in command if a.startswith("--queues=")).split("=")[1].split(","))
    assert served == queues
