"""Golden monitoring payloads -> the alerts they tell of, exact values; and what is refused."""

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from channels_ingest.errors import Rejected
from channels_ingest.monitoring.parse import parse_alertmanager, parse_generic
from tickets.problems.monitoring import MonitoringAlert

GOLDEN = Path(__file__).parent / "golden"
FIBRE_KEY = '{}/{severity="critical"}:{alertname="FibreLinkDown", region="Leeds"}'
FIBRE_LABELS = {
    "alertname": "FibreLinkDown",
    "job": "olt",
    "product": "fibre broadband",
    "region": "Leeds",
    "severity": "critical",
}
ALERTMANAGER = "http://alertmanager.example.net:9093"


def _fibre_lines(status: str) -> str:
    return (
        f"- [{status}] FibreLinkDown (instance=olt-leeds-01:9100): Fibre uplink down at "
        "olt-leeds-01 — since 2025-03-01T09:00:12+00:00\n"
        f"- [{status}] FibreLinkDown (instance=olt-leeds-02:9100): Fibre uplink down at "
        "olt-leeds-02 — since 2025-03-01T10:01:40+01:00"
    )


FIBRE_START = datetime(2025, 3, 1, 9, 0, 12, 739266, tzinfo=UTC)

# file -> (source, alerts)
EXPECTED: dict[str, tuple[str, tuple[MonitoringAlert, ...]]] = {
    "alertmanager_firing.json": (
        "alertmanager",
        (
            MonitoringAlert(
                key=FIBRE_KEY,
                title="FibreLinkDown (region=Leeds)",
                firing=True,
                description=_fibre_lines("firing"),
                labels=FIBRE_LABELS,
                # The earliest of its firing alerts (10:01:40+01:00 is 09:01:40 UTC).
                started_at=FIBRE_START,
                ended_at=None,
                url=ALERTMANAGER,
            ),
        ),
    ),
    "alertmanager_resolved.json": (
        "alertmanager",
        (
            MonitoringAlert(
                key=FIBRE_KEY,
                title="FibreLinkDown (region=Leeds)",
                firing=False,
                description=_fibre_lines("resolved"),
                labels=FIBRE_LABELS,
                started_at=FIBRE_START,
                ended_at=datetime(2025, 3, 1, 11, 20, 40, tzinfo=UTC),  # the last to end
                url=ALERTMANAGER,
            ),
        ),
    ),
    "alertmanager_single_summary.json": (
        "alertmanager",
        (
            MonitoringAlert(
                key='{}/{severity="critical"}:{alertname="ProbeFailure"}',
                title="BlackBox Probe Failure: https://portal.example.net",
                firing=True,
                description=(
                    "Instance https://portal.example.net has been down for over 5m. "
                    "Job: http_checks\n\n- [firing] ProbeFailure: BlackBox Probe Failure: "
                    "https://portal.example.net — since 2025-02-06T13:08:45+00:00"
                ),
                labels={
                    "alertname": "ProbeFailure",
                    "instance": "https://portal.example.net",
                    "job": "http_checks",
                    "monitor": "master",
                    "severity": "critical",
                },
                started_at=datetime(2025, 2, 6, 13, 8, 45, 828000, tzinfo=UTC),
                url=ALERTMANAGER,
            ),
        ),
    ),
    "generic_two_alerts.json": (
        "generic",
        (
            MonitoringAlert(
                key="pingdom-check-8812",
                title="Customer portal unreachable",
                firing=True,
                description="3 of 3 probe locations cannot reach https://portal.example.net.",
                labels={"product": "Portal", "region": "EU", "probes": "3"},
                started_at=datetime(2025, 3, 1, 9, 0, tzinfo=UTC),
                url="https://my.pingdom.example/checks/8812",
            ),
            MonitoringAlert(
                key="pingdom-check-77",
                title="",
                firing=False,
                ended_at=datetime(2025, 3, 1, 9, 5, tzinfo=UTC),
            ),
        ),
    ),
}


def test_every_golden_file_has_expectations() -> None:
    assert sorted(p.name for p in GOLDEN.glob("*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_golden(name: str) -> None:
    source, alerts = EXPECTED[name]
    parser = parse_generic if source == "generic" else parse_alertmanager

    batch = parser((GOLDEN / name).read_bytes())

    assert batch.source == source
    assert batch.alerts == alerts


def _firing(**changes: object) -> bytes:
    payload = json.loads((GOLDEN / "alertmanager_firing.json").read_bytes())
    payload.update(changes)
    return json.dumps(payload).encode()


def test_a_group_key_too_long_to_keep_is_known_by_its_digest() -> None:
    (alert,) = parse_alertmanager(_firing(groupKey="{}:{" + "x" * 300 + "}")).alerts

    assert alert.key.startswith("sha256:")
    assert len(alert.key) == len("sha256:") + 64
    assert alert.key == parse_alertmanager(_firing(groupKey="{}:{" + "x" * 300 + "}")).alerts[0].key


def test_a_large_group_lists_twenty_alerts_and_counts_the_rest() -> None:
    payload = json.loads(_firing())
    one = payload["alerts"][0]
    payload["alerts"] = [
        {**one, "labels": {**one["labels"], "instance": f"olt-{n}"}} for n in range(25)
    ]
    payload["truncatedAlerts"] = 5

    (alert,) = parse_alertmanager(json.dumps(payload).encode()).alerts

    lines = alert.description.splitlines()
    assert len(lines) == 21
    assert lines[0].startswith("- [firing] FibreLinkDown (instance=olt-0): ")
    assert lines[-1] == "- … and 10 more"


def test_times_keep_their_zone_and_gos_zero_time_is_none() -> None:
    payload = json.loads(_firing())
    payload["alerts"] = [{**payload["alerts"][1]}]

    (alert,) = parse_alertmanager(json.dumps(payload).encode()).alerts

    assert alert.started_at == datetime(
        2025, 3, 1, 10, 1, 40, 100000, tzinfo=timezone(timedelta(hours=1))
    )
    assert alert.ended_at is None


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "the body is not JSON"),
        (b"{not json", "the body is not JSON"),
        (b"\xff\xfe", "the body is not JSON"),
        (b"[" * 100_000, "the body is not JSON"),
        (b"[]", "the body must be a JSON object"),
        (_firing(version="3"), "unsupported Alertmanager webhook version '3' (expected \"4\")"),
        (_firing(status="pending"), 'status must be "firing" or "resolved"'),
        (_firing(groupKey=""), "groupKey is required"),
        (_firing(groupKey=7), "groupKey must be a string"),
        (_firing(alerts=[]), "alerts must be a non-empty list"),
        (_firing(alerts="all"), "alerts must be a non-empty list"),
        (_firing(alerts=[7]), "alerts[0] must be an object"),
        (
            _firing(alerts=[{"status": "firing", "labels": {"a": {"b": 1}}}]),
            "alerts[0].labels.a must be a string",
        ),
        (
            _firing(alerts=[{"status": "firing", "startsAt": "yesterday"}]),
            "alerts[0].startsAt is not an RFC 3339 time: 'yesterday'",
        ),
        (
            _firing(alerts=[{"status": "firing", "startsAt": "2025-03-01T09:00:00"}]),
            "alerts[0].startsAt needs a time zone (e.g. Z)",
        ),
        (_firing(commonLabels=["product"]), "commonLabels must be an object"),
        (_firing(truncatedAlerts=-1), "truncatedAlerts must be a whole number"),
    ],
)
def test_alertmanager_payloads_that_are_refused(body: bytes, reason: str) -> None:
    with pytest.raises(Rejected) as refused:
        parse_alertmanager(body)

    assert refused.value.reason == reason


def _generic(*alerts: object) -> bytes:
    return json.dumps({"alerts": list(alerts)}).encode()


def test_one_generic_alert_may_come_alone() -> None:
    body = json.dumps({"key": "disk-full", "status": "firing", "title": "Disk full"}).encode()

    assert parse_generic(body).alerts == (
        MonitoringAlert(key="disk-full", title="Disk full", firing=True),
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (_generic(), "alerts must be a non-empty list"),
        (
            json.dumps(
                {"alerts": [{"key": "k", "status": "firing", "title": "t"}] * 1001}
            ).encode(),
            "at most 1000 alerts at once",
        ),
        (_generic({"status": "firing", "title": "t"}), "alerts[0].key is required"),
        (
            _generic({"key": "k" * 201, "status": "firing", "title": "t"}),
            "alerts[0].key is longer than 200 characters",
        ),
        (_generic({"key": "k", "status": "firing"}), "alerts[0].title is required"),
        (_generic({"key": "k", "status": "firing", "title": "  "}), "alerts[0].title is required"),
        (
            _generic({"key": "k", "status": "ok", "title": "t"}),
            'alerts[0].status must be "firing" or "resolved"',
        ),
        (
            _generic({"key": "k", "status": "firing", "title": "t", "severity": 1}),
            "alerts[0] has unknown fields: severity",
        ),
        (
            _generic({"key": "k", "status": "resolved"}, {"key": "k2", "status": "firing"}),
            "alerts[1].title is required",
        ),
    ],
)
def test_generic_payloads_that_are_refused(body: bytes, reason: str) -> None:
    with pytest.raises(Rejected) as refused:
        parse_generic(body)

    assert refused.value.reason == reason
