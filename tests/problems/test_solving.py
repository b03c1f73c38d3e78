"""Solving a problem answers every linked ticket on its customer's channel and resolves it:
one message each, SLA clocks stopped, the survey link in the answer, the history written."""

from typing import Any

import pytest
from django.core import mail

from tickets import services
from tickets.errors import Conflict, InvalidInput
from tickets.models import (
    Channel,
    ContactKind,
    EventKind,
    Message,
    MessageKind,
    ProblemStatus,
    SLAClock,
    Ticket,
    TicketStatus,
)
from tickets.problems import services as problems
from tickets.problems.solving import answer_linked

pytestmark = pytest.mark.django_db

ANSWER = "Hello {{ customer.first_name }}, the outage behind {{ ticket.reference }} is fixed."


@pytest.fixture
def solve(django_capture_on_commit_callbacks: Any, celery_eager: Any) -> Any:
    """Solve as an agent does: what is queued after commit (the answering task) runs."""

    def solve_(problem: Any, actor: Any, answer: str) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            problems.problem_solve(problem=problem, actor=actor, answer=answer)

    return solve_


def _answers(ticket: Ticket) -> list[Message]:
    return list(ticket.messages.filter(kind=MessageKind.OUTBOUND).order_by("id"))


def test_solving_answers_each_linked_ticket_once_and_resolves_it(
    open_ticket: Any, agent: Any, solve: Any, settings: Any
) -> None:
    settings.HELPDESK_CUSTOMER_NOTICES = True  # a resolution notice would be a second message
    email = open_ticket(sender_name="Ann Lee")
    sms = open_ticket(
        channel=Channel.SMS, sender_kind=ContactKind.PHONE, sender="+14155550100", text="down"
    )
    services.ticket_change_status(ticket=email, status=TicketStatus.PENDING_CUSTOMER, actor=agent)
    notices_before = {t.pk: len(_answers(t)) for t in (email, sms)}
    problem = problems.problem_create(title="Fibre outage in Leeds", actor=agent)
    linked = problems.problem_link(problem=problem, tickets=[email, sms], actor=agent)
    assert len(linked.linked) == 2

    solve(problem, agent, ANSWER)

    for ticket in (email, sms):
        ticket.refresh_from_db()
        assert ticket.status == TicketStatus.RESOLVED
        new = _answers(ticket)[notices_before[ticket.pk] :]
        assert len(new) == 1, "exactly one message: the answer is the resolution notice"
        assert new[0].channel == ticket.channel
        assert f"the outage behind {ticket.reference} is fixed" in new[0].body_text
        assert "Rate our help: http" in new[0].body_text
        assert not SLAClock.objects.filter(ticket=ticket, stopped_at__isnull=True).exists()
        assert ticket.sla_due_at is None
        kinds = set(ticket.events.values_list("kind", flat=True))
        assert {EventKind.PROBLEM_LINKED, EventKind.PROBLEM_SOLVED, EventKind.REPLIED} <= kinds
    assert "Hello Ann," in _answers(email)[-1].body_text
    assert any("Hello Ann," in m.body for m in mail.outbox)
    problem.refresh_from_db()
    assert problem.status == ProblemStatus.SOLVED
    assert problem.events.last().data == {"answered": 2, "unanswered": 0}
    assert answer_linked(problem.pk) == (0, 0), "run again, it answers nobody twice"


def test_a_customer_writing_again_reaches_the_answered_ticket(
    open_ticket: Any, inbound: Any, agent: Any, solve: Any
) -> None:
    ticket = open_ticket(sender="ann@example.com")
    problem = problems.problem_create(title="Outage", actor=agent, tickets=[ticket])
    solve(problem, agent, "Fixed.")
    answer = _answers(ticket)[-1]

    result = services.ticket_ingest(
        inbound=inbound(
            sender="ann@example.com", text="Still down!", thread_ids=(answer.external_id,)
        )
    )

    assert result.ticket.pk == ticket.pk
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN


def test_tickets_that_cannot_be_answered_stay_open_and_say_why(
    open_ticket: Any, agent: Any, solve: Any
) -> None:
    reachable = open_ticket()
    unreachable = open_ticket()
    unreachable.customer.contact_points.all().delete()
    problem = problems.problem_create(title="Outage", actor=agent)
    problems.problem_link(problem=problem, tickets=[reachable, unreachable], actor=agent)

    solve(problem, agent, "Fixed.")

    unreachable.refresh_from_db()
    assert unreachable.status != TicketStatus.RESOLVED
    event = unreachable.events.filter(kind=EventKind.PROBLEM_SOLVED).get()
    assert "has no email address" in event.data["unanswered"]
    problem.refresh_from_db()
    assert problem.events.last().data == {"answered": 1, "unanswered": 1}


def test_linking_refuses_what_cannot_be_answered_and_a_solved_problem(
    open_ticket: Any, agent: Any, solve: Any
) -> None:
    closed, fine = open_ticket(), open_ticket()
    services.ticket_close(ticket=closed, actor=agent)
    problem = problems.problem_create(title="Outage", actor=agent)
    outcome = problems.problem_link(problem=problem, tickets=[closed, fine], actor=agent)
    assert [t.pk for t in outcome.linked] == [fine.pk]
    assert outcome.refused == {closed.reference: "it is closed"}
    assert problems.problem_link(problem=problem, tickets=[fine], actor=agent).already == 1

    with pytest.raises(InvalidInput):
        problems.problem_solve(problem=problem, actor=agent, answer="  ")
    problems.problem_solve(problem=problem, actor=agent, answer="Fixed.")
    with pytest.raises(Conflict):
        problems.problem_link(problem=problem, tickets=[open_ticket()], actor=agent)
    with pytest.raises(Conflict):
        problems.problem_solve(problem=problem, actor=agent, answer="Again.")
