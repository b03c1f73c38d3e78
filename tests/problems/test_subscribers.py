"""Whoever asked "tell me when it's fixed" is told when the problem is solved: by email or
by text, once each, with the public explanation; a failed send is recorded, never lost."""

from datetime import UTC, datetime
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from channels_ingest.errors import DeliveryError
from channels_ingest.sms import backends
from tickets import services
from tickets.models import ContactKind, KnownIssue, KnownIssueSubscriber, Problem, Undeliverable
from tickets.problems import known_issues
from tickets.problems import services as problems
from tickets.tasks import solve_problem

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _afresh(settings: Any) -> Any:
    known_issues.forget()
    backends.outbox.clear()
    settings.HELPDESK_PHONE_REGION = "GB"
    settings.HELPDESK_SUPPORT_ADDRESS = "help@desk.example"
    settings.PUBLIC_BASE_URL = "https://desk.example"
    yield
    backends.outbox.clear()


@pytest.fixture
def issue(agent: Any) -> KnownIssue:
    problem = problems.problem_create(
        title="Fibre cut",
        actor=agent,
        public_explanation="A digger cut a cable in Leeds; it was spliced and lines are back.",
    )
    return known_issues.known_issue_publish(
        problem=problem, actor=agent, title="Fibre down in Leeds", summary="Lines are down."
    )


def _ask(issue: KnownIssue, *contacts: str) -> None:
    client = Client()
    for contact in contacts:
        response = client.post(f"/status/{issue.pk}/notify/", {"contact": contact})
        assert response.status_code == 302, response.content


def _solve(problem: Problem, agent: Any, capture: Any) -> None:
    with capture(execute=True):  # the answering task, queued after commit, runs
        problems.problem_solve(problem=problem, actor=agent, answer="Fixed for you.")


def test_solving_tells_each_subscriber_once_by_email_or_text(
    issue: KnownIssue, agent: Any, celery_eager: Any, django_capture_on_commit_callbacks: Any
) -> None:
    _ask(issue, "ann@example.com", "07700 900123")

    _solve(issue.problem, agent, django_capture_on_commit_callbacks)

    [email] = mail.outbox
    assert email.to == ["ann@example.com"]
    assert email.from_email == "Support <help@desk.example>"
    assert email.subject == "Fixed: Fibre down in Leeds"
    assert "You asked us to tell you when this was fixed: Fibre down in Leeds." in email.body
    assert "It is fixed now. A digger cut a cable in Leeds" in email.body
    assert "https://desk.example/status/" in email.body
    assert email.extra_headers["Auto-Submitted"] == "auto-generated"
    [text] = backends.outbox
    assert text.to == "+447700900123"
    assert text.body.startswith("Fixed: Fibre down in Leeds. A digger cut a cable in Leeds")
    assert text.body.endswith("Status: https://desk.example/status/")
    told = KnownIssueSubscriber.objects.all()
    assert all(s.notified_at is not None and s.notify_error == "" for s in told)

    # The task run again (a retry, the sweep of a stuck problem) tells nobody twice.
    with django_capture_on_commit_callbacks(execute=True):
        solve_problem(issue.problem_id)
    assert len(mail.outbox) == 1 and len(backends.outbox) == 1


def test_without_a_public_explanation_the_known_issue_summary_is_told(
    agent: Any, celery_eager: Any, django_capture_on_commit_callbacks: Any
) -> None:
    problem = problems.problem_create(title="Slow mail", actor=agent)
    issue = known_issues.known_issue_publish(
        problem=problem, actor=agent, title="Email delays", summary="Mail arrives late."
    )
    _ask(issue, "bob@example.com")

    _solve(problem, agent, django_capture_on_commit_callbacks)

    assert "It is fixed now. Mail arrives late." in mail.outbox[0].body


def test_an_issue_ended_without_a_fix_tells_nobody(
    issue: KnownIssue, agent: Any, celery_eager: Any, django_capture_on_commit_callbacks: Any
) -> None:
    _ask(issue, "ann@example.com")
    known_issues.known_issue_end(problem=issue.problem, actor=agent)

    with django_capture_on_commit_callbacks(execute=True):
        solve_problem(issue.problem_id)  # a stray run: the problem is not solved

    assert mail.outbox == []
    assert KnownIssueSubscriber.objects.get().notified_at is None


def test_an_address_flagged_undeliverable_is_not_told(
    issue: KnownIssue, agent: Any, celery_eager: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """It hard-bounced (tests/channels_ingest/email/test_undeliverable_addresses.py): the
    notice is not sent, and the subscriber's row says why."""
    customer = services.customer_create(
        name="Ann", contacts=[(ContactKind.EMAIL, "ann@example.com")]
    )
    customer.contact_points.update(
        undeliverable=Undeliverable.BOUNCED,
        undeliverable_at=datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
        undeliverable_reason="smtp;550 5.1.1 unknown user",
    )
    _ask(issue, "ann@example.com", "bob@example.com")

    _solve(issue.problem, agent, django_capture_on_commit_callbacks)

    [email] = mail.outbox
    assert email.to == ["bob@example.com"]
    ann = KnownIssueSubscriber.objects.get(address="ann@example.com")
    assert ann.notify_error == "Not sent: ann@example.com bounced on 1 Dec 2026 09:30."
    assert ann.notified_at is not None  # not tried again by the next run


class _Refusing:
    """An email backend whose server is down."""

    def __init__(self, **_: Any) -> None:
        pass

    def send_messages(self, messages: Any) -> int:
        raise ConnectionRefusedError("mail server down")


def test_an_email_that_could_not_go_is_recorded_and_sent_by_the_next_run(
    issue: KnownIssue,
    agent: Any,
    celery_eager: Any,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    _ask(issue, "ann@example.com")
    settings.EMAIL_BACKEND = f"{__name__}._Refusing"

    _solve(issue.problem, agent, django_capture_on_commit_callbacks)

    subscriber = KnownIssueSubscriber.objects.get()
    assert subscriber.notified_at is None
    assert "mail server down" in subscriber.notify_error
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        solve_problem(issue.problem_id)
    assert len(mail.outbox) == 1
    subscriber.refresh_from_db()
    assert subscriber.notified_at is not None and subscriber.notify_error == ""


class _Unreachable(backends.BaseSmsBackend):
    """A number that cannot get texts."""

    def send_parts(self, to: str, parts: list[str]) -> list[str]:
        raise DeliveryError("Twilio error 21614: the number cannot receive SMS", permanent=True)


def test_a_number_that_cannot_get_texts_is_recorded_and_not_tried_again(
    issue: KnownIssue,
    agent: Any,
    celery_eager: Any,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    _ask(issue, "07700 900123")
    settings.SMS_BACKEND = f"{__name__}._Unreachable"

    _solve(issue.problem, agent, django_capture_on_commit_callbacks)

    subscriber = KnownIssueSubscriber.objects.get()
    assert "cannot receive SMS" in subscriber.notify_error
    assert subscriber.notified_at is not None  # tried; a permanent failure is not retried
    settings.SMS_BACKEND = "locmem"
    with django_capture_on_commit_callbacks(execute=True):
        solve_problem(issue.problem_id)
    assert backends.outbox == []
