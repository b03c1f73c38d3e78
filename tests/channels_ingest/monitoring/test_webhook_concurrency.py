"""Two deliveries of one alert at the same moment (Alertmanager's retry racing its first
try, two Alertmanagers in a cluster): one problem, written once (PostgreSQL)."""

from datetime import UTC, datetime

import pytest

from tests.concurrency import run_second_while_first_holds
from tickets.models import Problem, ProblemEvent, ProblemEventKind
from tickets.problems.monitoring import AlertAction, MonitoringAlert, problems_from_alerts

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

NOW = datetime(2025, 3, 1, 9, 5, tzinfo=UTC)
FIRING = MonitoringAlert(
    key="olt-leeds", title="Fibre down in Leeds", firing=True,
    started_at=datetime(2025, 3, 1, 9, 0, tzinfo=UTC),
)  # fmt: skip


def test_the_same_new_alert_twice_at_once_opens_one_problem() -> None:
    outcomes: list[AlertAction] = []

    def deliver() -> None:
        outcomes.extend(o.action for o in problems_from_alerts(alerts=[FIRING], now=NOW))

    run_second_while_first_holds(deliver, deliver, lock="transactionid")

    problem = Problem.objects.get()
    assert outcomes == [AlertAction.OPENED, AlertAction.UNCHANGED]
    kinds = ProblemEvent.objects.filter(problem=problem).values_list("kind", flat=True)
    assert sorted(kinds) == [ProblemEventKind.CREATED, ProblemEventKind.MONITORING]


def test_the_same_change_twice_at_once_is_written_once() -> None:
    problems_from_alerts(alerts=[FIRING], now=NOW)
    resolved = MonitoringAlert(key="olt-leeds", title="", firing=False,
                               ended_at=datetime(2025, 3, 1, 10, 0, tzinfo=UTC))  # fmt: skip
    outcomes: list[AlertAction] = []

    def deliver() -> None:
        outcomes.extend(o.action for o in problems_from_alerts(alerts=[resolved], now=NOW))

    run_second_while_first_holds(deliver, deliver, lock="transactionid")

    assert outcomes == [AlertAction.NOTED, AlertAction.UNCHANGED]
    firing = ProblemEvent.objects.filter(kind=ProblemEventKind.MONITORING)
    assert [e.data["firing"] for e in firing.order_by("id")] == [True, False]
