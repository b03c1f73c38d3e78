"""Monitoring opens problems, so support knows before the first customer writes.

A firing alert nobody knew of opens a problem (source monitoring, known by the alert's key)
and tells the leads and admins. Later news of it goes on the problem's history once per
change (firing, resolved, firing again), so a monitoring system repeating itself, or a
webhook delivered twice, writes nothing more. Monitoring never solves a problem: solving
answers every linked customer, and that is an agent's decision; a solved problem is not
reopened either. An alert that fires again after its problem was solved (it says it started
later) is a new occurrence: it opens a new problem, and the solved one keeps its history
under a retired key.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from tickets.errors import Conflict, InvalidInput
from tickets.models import (
    Problem,
    ProblemEvent,
    ProblemEventKind,
    ProblemSource,
    ProblemStatus,
    Product,
)
from tickets.problems.services import problem_create
from tickets.roles import lead_and_admin_ids
from tickets.services._common import lock_row
from tickets.services.notices import Said, notify_staff

KEY_MAX = Problem._meta.get_field("external_key").max_length or 200
# The labels read when a problem is opened: which product, and where.
PRODUCT_LABEL, REGION_LABEL = "product", "region"
NOTIFICATION_KIND = "problem_opened"


@dataclass(frozen=True)
class MonitoringAlert:
    """What a monitoring system says of one thing it watches, as its adapter reads it."""

    # What monitoring calls it (a group key, a check's id): its updates find the problem.
    key: str
    title: str
    firing: bool
    description: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    # When this occurrence started, and (resolved) ended, if monitoring says.
    started_at: datetime | None = None
    ended_at: datetime | None = None
    # Where to see it in the monitoring system.
    url: str = ""


class AlertAction(StrEnum):
    OPENED = "opened"  # a new problem
    NOTED = "noted"  # its change written on the problem
    UNCHANGED = "unchanged"  # nothing new: the problem says so already
    IGNORED = "ignored"  # resolved before we heard it fire: no problem to tell


@dataclass(frozen=True)
class AlertOutcome:
    key: str
    action: AlertAction
    problem: Problem | None


def problems_from_alerts(*, alerts: Sequence[MonitoringAlert], now: datetime) -> list[AlertOutcome]:
    """problem_from_alert for each alert of one delivery, all or none."""
    with transaction.atomic():
        return [
            problem_from_alert(
                key=alert.key,
                title=alert.title,
                description=alert.description,
                firing=alert.firing,
                labels=alert.labels,
                started_at=alert.started_at,
                ended_at=alert.ended_at,
                url=alert.url,
                now=now,
            )
            for alert in alerts
        ]


def problem_from_alert(
    *,
    key: str,
    title: str,
    firing: bool,
    now: datetime,
    description: str = "",
    labels: Mapping[str, str] | None = None,
    started_at: datetime | None = None,
    ended_at: datetime | None = None,
    url: str = "",
) -> AlertOutcome:
    """Open the problem a firing alert tells of, or write on its problem what changed."""
    key = key.strip()
    if not key or len(key) > KEY_MAX:
        raise InvalidInput(
            _("An alert needs a key of 1 to %(most)s characters.") % {"most": KEY_MAX},
            code="alert_key_invalid",
        )
    state = _State(firing=firing, started_at=started_at, ended_at=ended_at)
    with transaction.atomic():
        problem = _by_key(key)
        previous = None
        if problem is not None and _fires_again_after_solving(problem, state):
            previous = _retire_key(problem)
            problem = None
        if problem is None:
            if not firing:
                return AlertOutcome(key, AlertAction.IGNORED, None)
            opened = _open(
                key=key,
                title=title,
                description=description,
                labels=labels or {},
                state=state,
                url=url,
                previous=previous,
                now=now,
            )
            if opened is not None:
                return AlertOutcome(key, AlertAction.OPENED, opened)
            problem = _by_key(key)  # another delivery opened it meanwhile
            assert problem is not None
        noted = _note_change(problem, state, description=description, url=url, now=now)
    return AlertOutcome(key, AlertAction.NOTED if noted else AlertAction.UNCHANGED, problem)


@dataclass(frozen=True)
class _State:
    firing: bool
    started_at: datetime | None
    ended_at: datetime | None

    def data(self) -> dict[str, Any]:
        return {
            "firing": self.firing,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
        }

    @classmethod
    def of(cls, event: ProblemEvent) -> "_State":
        def moment(name: str) -> datetime | None:
            value = event.data.get(name)
            return datetime.fromisoformat(value) if isinstance(value, str) else None

        return cls(bool(event.data.get("firing")), moment("started_at"), moment("ended_at"))

    def is_older_than(self, last: "_State") -> bool:
        """A late delivery of news already overtaken: firing that started before the last
        resolution ended, or a resolution that ended before the last firing started."""
        if self.firing and not last.firing:
            return bool(self.started_at and last.ended_at and self.started_at < last.ended_at)
        if not self.firing and last.firing:
            return bool(self.ended_at and last.started_at and self.ended_at < last.started_at)
        return False


def _by_key(key: str) -> Problem | None:
    pk = (
        Problem.objects.filter(source=ProblemSource.MONITORING, external_key=key)
        .values_list("pk", flat=True)
        .first()
    )
    return lock_row(Problem.objects.all(), pk) if pk is not None else None


def _fires_again_after_solving(problem: Problem, state: _State) -> bool:
    return (
        problem.status == ProblemStatus.SOLVED
        and state.firing
        and state.started_at is not None
        and problem.solved_at is not None
        and state.started_at > problem.solved_at
    )


def _retire_key(problem: Problem) -> Problem:
    """Free the key of a solved problem for the next occurrence (kept, marked by its id)."""
    suffix = f"#{problem.pk}"
    retired = problem.external_key[: KEY_MAX - len(suffix)] + suffix
    Problem.objects.filter(pk=problem.pk).update(external_key=retired)
    return problem


def _open(
    *,
    key: str,
    title: str,
    description: str,
    labels: Mapping[str, str],
    state: _State,
    url: str,
    previous: Problem | None,
    now: datetime,
) -> Problem | None:
    """The new problem, its staff told; None when another delivery opened it first."""
    product_name = labels.get(PRODUCT_LABEL, "").strip()
    product = Product.objects.filter(name__iexact=product_name).first() if product_name else None
    note = "Opened by monitoring."
    if previous is not None:
        note += f" It fired again after {previous.reference} was solved."
    try:
        problem = problem_create(
            title=title or key,
            actor=None,
            product=product,
            region=labels.get(REGION_LABEL, ""),
            source=ProblemSource.MONITORING,
            external_key=key,
            note=note,
        )
    except Conflict:
        return None
    _monitoring_event(
        problem,
        _with_url(description.strip() or "Firing.", url),
        state,
        now=now,
        labels=dict(labels),
    )
    notify_staff(
        user_ids=lead_and_admin_ids(),
        kind=NOTIFICATION_KIND,
        text=Said(
            gettext_noop("Monitoring opened %(reference)s: %(title)s"),
            {"reference": problem.reference, "title": problem.title},
        ),
        now=now,
    )
    return problem


def _note_change(
    problem: Problem, state: _State, *, description: str, url: str, now: datetime
) -> bool:
    """Write what monitoring says now, if it says something new (the problem is locked)."""
    last_event = (
        ProblemEvent.objects.filter(problem=problem, kind=ProblemEventKind.MONITORING)
        .order_by("-id")  # the latest written, whatever time monitoring gave it
        .first()
    )
    if last_event is not None:
        last = _State.of(last_event)
        if state.firing == last.firing or state.is_older_than(last):
            return False
    if state.firing:
        text = "Monitoring sees it firing again."
        if description.strip():
            text += f"\n\n{description.strip()}"
    elif problem.status == ProblemStatus.SOLVED:
        text = "Monitoring sees it resolved."
    else:
        text = (
            "Monitoring sees it resolved. The problem stays open until an agent solves it "
            "(solving answers its customers)."
        )
    _monitoring_event(problem, _with_url(text, url), state, now=now)
    return True


def _monitoring_event(
    problem: Problem, text: str, state: _State, *, now: datetime, **data: Any
) -> ProblemEvent:
    return ProblemEvent.objects.create(
        problem=problem,
        kind=ProblemEventKind.MONITORING,
        actor=None,
        text=text,
        data={**state.data(), **data},
        created_at=now,
    )


def _with_url(text: str, url: str) -> str:
    return f"{text}\n\n{url}" if url else text
