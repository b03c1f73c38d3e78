"""Monitoring's webhooks, through the HTTP door: a firing alert opens a problem and tells the
leads and admins; what follows is written once per change; nothing is written for a request
that is refused."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.test import Client

from tests.factories import AdminFactory, AgentFactory
from tickets.errors import InvalidInput
from tickets.models import (
    AgentProfile,
    Notification,
    Problem,
    ProblemEvent,
    ProblemEventKind,
    ProblemSource,
    ProblemStatus,
    Product,
)
from tickets.problems import services as problems
from tickets.problems.monitoring import MonitoringAlert, problems_from_alerts
from tickets.roles import LEADS_GROUP

pytestmark = pytest.mark.django_db

GOLDEN = Path(__file__).parent / "golden"
TOKEN = "monitoring-test-token-0123456789abcdef"
ALERTMANAGER = "/inbound/monitoring/alertmanager/"
GENERIC = "/inbound/monitoring/"
FIBRE_KEY = '{}/{severity="critical"}:{alertname="FibreLinkDown", region="Leeds"}'


@pytest.fixture(autouse=True)
def monitoring_on(settings: Any) -> None:
    settings.HELPDESK_MONITORING_TOKEN = TOKEN


@pytest.fixture
def staff(db: None) -> dict[str, Any]:
    """An agent, a lead and an admin: the lead and the admin hear of a new problem."""
    lead = AgentFactory(username="lead", tiers=[1])
    lead.groups.add(Group.objects.get(name=LEADS_GROUP))
    AgentProfile.objects.filter(user=lead).update(email_notifications=True)
    return {"agent": AgentFactory(username="frontline", tiers=[1]), "lead": lead,
            "admin": AdminFactory(username="boss")}  # fmt: skip


def _golden(name: str) -> bytes:
    return (GOLDEN / name).read_bytes()


def _post(
    path: str, body: bytes, *, token: str | None = TOKEN, scheme: str = "Bearer", **extra: Any
) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"{scheme} {token}"} if token is not None else {}
    return Client().post(path, body, content_type="application/json", **headers, **extra)


def _deliver(path: str, body: bytes, capture: Any) -> Any:
    """A delivery, with what it queues after commit (live pushes, emails) run."""
    with capture(execute=True):
        return _post(path, body)


def _with(name: str, **changes: Any) -> bytes:
    payload = json.loads(_golden(name))
    payload.update(changes)
    return json.dumps(payload).encode()


def _at(name: str, *, starts: datetime | None = None, ends: datetime | None = None) -> bytes:
    """The golden payload with every alert's start (and end) moved."""
    payload = json.loads(_golden(name))
    for alert in payload["alerts"]:
        if starts is not None:
            alert["startsAt"] = starts.isoformat()
        if ends is not None:
            alert["endsAt"] = ends.isoformat()
    return json.dumps(payload).encode()


def _written() -> tuple[int, int, int]:
    return (Problem.objects.count(), ProblemEvent.objects.count(), Notification.objects.count())


def _monitoring_events(problem: Problem) -> list[tuple[str, bool]]:
    events = problem.events.filter(kind=ProblemEventKind.MONITORING).order_by("id")
    return [(e.text.split("\n")[0], e.data["firing"]) for e in events]


# --- Opening -------------------------------------------------------------------------------


def test_a_firing_alert_opens_a_problem_and_tells_the_leads_and_admins(
    staff: dict[str, Any],
    django_capture_on_commit_callbacks: Any,
    celery_eager: Any,
    settings: Any,
) -> None:
    fibre = Product.objects.create(name="Fibre Broadband")

    response = _deliver(ALERTMANAGER, _golden("alertmanager_firing.json"),
                        django_capture_on_commit_callbacks)  # fmt: skip

    assert response.status_code == 200, response.content
    problem = Problem.objects.get()
    assert response.json() == {
        "alerts": [{"key": FIBRE_KEY, "action": "opened", "problem": problem.reference}]
    }
    assert (problem.title, problem.status, problem.source, problem.external_key) == (
        "FibreLinkDown (region=Leeds)",
        ProblemStatus.INVESTIGATING,
        ProblemSource.MONITORING,
        FIBRE_KEY,
    )
    assert (problem.product, problem.region, problem.owner) == (fibre, "Leeds", None)
    created, firing = problem.events.order_by("id")
    assert (created.kind, created.text, created.actor) == (
        ProblemEventKind.CREATED,
        "Opened by monitoring.",
        None,
    )
    assert firing.kind == ProblemEventKind.MONITORING
    assert firing.text.startswith("- [firing] FibreLinkDown (instance=olt-leeds-01:9100): ")
    assert firing.text.endswith("\n\nhttp://alertmanager.example.net:9093")
    assert firing.data["firing"] is True
    assert firing.data["started_at"] == "2025-03-01T09:00:12.739266+00:00"
    assert firing.data["labels"]["product"] == "fibre broadband"
    told = Notification.objects.order_by("user__username")
    text = f"Monitoring opened {problem.reference}: FibreLinkDown (region=Leeds)"
    assert [(n.user.username, n.ticket_id, n.kind, n.text) for n in told] == [
        ("boss", None, "problem_opened", text),
        ("lead", None, "problem_opened", text),
    ]
    # Emailed to whoever asked for it, linking to their notifications (there is no ticket).
    [sent] = mail.outbox
    assert sent.to == ["lead@example.com"]
    assert sent.subject == text
    # (then the brand's footer: tests/branding/test_emails.py)
    assert sent.body.startswith(f"{text}\n\n{settings.PUBLIC_BASE_URL}/agent/notifications/\n")


def test_product_and_region_are_left_empty_when_not_labelled_or_unknown(staff: Any) -> None:
    response = _post(ALERTMANAGER, _golden("alertmanager_single_summary.json"))

    assert response.status_code == 200, response.content
    problem = Problem.objects.get()
    assert problem.title == "BlackBox Probe Failure: https://portal.example.net"
    assert (problem.product, problem.region) == (None, "")
    # A product label naming no product: none.
    _post(GENERIC, json.dumps({"key": "k", "status": "firing", "title": "Down",
                               "labels": {"product": "Teleport"}}).encode())  # fmt: skip
    assert Problem.objects.get(external_key="k").product is None


def test_a_delivery_repeated_writes_nothing_more(
    staff: Any, django_capture_on_commit_callbacks: Any
) -> None:
    body = _golden("alertmanager_firing.json")
    _deliver(ALERTMANAGER, body, django_capture_on_commit_callbacks)
    before = _written()

    response = _deliver(ALERTMANAGER, body, django_capture_on_commit_callbacks)

    assert response.status_code == 200
    problem = Problem.objects.get()
    assert response.json()["alerts"] == [
        {"key": FIBRE_KEY, "action": "unchanged", "problem": problem.reference}
    ]
    assert _written() == before


# --- Updates -------------------------------------------------------------------------------


def test_resolved_is_written_once_and_does_not_solve_the_problem(staff: Any) -> None:
    _post(ALERTMANAGER, _golden("alertmanager_firing.json"))
    notified = Notification.objects.count()

    first = _post(ALERTMANAGER, _golden("alertmanager_resolved.json"))
    again = _post(ALERTMANAGER, _golden("alertmanager_resolved.json"))

    problem = Problem.objects.get()
    assert [a["action"] for a in (first.json()["alerts"][0], again.json()["alerts"][0])] == [
        "noted", "unchanged"
    ]  # fmt: skip
    assert problem.status == ProblemStatus.INVESTIGATING
    assert problem.solved_at is None
    last = problem.events.order_by("id").last()
    assert last is not None
    assert last.text.startswith(
        "Monitoring sees it resolved. The problem stays open until an agent solves it "
        "(solving answers its customers)."
    )
    assert last.data["ended_at"] == "2025-03-01T11:20:40+00:00"
    assert Notification.objects.count() == notified  # staff are told once, of the opening


def test_firing_again_after_resolved_is_noted_and_a_late_old_firing_is_not(staff: Any) -> None:
    _post(ALERTMANAGER, _golden("alertmanager_firing.json"))
    _post(ALERTMANAGER, _golden("alertmanager_resolved.json"))
    problem = Problem.objects.get()

    # Alertmanager delivering the first firing late (it started before the resolution).
    late = _post(ALERTMANAGER, _golden("alertmanager_firing.json"))
    # A new occurrence: it starts after the resolution.
    again = _post(ALERTMANAGER, _at("alertmanager_firing.json",
                                    starts=datetime(2025, 3, 1, 12, 0, tzinfo=UTC)))  # fmt: skip
    # ...and the old resolution delivered late again.
    old_resolution = _post(ALERTMANAGER, _golden("alertmanager_resolved.json"))

    actions = [r.json()["alerts"][0]["action"] for r in (late, again, old_resolution)]
    assert actions == ["unchanged", "noted", "unchanged"]
    assert _monitoring_events(problem) == [
        ("- [firing] FibreLinkDown (instance=olt-leeds-01:9100): Fibre uplink down at "
         "olt-leeds-01 — since 2025-03-01T09:00:12+00:00", True),
        ("Monitoring sees it resolved. The problem stays open until an agent solves it "
         "(solving answers its customers).", False),
        ("Monitoring sees it firing again.", True),
    ]  # fmt: skip
    assert Problem.objects.count() == 1


def test_a_resolved_alert_nobody_heard_fire_writes_nothing(staff: Any) -> None:
    response = _post(ALERTMANAGER, _golden("alertmanager_resolved.json"))

    assert response.status_code == 200
    assert response.json()["alerts"] == [{"key": FIBRE_KEY, "action": "ignored", "problem": None}]
    assert _written() == (0, 0, 0)


# --- A solved problem ----------------------------------------------------------------------


@pytest.fixture
def solved(staff: dict[str, Any]) -> Problem:
    """The fibre problem, solved by an agent while its alerts still fire."""
    _post(ALERTMANAGER, _golden("alertmanager_firing.json"))
    problem = Problem.objects.get()
    problems.problem_solve(problem=problem, actor=staff["agent"], answer="Fixed, sorry.",
                           now=datetime(2025, 3, 1, 11, 0, tzinfo=UTC))  # fmt: skip
    return problem


def test_a_solved_problem_is_not_reopened_by_monitoring(solved: Problem) -> None:
    still = _post(ALERTMANAGER, _golden("alertmanager_firing.json"))  # repeated while firing
    resolved = _post(ALERTMANAGER, _golden("alertmanager_resolved.json"))

    assert [r.json()["alerts"][0]["action"] for r in (still, resolved)] == ["unchanged", "noted"]
    solved.refresh_from_db()
    assert solved.status == ProblemStatus.SOLVED
    assert _monitoring_events(solved)[-1] == ("Monitoring sees it resolved.", False)
    assert Problem.objects.count() == 1


def test_firing_again_after_solving_opens_a_new_problem(solved: Problem) -> None:
    _post(ALERTMANAGER, _golden("alertmanager_resolved.json"))
    notified = Notification.objects.count()
    next_day = _at("alertmanager_firing.json", starts=datetime(2025, 3, 2, 8, 0, tzinfo=UTC))

    response = _post(ALERTMANAGER, next_day)
    repeated = _post(ALERTMANAGER, next_day)

    new = Problem.objects.exclude(pk=solved.pk).get()
    assert [r.json()["alerts"][0] for r in (response, repeated)] == [
        {"key": FIBRE_KEY, "action": "opened", "problem": new.reference},
        {"key": FIBRE_KEY, "action": "unchanged", "problem": new.reference},
    ]
    assert (new.status, new.external_key) == (ProblemStatus.INVESTIGATING, FIBRE_KEY)
    assert new.events.order_by("id").first().text == (  # type: ignore[union-attr]
        f"Opened by monitoring. It fired again after {solved.reference} was solved."
    )
    solved.refresh_from_db()
    assert (solved.status, solved.external_key) == (
        ProblemStatus.SOLVED, f"{FIBRE_KEY}#{solved.pk}"
    )  # fmt: skip
    assert Notification.objects.count() == notified + 2  # the lead and the admin, once


# --- The generic shape ---------------------------------------------------------------------


def test_generic_alerts_each_open_or_update_their_problem(staff: Any) -> None:
    portal = Product.objects.create(name="Portal")
    _post(GENERIC, json.dumps({"key": "pingdom-check-77", "status": "firing",
                               "title": "API slow"}).encode())  # fmt: skip

    response = _post(GENERIC, _golden("generic_two_alerts.json"))

    assert response.status_code == 200, response.content
    opened = Problem.objects.get(external_key="pingdom-check-8812")
    slow = Problem.objects.get(external_key="pingdom-check-77")
    assert response.json() == {"alerts": [
        {"key": "pingdom-check-8812", "action": "opened", "problem": opened.reference},
        {"key": "pingdom-check-77", "action": "noted", "problem": slow.reference},
    ]}  # fmt: skip
    assert (opened.title, opened.product, opened.region) == (
        "Customer portal unreachable", portal, "EU"
    )  # fmt: skip
    assert _monitoring_events(opened) == [
        ("3 of 3 probe locations cannot reach https://portal.example.net.", True)
    ]
    assert _monitoring_events(slow)[-1][1] is False


# --- Refusals: nothing written -------------------------------------------------------------


def test_switched_off_the_doors_are_not_there(settings: Any, staff: Any) -> None:
    settings.HELPDESK_MONITORING_TOKEN = ""

    for path in (ALERTMANAGER, GENERIC):
        assert _post(path, _golden("alertmanager_firing.json"), token="").status_code == 404
        assert Client().get(path).status_code == 404
    assert _written() == (0, 0, 0)


@pytest.mark.parametrize(
    ("token", "scheme"),
    [(None, "Bearer"), ("wrong-token", "Bearer"), (TOKEN + "x", "Bearer"), (TOKEN, "Token"),
     (TOKEN, "Basic"), ("", "Bearer")],
)  # fmt: skip
def test_a_missing_or_wrong_token_is_401(staff: Any, token: str | None, scheme: str) -> None:
    response = _post(ALERTMANAGER, _golden("alertmanager_firing.json"), token=token,
                     scheme=scheme)  # fmt: skip

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="monitoring"'
    assert response.json()["error"]["code"] == "not_authenticated"
    assert _written() == (0, 0, 0)


def test_the_scheme_is_read_without_regard_to_case(staff: Any) -> None:
    response = _post(ALERTMANAGER, _golden("alertmanager_firing.json"), scheme="bearer")

    assert response.status_code == 200


def test_an_address_sending_wrong_tokens_is_cut_off(settings: Any, staff: Any) -> None:
    settings.HELPDESK_API_TOKEN_FAILURES = 3
    for _ in range(3):
        assert _post(GENERIC, b"{}", token="guess").status_code == 401

    response = _post(ALERTMANAGER, _golden("alertmanager_firing.json"))  # even the right one

    assert response.status_code == 429
    assert int(response["Retry-After"]) == settings.HELPDESK_LOCKOUT_MINUTES * 60
    assert _written() == (0, 0, 0)


def test_only_post_is_taken(staff: Any) -> None:
    response = Client().get(ALERTMANAGER, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert response.status_code == 405
    assert response["Allow"] == "POST"


def test_a_body_declared_too_large_is_refused_unread(staff: Any) -> None:
    response = _post(ALERTMANAGER, b"{}", CONTENT_LENGTH=str(11 * 1024 * 1024))

    assert response.status_code == 413


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        (ALERTMANAGER, b"{not json", "the body is not JSON"),
        (ALERTMANAGER, _with("alertmanager_firing.json", version="2"),
         "unsupported Alertmanager webhook version '2' (expected \"4\")"),
        (ALERTMANAGER, _with("alertmanager_firing.json", alerts=[]),
         "alerts must be a non-empty list"),
        (GENERIC, _golden("alertmanager_firing.json"), "alerts[0] has unknown fields: annotations, "
         "endsAt, fingerprint, generatorURL, startsAt"),
        # The first alert is fine, the second is not: neither is written.
        (GENERIC, json.dumps({"alerts": [{"key": "a", "status": "firing", "title": "A"},
                                         {"key": "b", "status": "firing"}]}).encode(),
         "alerts[1].title is required"),
    ],
)  # fmt: skip
def test_a_payload_we_cannot_read_is_400_and_writes_nothing(
    staff: Any, path: str, body: bytes, message: str
) -> None:
    response = _post(path, body)

    assert response.status_code == 400
    assert response.json() == {"error": {"code": "invalid_payload", "message": message}}
    assert _written() == (0, 0, 0)


def test_a_batch_refused_by_the_domain_writes_nothing(staff: Any) -> None:
    """Each alert's key is checked again where it is written: one refused, none written."""
    alerts = [
        MonitoringAlert(key="fine", title="Fine", firing=True),
        MonitoringAlert(key=" \t", title="Blank key", firing=True),
    ]

    with pytest.raises(InvalidInput) as refused:
        problems_from_alerts(alerts=alerts, now=datetime(2025, 3, 1, tzinfo=UTC))

    assert refused.value.code == "alert_key_invalid"
    assert _written() == (0, 0, 0)
