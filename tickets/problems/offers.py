"""Tier 0 tells a customer of a known issue first: when their new ticket comes from a
customer with an affected service, the automatic answer leads with what we know and a
signed link, "this is my problem", that links the ticket to the problem (so the customer
is answered when it is solved, with nothing more to do)."""

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext

from helpdesk.signed import SignedId
from tickets.models import Problem, ProblemStatus, Service, Ticket
from tickets.problems import known_issues
from tickets.problems.known_issues import Current
from tickets.services.notices import promised_time

# A "this is my problem" link keeps working this long.
_LINK_MAX_AGE = 30 * 24 * 3600


def _links(problem_id: int) -> SignedId:
    return SignedId(f"helpdesk.known-issue-mine.{problem_id}", max_age_seconds=_LINK_MAX_AGE)


def mine_token(ticket_id: int, problem_id: int) -> str:
    return _links(problem_id).token(ticket_id)


def ticket_id_from_mine_token(token: str, problem_id: int) -> int | None:
    return _links(problem_id).value(token)


def issues_for(ticket: Ticket, services: list[Service]) -> list[Current]:
    """The current known issues that name products or regions and affect a customer with
    these services."""
    return [
        issue
        for issue in known_issues.affecting(ticket.customer, services)
        if not issue.is_for_everyone
    ]


def offer_lines(ticket: Ticket, issues: list[Current]) -> list[str]:
    """What tier 0's answer says first of these known issues."""
    base = settings.PUBLIC_BASE_URL
    lines = []
    for issue in issues:
        token = mine_token(ticket.pk, issue.problem_id)
        path = reverse("known-issue-mine", args=[issue.problem_id, token])
        fix = (
            " "
            + gettext("We expect it fixed by %(time)s.")
            % {"time": promised_time(issue.expected_fix_at)}
            if issue.expected_fix_at
            else ""
        )
        lines += [
            gettext("We know of a problem that may be what you are seeing: %(title)s.")
            % {"title": issue.title},
            f"{issue.summary}{fix}",
            gettext(
                "If this is it, tell us here and we will write to you when it is fixed: %(link)s"
            )
            % {"link": f"{base}{path}"},
            "",
        ]
    return lines


def ticket_is_of_problem(*, ticket_id: int, problem_id: int) -> bool:
    """The customer says their ticket is this known issue: it is linked to the problem (and
    answered when it is solved). False when the problem is solved or the ticket is done."""
    from tickets.problems.services import problem_link

    with transaction.atomic():
        problem = Problem.objects.filter(pk=problem_id).first()
        ticket = Ticket.objects.filter(pk=ticket_id).first()
        if problem is None or ticket is None or problem.status == ProblemStatus.SOLVED:
            return False
        if ticket.problem_id == problem.pk:
            return True
        outcome = problem_link(problem=problem, tickets=[ticket], actor=None)
        return bool(outcome.linked)
