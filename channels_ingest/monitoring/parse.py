"""Monitoring webhook payloads -> the alerts they tell of (tickets.problems.monitoring).

Pure: no database, no network. Two shapes:

- Prometheus Alertmanager's webhook (version "4"; Grafana's, version "1", has the same
  fields). A notification is about one alert *group* — the alerts Alertmanager's route
  bundles as one cause — so the group is one alert here: its groupKey the key, firing
  while any of its alerts fires, its common labels the labels, and its alerts listed in
  the description.
- A generic shape for any other monitoring system::

    {"alerts": [{"key": "fibre-leeds", "status": "firing", "title": "Fibre down in Leeds",
                 "description": "...", "labels": {"product": "Fibre", "region": "Leeds"},
                 "started_at": "2025-03-01T09:00:00Z", "ended_at": null, "url": "https://..."}]}

  or one such alert alone. `key`, `status` and (when firing) `title` are required.

A payload that is not one of these raises Rejected, saying what is wrong.
"""

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from channels_ingest.errors import Rejected
from tickets.problems.monitoring import KEY_MAX, MonitoringAlert

# The most alerts one generic payload may carry, and the longest description kept.
MAX_ALERTS = 1000
DESCRIPTION_MAX = 10_000
# An Alertmanager group's alerts listed in its description at most (the rest are counted).
LISTED_ALERTS = 20
ALERTMANAGER_VERSIONS = ("4", "1")
_STATUSES = {"firing": True, "resolved": False}


@dataclass(frozen=True)
class AlertBatch:
    """One delivery: which shape it came in, and its alerts in order."""

    source: str  # "alertmanager" or "generic"
    alerts: tuple[MonitoringAlert, ...]


def parse_alertmanager(body: bytes) -> AlertBatch:
    payload = _json_object(body)
    version = payload.get("version")
    if version not in ALERTMANAGER_VERSIONS:
        raise Rejected(f'unsupported Alertmanager webhook version {version!r} (expected "4")')
    firing = _status(payload.get("status"), "status")
    group_key = _text(payload.get("groupKey"), "groupKey", required=True)
    alerts = payload.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        raise Rejected("alerts must be a non-empty list")
    members = [_member(alert, f"alerts[{n}]") for n, alert in enumerate(alerts)]
    common_labels = _labels(payload.get("commonLabels"), "commonLabels")
    group_labels = _labels(payload.get("groupLabels"), "groupLabels")
    common_notes = _labels(payload.get("commonAnnotations"), "commonAnnotations")
    truncated = payload.get("truncatedAlerts", 0)
    if not isinstance(truncated, int) or isinstance(truncated, bool) or truncated < 0:
        raise Rejected("truncatedAlerts must be a whole number")
    now_firing = [m for m in members if m.firing]
    starts = [m.started_at for m in (now_firing or members) if m.started_at]
    ends = [m.ended_at for m in members if m.ended_at]
    alert = MonitoringAlert(
        key=group_key if len(group_key) <= KEY_MAX else _digest(group_key),
        title=_group_title(common_notes, common_labels, group_labels),
        firing=firing,
        description=_group_description(common_notes, common_labels, members, truncated),
        labels=common_labels,
        started_at=min(starts) if starts else None,
        ended_at=max(ends) if ends and not firing else None,
        url=_text(payload.get("externalURL"), "externalURL"),
    )
    return AlertBatch(source="alertmanager", alerts=(alert,))


def parse_generic(body: bytes) -> AlertBatch:
    payload = _json_object(body)
    if "alerts" in payload:
        alerts = payload["alerts"]
        if not isinstance(alerts, list) or not alerts:
            raise Rejected("alerts must be a non-empty list")
    else:
        alerts = [payload]
    if len(alerts) > MAX_ALERTS:
        raise Rejected(f"at most {MAX_ALERTS} alerts at once")
    parsed = tuple(_generic_alert(alert, f"alerts[{n}]") for n, alert in enumerate(alerts))
    return AlertBatch(source="generic", alerts=parsed)


# --- Alertmanager --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Member:
    """One alert of a group."""

    firing: bool
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    started_at: datetime | None
    ended_at: datetime | None


def _member(alert: Any, where: str) -> _Member:
    if not isinstance(alert, dict):
        raise Rejected(f"{where} must be an object")
    return _Member(
        firing=_status(alert.get("status"), f"{where}.status"),
        labels=_labels(alert.get("labels"), f"{where}.labels"),
        annotations=_labels(alert.get("annotations"), f"{where}.annotations"),
        started_at=_moment(alert.get("startsAt"), f"{where}.startsAt"),
        ended_at=_moment(alert.get("endsAt"), f"{where}.endsAt"),
    )


def _group_title(
    notes: Mapping[str, str], common: Mapping[str, str], grouped: Mapping[str, str]
) -> str:
    """The common summary; else the alert's name and what the group is by (its labels)."""
    if notes.get("summary", "").strip():
        return notes["summary"]
    by = _pairs({k: v for k, v in grouped.items() if k != "alertname"})
    name = common.get("alertname", "").strip() or grouped.get("alertname", "").strip()
    if name:
        return f"{name} ({by})" if by else name
    return f"Alerts of {by}" if by else "Monitoring alert"


def _group_description(
    notes: Mapping[str, str], common: Mapping[str, str], members: list[_Member], truncated: int
) -> str:
    lines = [notes["description"].strip(), ""] if notes.get("description", "").strip() else []
    for member in members[:LISTED_ALERTS]:
        lines.append(f"- {_member_line(member, common)}")
    left = len(members) - LISTED_ALERTS + truncated
    if left > 0:
        lines.append(f"- … and {left} more")
    return "\n".join(lines)[:DESCRIPTION_MAX]


def _member_line(member: _Member, common: Mapping[str, str]) -> str:
    """[firing] FibreLinkDown (instance=olt-1): Uplink down — since 2025-03-01T09:00:12+00:00
    (the labels the group's alerts share are left out)."""
    status = "firing" if member.firing else "resolved"
    line = f"[{status}] {member.labels.get('alertname', 'alert')}"
    own = _pairs({k: v for k, v in member.labels.items() if k != "alertname" and k not in common})
    if own:
        line += f" ({own})"
    said = member.annotations.get("summary") or member.annotations.get("description") or ""
    if said.strip():
        line += f": {' '.join(said.split())}"
    if member.started_at:
        line += f" — since {member.started_at.isoformat(timespec='seconds')}"
    return line


def _pairs(labels: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _digest(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


# --- Generic -------------------------------------------------------------------------------


def _generic_alert(alert: Any, where: str) -> MonitoringAlert:
    if not isinstance(alert, dict):
        raise Rejected(f"{where} must be an object")
    known = {"key", "status", "title", "description", "labels", "started_at", "ended_at", "url"}
    unknown = sorted(set(alert) - known)
    if unknown:
        raise Rejected(f"{where} has unknown fields: {', '.join(unknown)}")
    key = _text(alert.get("key"), f"{where}.key", required=True)
    if len(key) > KEY_MAX:
        raise Rejected(f"{where}.key is longer than {KEY_MAX} characters")
    firing = _status(alert.get("status"), f"{where}.status")
    title = _text(alert.get("title"), f"{where}.title", required=firing)
    return MonitoringAlert(
        key=key,
        title=title,
        firing=firing,
        description=_text(alert.get("description"), f"{where}.description")[:DESCRIPTION_MAX],
        labels=_labels(alert.get("labels"), f"{where}.labels"),
        started_at=_moment(alert.get("started_at"), f"{where}.started_at"),
        ended_at=_moment(alert.get("ended_at"), f"{where}.ended_at"),
        url=_text(alert.get("url"), f"{where}.url"),
    )


# --- Shared readers ------------------------------------------------------------------------


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise Rejected("the body is not JSON") from None
    if not isinstance(payload, dict):
        raise Rejected("the body must be a JSON object")
    return payload


def _status(value: Any, where: str) -> bool:
    if value not in _STATUSES:
        raise Rejected(f'{where} must be "firing" or "resolved"')
    return _STATUSES[value]


def _text(value: Any, where: str, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Rejected(f"{where} must be a string")
    if required and not value.strip():
        raise Rejected(f"{where} is required")
    return value.strip()


def _labels(value: Any, where: str) -> dict[str, str]:
    """A flat object of strings (numbers and booleans are written as text)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Rejected(f"{where} must be an object")
    labels = {}
    for name, item in value.items():
        if isinstance(item, bool):
            item = "true" if item else "false"
        elif isinstance(item, int | float):
            item = str(item)
        elif not isinstance(item, str):
            raise Rejected(f"{where}.{name} must be a string")
        labels[name] = item
    return labels


def _moment(value: Any, where: str) -> datetime | None:
    """An RFC 3339 time; absent, empty or Go's zero time (year 1) is none."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise Rejected(f"{where} must be an RFC 3339 time")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Rejected(f"{where} is not an RFC 3339 time: {value[:40]!r}") from None
    if moment.tzinfo is None:
        raise Rejected(f"{where} needs a time zone (e.g. Z)")
    return None if moment.year == 1 else moment
