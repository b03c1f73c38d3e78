"""Known issues: what customers are told of a problem while it lasts.

The current ones are kept per process (helpdesk.kept): the help center, the contact form
and the chat show them on every page, and a page with none published asks the database
nothing for them. Publishing, changing or ending one moves the version on.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.kept import KeptPerProcess
from tickets import policy
from tickets.contacts import normalize_contact
from tickets.errors import Conflict, InvalidInput
from tickets.models import (
    ContactKind,
    Customer,
    KnownIssue,
    KnownIssueSubscriber,
    Problem,
    ProblemEvent,
    ProblemEventKind,
    ProblemStatus,
    Product,
    Service,
)
from tickets.services._common import Actor


@dataclass(frozen=True)
class Current:
    """A published known issue as the pages show it."""

    id: int
    problem_id: int
    title: str
    summary: str
    product_ids: frozenset[int]
    product_names: tuple[str, ...]
    regions: tuple[str, ...]
    expected_fix_at: datetime | None
    published_at: datetime

    @property
    def is_for_everyone(self) -> bool:
        return not self.product_ids and not self.regions

    def affects(self, services: Iterable[Service]) -> bool:
        """Whether a customer with these services is among those affected: one has an
        affected product (any, when none is named) in an affected region (any, when none)."""
        regions = {r.casefold() for r in self.regions}
        return any(
            (not self.product_ids or s.product_id in self.product_ids)
            and (not regions or s.region.casefold() in regions)
            for s in services
        )


def _read() -> tuple[Current, ...]:
    issues = (
        KnownIssue.objects.filter(ended_at__isnull=True)
        .prefetch_related("products")
        .order_by("-published_at", "-id")
    )
    return tuple(
        Current(
            id=issue.pk,
            problem_id=issue.problem_id,
            title=issue.title,
            summary=issue.summary,
            product_ids=frozenset(p.pk for p in issue.products.all()),
            product_names=tuple(p.name for p in issue.products.all()),
            regions=tuple(issue.regions),
            expected_fix_at=issue.expected_fix_at,
            published_at=issue.published_at,
        )
        for issue in issues
    )


_kept = KeptPerProcess("known-issues", _read, max_seconds=60)


def current() -> tuple[Current, ...]:
    """The known issues published now, newest first (no query while they are unchanged)."""
    return _kept.current()


def changed() -> None:
    _kept.changed()


def forget() -> None:
    """Read them again at the next use (this process only; tests start afresh)."""
    _kept.forget()


def current_for(problem: Problem) -> Current | None:
    return next((issue for issue in current() if issue.problem_id == problem.pk), None)


def affecting(customer: Customer | None, services: Sequence[Service]) -> list[Current]:
    """The current known issues that affect a customer with these services; a known issue
    naming no product and no region affects everyone (a customer unknown too)."""
    return [
        issue
        for issue in current()
        if issue.is_for_everyone or (customer is not None and issue.affects(services))
    ]


def shown_to(user: AbstractBaseUser | AnonymousUser | None) -> list[Current]:
    """The current known issues a reader is shown (the banner, the public API): a signed-in
    customer whose services are known, those that affect them and those for everyone;
    anyone else (a visitor, a customer whose services the desk does not know), every one.
    Two queries for a signed-in reader, and only while an issue names products or regions."""
    from tickets.catalog.selectors import customer_services
    from tickets.selectors import customer_for_user

    issues = list(current())
    if user is None or not user.is_authenticated or all(i.is_for_everyone for i in issues):
        return issues
    customer = customer_for_user(user)
    services = list(customer_services(customer)) if customer is not None else []
    return affecting(customer, services) if services else issues


def _regions(regions: Iterable[str]) -> list[str]:
    return sorted({" ".join(r.split())[:100] for r in regions if r.strip()}, key=str.casefold)


def known_issue_publish(
    *,
    problem: Problem,
    actor: Actor,
    title: str,
    summary: str,
    products: Sequence[Product] = (),
    regions: Sequence[str] = (),
    expected_fix_at: datetime | None = None,
    now: datetime | None = None,
) -> KnownIssue:
    """Publish (or change, or publish again) the problem's known issue."""
    policy.refuse_unless_works_tickets(actor, _("publish known issues"))
    title, summary = " ".join(title.split())[:200], summary.strip()
    if not title or not summary:
        raise InvalidInput(
            _("A known issue needs a title and what customers should know."),
            code="known_issue_incomplete",
        )
    now = now or timezone.now()
    with transaction.atomic():
        problem = Problem.objects.select_for_update().get(pk=problem.pk)
        if problem.status == ProblemStatus.SOLVED:
            raise Conflict(
                _("%(reference)s is solved; there is nothing to tell.")
                % {"reference": problem.reference}
            )
        issue = KnownIssue.objects.filter(problem=problem).first() or KnownIssue(problem=problem)
        again = issue.pk is None or issue.ended_at is not None
        issue.title, issue.summary = title, summary
        issue.regions, issue.expected_fix_at = _regions(regions), expected_fix_at
        if again:
            issue.published_at, issue.ended_at = now, None
        issue.save()
        issue.products.set(products)
        ProblemEvent.objects.create(
            problem=problem,
            kind=ProblemEventKind.PUBLISHED,
            actor=actor,
            text=f"{title}\n\n{summary}",
        )
        changed()
    return issue


def known_issue_end(*, problem: Problem, actor: Actor, now: datetime | None = None) -> None:
    """Stop showing the problem's known issue (it lasted less, or was not one)."""
    policy.refuse_unless_works_tickets(actor, _("take down known issues"))
    with transaction.atomic():
        if end_for(problem, now=now or timezone.now()):
            ProblemEvent.objects.create(
                problem=problem, kind=ProblemEventKind.UNPUBLISHED, actor=actor
            )
        else:
            raise Conflict(
                _("%(reference)s has no known issue published.") % {"reference": problem.reference}
            )


def end_for(problem: Problem, *, now: datetime) -> bool:
    """End the problem's current known issue, if it has one."""
    ended = KnownIssue.objects.filter(problem=problem, ended_at__isnull=True).update(ended_at=now)
    if ended:
        changed()
    return bool(ended)


def known_issue_subscribe(
    *, known_issue_id: int, kind: str, address: str, customer: Customer | None = None
) -> KnownIssueSubscriber:
    """Someone asks to be told (by email, or by text to a phone) when the known issue is
    fixed, without opening a ticket. Asking twice is asking once."""
    if kind not in (ContactKind.EMAIL, ContactKind.PHONE):
        raise InvalidInput(_("Give an email address or a mobile number."), code="invalid_contact")
    value = normalize_contact(kind, address)
    issue = KnownIssue.objects.filter(pk=known_issue_id, ended_at__isnull=True).first()
    if issue is None:
        raise Conflict(_("This issue is fixed already, or no longer known."), code="not_current")
    try:
        with transaction.atomic():
            subscriber, _created = KnownIssueSubscriber.objects.get_or_create(
                known_issue=issue, kind=kind, address=value, defaults={"customer": customer}
            )
    except IntegrityError:  # the same person, twice at once
        subscriber = KnownIssueSubscriber.objects.get(known_issue=issue, kind=kind, address=value)
    return subscriber


@dataclass(frozen=True)
class Ended:
    """A known issue no longer shown on the pages, as the status page lists it."""

    id: int
    title: str
    summary: str
    product_names: tuple[str, ...]
    regions: tuple[str, ...]
    ended_at: datetime
    fixed: bool  # its problem was solved (else the issue was taken down)


def ended_since(since: datetime) -> list[Ended]:
    """The known issues that ended since then (and are not shown again), latest first."""
    issues = (
        KnownIssue.objects.filter(ended_at__gte=since)
        .select_related("problem")
        .prefetch_related("products")
        .order_by("-ended_at", "-id")
    )
    return [
        Ended(
            id=issue.pk,
            title=issue.title,
            summary=issue.summary,
            product_names=tuple(p.name for p in issue.products.all()),
            regions=tuple(issue.regions),
            ended_at=issue.ended_at,
            fixed=issue.problem.status == ProblemStatus.SOLVED,
        )
        for issue in issues
        if issue.ended_at is not None
    ]


def subscribed_between(since: datetime, until: datetime) -> int:
    """How many asked to be told of a fix (instead of opening a ticket) in the period."""
    return KnownIssueSubscriber.objects.filter(created_at__gte=since, created_at__lt=until).count()
