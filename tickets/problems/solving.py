"""Answering a solved problem's tickets: after the problem is marked solved, a task answers
and resolves its linked tickets still open, a batch at a time (services.answer_many), then
tells whoever asked to hear of the fix."""

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.module_loading import import_string

from tickets.models import (
    ACTIVE_STATUSES,
    EventKind,
    Problem,
    ProblemEventKind,
    ProblemStatus,
    Ticket,
)
from tickets.problems import telling
from tickets.services._common import new_event, record_events
from tickets.services.answer_many import tickets_answer_and_resolve

logger = logging.getLogger(__name__)

# Tickets answered in one transaction: large enough that each statement carries many rows,
# small enough that the locks are held briefly and a retry repeats little.
BATCH = 500


def schedule(problem_id: int) -> None:
    """Queue the answering once the solving commits (the outbound sweep of a stuck problem
    is `answer_linked` run again: it picks up what is left)."""

    def enqueue() -> None:
        try:
            import_string(settings.HELPDESK_SOLVE_PROBLEM_TASK).delay(problem_id)
        except Exception:
            logger.exception("could not queue the answering of problem %s", problem_id)

    transaction.on_commit(enqueue)


def answer_linked(problem_id: int, *, batch: int = BATCH) -> tuple[int, int]:
    """Answer and resolve the solved problem's open tickets; (answered, left) counts. Run
    again, it answers only what is still open: a ticket is answered once."""
    problem = Problem.objects.filter(pk=problem_id, status=ProblemStatus.SOLVED).first()
    if problem is None:
        return 0, 0
    answered = left = 0
    after = 0
    event = (
        EventKind.PROBLEM_SOLVED,
        {"problem": problem.pk, "problem_ref": problem.reference, "title": problem.title},
    )
    while ids := _next_batch(problem, after, batch):
        after = ids[-1]
        # Why a ticket could not be answered is kept on it: in the default language.
        with translation.override(settings.LANGUAGE_CODE):
            outcome = tickets_answer_and_resolve(
                ticket_ids=ids,
                text=problem.solution,
                actor=problem.solved_by,
                now=timezone.now(),
                event=event,
            )
        answered += len(outcome.done)
        left += len(outcome.refused)
        if outcome.refused:
            _record_unanswered(problem, outcome.refused)
    _record_done(problem, answered, left)
    telling.tell_subscribers(problem)
    return answered, left


def _next_batch(problem: Problem, after: int, size: int) -> list[int]:
    return list(
        Ticket.objects.filter(
            problem=problem, pk__gt=after, status__in=ACTIVE_STATUSES, merged_into__isnull=True
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:size]
    )


def _record_unanswered(problem: Problem, refused: dict[int, str]) -> None:
    """Say on each ticket the answer could not go to why: its agents take it from there."""
    with transaction.atomic():
        tickets = Ticket.objects.in_bulk(list(refused))
        record_events(
            [
                new_event(
                    tickets[pk],
                    EventKind.PROBLEM_SOLVED,
                    actor=problem.solved_by,
                    problem=problem.pk,
                    problem_ref=problem.reference,
                    title=problem.title,
                    unanswered=why,
                )
                for pk, why in refused.items()
                if pk in tickets
            ]
        )


def _record_done(problem: Problem, answered: int, left: int) -> None:
    from tickets.problems.services import problem_event

    text = f"{answered} ticket{'s' * (answered != 1)} answered and resolved."
    if left:
        text += f" {left} could not be answered (see each ticket); they stay open."
    problem_event(
        problem,
        ProblemEventKind.SOLVED,
        actor=None,
        text=text,
        answered=answered,
        unanswered=left,
    )
