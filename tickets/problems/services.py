"""Writes of problems: open one, change it, note on it, link its incident tickets, solve it.

Who may is tickets.policy's, asked here whatever the door (workspace, API, bulk actions):
notes are for anyone on staff, as on tickets; the rest for those who work tickets (light
agents do not). A solved problem takes no more tickets, and a closed or merged ticket is
not linked (it can no longer be answered).
Solving marks the problem solved and ends its known issue in one transaction; its tickets
are then answered and resolved by a task, in batches (tickets.problems.solving).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets import policy
from tickets.errors import Conflict, InvalidInput
from tickets.models import (
    EventKind,
    Problem,
    ProblemEvent,
    ProblemEventKind,
    ProblemSource,
    ProblemStatus,
    Product,
    Ticket,
    TicketStatus,
)
from tickets.problems import known_issues
from tickets.services._common import Actor, lock_row, lock_rows, new_event, record_events

TITLE_MAX = 200
# Tickets linked at once at most (a queue's page, a spike, a bulk action).
MOST_LINKED_AT_ONCE = 10_000


def problem_event(
    problem: Problem, kind: ProblemEventKind, *, actor: Actor, text: str = "", **data: Any
) -> ProblemEvent:
    return ProblemEvent.objects.create(
        problem=problem, kind=kind, actor=actor, text=text, data=data
    )


def _title(title: str, actor: Actor) -> str:
    """The title on one line. A person's is refused past TITLE_MAX (they can shorten it);
    the system's (a monitoring alert's, a spike's words) is shortened."""
    title = " ".join(title.split())
    if not title:
        raise InvalidInput(_("A problem needs a title."), code="title_missing")
    if "\x00" in title:  # PostgreSQL stores no NUL character (the ticket page posts it raw)
        raise InvalidInput(_("Remove the NUL character from the title."), code="invalid")
    if actor is not None and len(title) > TITLE_MAX:
        raise InvalidInput(
            _("A problem's title has at most %(most)d characters; this one has %(count)d.")
            % {"most": TITLE_MAX, "count": len(title)},
            code="title_too_long",
        )
    return title[:TITLE_MAX]


def problem_create(
    *,
    title: str,
    actor: Actor,
    public_explanation: str = "",
    product: Product | None = None,
    region: str = "",
    owner: User | None = None,
    source: str = ProblemSource.AGENT,
    external_key: str = "",
    tickets: Sequence[Ticket] = (),
    note: str = "",
) -> Problem:
    """A new problem (owned by whoever opened it unless said), with `tickets` linked."""
    policy.refuse_unless_works_tickets(actor, _("open problems"))
    with transaction.atomic():
        try:
            with transaction.atomic():
                problem = Problem.objects.create(
                    title=_title(title, actor),
                    public_explanation=public_explanation.strip(),
                    product=product,
                    region=region.strip()[:100],
                    owner=owner or actor,
                    source=source,
                    external_key=external_key[:200],
                )
        except IntegrityError:
            raise Conflict(
                _("A problem from %(source)s is known as %(external_key)r already.")
                % {"source": source, "external_key": external_key},
                code="problem_exists",
            ) from None
        problem_event(problem, ProblemEventKind.CREATED, actor=actor, text=note.strip())
        if tickets:
            problem_link(problem=problem, tickets=tickets, actor=actor)
    return problem


# The fields problem_change may change, and how each is read.
_CHANGEABLE = ("title", "status", "owner", "public_explanation", "product", "region")


def problem_change(*, problem: Problem, actor: Actor, **changes: Any) -> Problem:
    """Change some of a problem's title, status (not to solved: problem_solve does that),
    owner, public explanation, product and region."""
    policy.refuse_unless_works_tickets(actor, _("change problems"))
    unknown = set(changes) - set(_CHANGEABLE)
    if unknown:
        raise InvalidInput(
            _("A problem has no %(choices)s to change.") % {"choices": ", ".join(sorted(unknown))}
        )
    if "title" in changes:
        changes["title"] = _title(changes["title"], actor)
    if "status" in changes and changes["status"] not in (
        ProblemStatus.INVESTIGATING,
        ProblemStatus.IDENTIFIED,
    ):
        raise InvalidInput(
            _("A problem is investigating or its cause identified; solve it to solve it."),
            code="invalid_status",
        )
    with transaction.atomic():
        problem = _locked(problem)
        _refuse_if_solved(problem)
        said = {}
        for name, value in changes.items():
            if getattr(problem, name) != value:
                setattr(problem, name, value)
                said[name] = str(value) if value is not None else ""
        if not said:
            return problem
        problem.save()
        problem_event(problem, ProblemEventKind.CHANGED, actor=actor, **said)
        if problem_is_published(problem):
            known_issues.changed()
    return problem


def problem_note(*, problem: Problem, actor: Actor, text: str) -> ProblemEvent:
    """An internal note on the problem (staff only ever read it)."""
    policy.refuse_unless_may(actor, "note", _("write internal notes"))
    if not text.strip():
        raise InvalidInput(_("A note needs some text."), code="empty_message")
    if "\x00" in text:  # PostgreSQL stores no NUL character (the workspace posts it raw)
        raise InvalidInput(_("Remove the NUL character from the note."), code="invalid")
    return problem_event(problem, ProblemEventKind.NOTE, actor=actor, text=text.strip())


@dataclass
class Linked:
    """What linking did: tickets linked, those linked already, those refused and why."""

    linked: list[Ticket] = field(default_factory=list)
    already: int = 0
    refused: dict[str, str] = field(default_factory=dict)


def problem_link(*, problem: Problem, tickets: Sequence[Ticket], actor: Actor) -> Linked:
    """Link tickets to the problem as its incidents (a ticket of another problem moves to
    this one; its event says from which), in a few statements whatever their number."""
    policy.refuse_unless_works_tickets(actor, _("link tickets to problems"))
    if len(tickets) > MOST_LINKED_AT_ONCE:
        raise InvalidInput(
            _("Link at most %(most)s tickets at once.") % {"most": f"{MOST_LINKED_AT_ONCE:,}"}
        )
    outcome = Linked()
    with transaction.atomic():
        problem = _locked(problem)
        _refuse_if_solved(problem)
        locked = lock_rows(Ticket.objects.all(), [t.pk for t in tickets])
        for ticket in locked.values():
            why = _cannot_link(ticket, problem)
            if why == "":
                outcome.already += 1
            elif why:
                outcome.refused[ticket.reference] = why
            else:
                outcome.linked.append(ticket)
        _write_links(problem, outcome.linked, actor=actor)
    return outcome


def _cannot_link(ticket: Ticket, problem: Problem) -> str | None:
    """Why the ticket cannot be linked; "" when it is linked already; None when it can."""
    if ticket.problem_id == problem.pk:
        return ""
    if ticket.merged_into_id is not None:
        return _("it was merged into another ticket")
    if ticket.status == TicketStatus.CLOSED:
        return _("it is closed")
    return None


def _write_links(problem: Problem, tickets: list[Ticket], *, actor: Actor) -> None:
    if not tickets:
        return
    now = timezone.now()
    Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(problem=problem, updated_at=now)
    data: dict[str, Any] = {
        "problem": problem.pk,
        "problem_ref": problem.reference,
        "title": problem.title,
    }
    record_events(
        [
            new_event(
                t,
                EventKind.PROBLEM_LINKED,
                actor=actor,
                **data,
                **_moved_from(t),
            )
            for t in tickets
        ]
    )
    problem_event(
        problem,
        ProblemEventKind.LINKED,
        actor=actor,
        text=", ".join(t.reference for t in tickets[:20]) + (" …" if len(tickets) > 20 else ""),
        count=len(tickets),
    )
    for ticket in tickets:
        ticket.problem = problem


def _moved_from(ticket: Ticket) -> dict[str, Any]:
    return {"moved_from": ticket.problem_id} if ticket.problem_id else {}


def problem_unlink(*, ticket: Ticket, actor: Actor) -> Ticket:
    """Take a ticket off its problem (it was something else after all)."""
    policy.refuse_unless_works_tickets(actor, _("unlink tickets from problems"))
    with transaction.atomic():
        ticket = lock_row(Ticket.objects.select_related("problem"), ticket.pk) or ticket
        problem = ticket.problem
        if problem is None:
            raise Conflict(
                _("%(reference)s is linked to no problem.") % {"reference": ticket.reference},
                code="not_linked",
            )
        Ticket.objects.filter(pk=ticket.pk).update(problem=None, updated_at=timezone.now())
        data: dict[str, Any] = {
            "problem": problem.pk,
            "problem_ref": problem.reference,
            "title": problem.title,
        }
        record_events([new_event(ticket, EventKind.PROBLEM_UNLINKED, actor=actor, **data)])
        problem_event(problem, ProblemEventKind.UNLINKED, actor=actor, text=ticket.reference)
        ticket.problem = None
    return ticket


def problem_solve(
    *, problem: Problem, actor: Actor, answer: str, now: datetime | None = None
) -> Problem:
    """Solve the problem: its known issue ends, and once committed every linked ticket still
    open is answered with `answer` (placeholders filled for each customer) and resolved, and
    whoever asked to be told is told (tickets.problems.solving, in a task)."""
    from tickets.problems import solving

    policy.refuse_unless_works_tickets(actor, _("solve problems"))
    if not answer.strip():
        raise InvalidInput(_("Write the answer every linked customer gets."), code="answer_missing")
    now = now or timezone.now()
    with transaction.atomic():
        problem = _locked(problem)
        _refuse_if_solved(problem)
        problem.status, problem.solution = ProblemStatus.SOLVED, answer.strip()
        problem.solved_at, problem.solved_by = now, actor
        problem.save()
        problem_event(problem, ProblemEventKind.SOLVED, actor=actor, text=problem.solution)
        known_issues.end_for(problem, now=now)
        solving.schedule(problem.pk)
    return problem


def problem_is_published(problem: Problem) -> bool:
    return known_issues.current_for(problem) is not None


def _locked(problem: Problem) -> Problem:
    locked = lock_row(Problem.objects.all(), problem.pk)
    if locked is None:
        raise InvalidInput(
            _("Problem %(pk)s does not exist.") % {"pk": problem.pk}, code="not_found"
        )
    return locked


def _refuse_if_solved(problem: Problem) -> None:
    if problem.status == ProblemStatus.SOLVED:
        raise Conflict(
            _("%(reference)s is solved already.") % {"reference": problem.reference},
            code="problem_solved",
        )
