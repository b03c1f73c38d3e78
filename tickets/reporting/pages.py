"""Each report as a page: headline figures, and tables with a chart beside them. The same
tables are the CSV exports, and every count links to the tickets behind it
(tickets/reporting/drilldown.py names the metric)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils.safestring import SafeString

from tickets.reporting import charts
from tickets.reporting.agents import agents_report
from tickets.reporting.charts import Series
from tickets.reporting.overview import Row, overview
from tickets.reporting.responsiveness import Spread, responsiveness
from tickets.reporting.satisfaction import Score, satisfaction
from tickets.reporting.scope import Scope
from tickets.reporting.sla import sla_report
from tickets.reporting.tiers import tier_flow

# A link to the tickets behind a number, from the drill-down's parameters (or, given
# {"ticket": id}, to that ticket).
Link = Callable[[dict[str, Any]], str]


@dataclass(frozen=True)
class Cell:
    value: Any
    link: str = ""


@dataclass(frozen=True)
class Column:
    title: str
    kind: str = "count"  # text, count, rate (0..1), minutes (business), date


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    columns: list[Column]
    rows: list[list[Cell]]
    charts: list[SafeString] = field(default_factory=list)
    note: str = ""


@dataclass(frozen=True)
class Figure:
    label: str
    value: Any
    kind: str = "count"
    link: str = ""


@dataclass(frozen=True)
class Page:
    name: str
    title: str
    intro: str
    figures: list[Figure]
    tables: list[Table]

    def table(self, key: str) -> Table | None:
        return next((table for table in self.tables if table.key == key), None)


def _bucket_label(scope: Scope, start: datetime) -> str:
    if scope.bucket == "week":
        return f"Week of {start:%-d %b}"
    return f"{start:%a %-d %b}"


def _chart_labels(scope: Scope, starts: list[datetime]) -> list[str]:
    """Short labels under a chart's columns: the day, or the week's Monday."""
    return [f"{start:%-d %b}" for start in starts]


def _bucket_period(scope: Scope, start: datetime) -> dict[str, str]:
    """Drill-down dates for one day or week, kept within the period."""
    days = 1 if scope.bucket == "day" else 7
    first = max(start, scope.since)
    last = min(start + timedelta(days=days), scope.until) - timedelta(days=1)
    return {"since": first.date().isoformat(), "until": last.date().isoformat()}


def _hours(minutes: int | None) -> float | None:
    return None if minutes is None else round(minutes / 60, 1)


# --- Overview ------------------------------------------------------------------------------


def overview_page(scope: Scope, now: datetime, link: Link) -> Page:
    report = overview(scope, now)
    labels = [_bucket_label(scope, point.start) for point in report.series]
    series = Table(
        "series",
        f"By {scope.bucket}",
        [
            Column(scope.bucket.title(), "text"),
            Column("Created"),
            Column("Solved"),
            Column("Backlog"),
        ],
        [
            [
                Cell(label),
                Cell(p.created, link({"metric": "created", **_bucket_period(scope, p.start)})),
                Cell(p.solved, link({"metric": "solved", **_bucket_period(scope, p.start)})),
                Cell(p.backlog, link({"metric": "backlog_end", **_bucket_period(scope, p.start)})),
            ]
            for label, p in zip(labels, report.series, strict=True)
        ],
        [
            charts.over_time(
                "Tickets created and solved, and the backlog",
                _chart_labels(scope, [p.start for p in report.series]),
                [
                    Series("Created", [p.created for p in report.series]),
                    Series("Solved", [p.solved for p in report.series]),
                ],
                [Series("Backlog", [p.backlog for p in report.series])],
            )
        ],
        note="Backlog: tickets not solved at the end of the day or week.",
    )
    return Page(
        "overview",
        "Overview",
        "How much came in, how much was solved, and what is left.",
        [
            Figure("Created", report.created, link=link({"metric": "created"})),
            Figure("Solved", report.solved, link=link({"metric": "solved"})),
            Figure(
                "Backlog at start", report.backlog_at_start, link=link({"metric": "backlog_start"})
            ),
            Figure("Backlog now", report.backlog_now, link=link({"metric": "backlog_now"})),
        ],
        [
            series,
            _breakdown("channel", "By channel", "Channel", report.by_channel, "channel", link),
            _breakdown("tier", "By tier (now)", "Tier", report.by_tier, "tier", link),
            _breakdown("priority", "By priority", "Priority", report.by_priority, "priority", link),
            _breakdown(
                "organization",
                "By organization (top 10)",
                "Organization",
                report.by_organization,
                "organization",
                link,
            ),
            *(
                _breakdown(f"field-{n}", f"By {label}", label, rows, "", link)
                for n, (label, rows) in enumerate(report.by_field, start=1)
            ),
            Table(
                "backlog_age",
                "Backlog by age (now)",
                [Column("Age", "text"), Column("Tickets")],
                [
                    [Cell(label), Cell(n, link({"metric": "backlog_age", "age": index}))]
                    for index, (label, n) in enumerate(report.backlog_age)
                ],
                [
                    charts.hbars(
                        "Tickets not solved, by age",
                        [label for label, _ in report.backlog_age],
                        [Series("Tickets", [n for _, n in report.backlog_age])],
                    )
                ],
            ),
        ],
    )


def _breakdown(key: str, title: str, name: str, rows: list[Row], param: str, link: Link) -> Table:
    def cell(row: Row, metric: str, value: int) -> Cell:
        # "No organization" has no value to filter on.
        return Cell(value, link({"metric": metric, param: row.key}) if row.key else "")

    return Table(
        key,
        title,
        [Column(name, "text"), Column("Created"), Column("Solved")],
        [[Cell(r.label), cell(r, "created", r.created), cell(r, "solved", r.solved)] for r in rows],
        [
            charts.hbars(
                f"Tickets created and solved, {title.lower()}",
                [r.label for r in rows],
                [
                    Series("Created", [r.created for r in rows]),
                    Series("Solved", [r.solved for r in rows]),
                ],
            )
        ],
    )


# --- Responsiveness -----------------------------------------------------------------------


def responsiveness_page(scope: Scope, now: datetime, link: Link) -> Page:
    report = responsiveness(scope)
    measures: list[tuple[str, Spread, str]] = [
        ("First reply", report.first_reply, "first_replied"),
        ("Next reply", report.next_reply, "next_replied"),
        ("Full resolution", report.resolution, "solved"),
    ]
    return Page(
        "responsiveness",
        "Responsiveness",
        "How long customers waited for a reply and for a solution (business hours of each "
        "ticket's SLA calendar), and how often the first answer was the last.",
        [
            Figure(
                "Median first reply",
                report.first_reply.median,
                "minutes",
                link({"metric": "first_replied"}),
            ),
            Figure(
                "Median next reply",
                report.next_reply.median,
                "minutes",
                link({"metric": "next_replied"}),
            ),
            Figure(
                "Median resolution", report.resolution.median, "minutes", link({"metric": "solved"})
            ),
            Figure(
                "First-contact resolution",
                report.first_contact_rate,
                "rate",
                link({"metric": "first_contact"}),
            ),
            Figure("Reopen rate", report.reopen_rate, "rate", link({"metric": "reopened"})),
        ],
        [
            Table(
                "times",
                "Reply and resolution times",
                [
                    Column("Measure", "text"),
                    Column("Count"),
                    Column("Median", "minutes"),
                    Column("90th percentile", "minutes"),
                    Column("Median (calendar)", "minutes"),
                    Column("90th percentile (calendar)", "minutes"),
                ],
                [
                    [
                        Cell(name),
                        Cell(s.count, link({"metric": metric})),
                        Cell(s.median),
                        Cell(s.p90),
                        Cell(s.median_calendar),
                        Cell(s.p90_calendar),
                    ]
                    for name, s, metric in measures
                ],
                [
                    charts.hbars(
                        "Median and 90th percentile, business hours",
                        [name for name, _, _ in measures],
                        [
                            Series("Median (hours)", [_hours(s.median) for _, s, _ in measures]),
                            Series(
                                "90th percentile (hours)", [_hours(s.p90) for _, s, _ in measures]
                            ),
                        ],
                    )
                ],
                note="Next reply counts replies; the tickets behind it are those answered again.",
            ),
            Table(
                "resolution",
                "First-contact resolution and reopens",
                [
                    Column("Tickets solved in the period", "text"),
                    Column("Tickets"),
                    Column("Share", "rate"),
                ],
                [
                    [Cell("Solved"), Cell(report.solved, link({"metric": "solved"})), Cell(None)],
                    [
                        Cell("Solved at first contact"),
                        Cell(report.solved_at_first_contact, link({"metric": "first_contact"})),
                        Cell(report.first_contact_rate),
                    ],
                    [
                        Cell("Reopened before being solved"),
                        Cell(report.reopened, link({"metric": "reopened"})),
                        Cell(report.reopen_rate),
                    ],
                ],
            ),
        ],
    )


# --- SLA -----------------------------------------------------------------------------------


def sla_page(scope: Scope, now: datetime, link: Link) -> Page:
    report = sla_report(scope, now)

    def outcome(metric: str, value: int, policy_id: int | None, kind: str) -> Cell:
        params = {"metric": metric, "policy": policy_id or "", "kind": kind}
        return Cell(value, link({k: v for k, v in params.items() if v != ""}))

    targets = [*report.targets, report.total]
    labels = [_bucket_label(scope, point.start) for point in report.series]
    return Page(
        "sla",
        "SLA",
        "Targets that started in the period: met, breached, or still running; and the "
        "tickets past or near their deadline now.",
        [
            Figure("Attainment", report.total.rate, "rate", link({"metric": "sla_met"})),
            Figure(
                "Targets breached", report.total.breached, link=link({"metric": "sla_breached"})
            ),
            Figure("Breached now", report.breached_now, link=link({"metric": "breached_now"})),
            Figure("Due within the hour", report.due_soon, link=link({"metric": "due_soon"})),
        ],
        [
            Table(
                "targets",
                "Attainment per policy and target",
                [
                    Column("Policy", "text"),
                    Column("Target", "text"),
                    Column("Met"),
                    Column("Breached"),
                    Column("In progress"),
                    Column("Attainment", "rate"),
                ],
                [
                    [
                        Cell(t.policy),
                        Cell(t.target),
                        outcome("sla_met", t.met, t.policy_id, t.kind),
                        outcome("sla_breached", t.breached, t.policy_id, t.kind),
                        outcome("sla_running", t.in_progress, t.policy_id, t.kind),
                        Cell(t.rate),
                    ]
                    for t in targets
                ],
                [
                    charts.hbars(
                        "SLA targets met, breached and in progress",
                        [f"{t.policy}: {t.target}" for t in report.targets],
                        [
                            Series("Met", [t.met for t in report.targets]),
                            Series("Breached", [t.breached for t in report.targets]),
                            Series("In progress", [t.in_progress for t in report.targets]),
                        ],
                        stacked=True,
                    )
                ],
            ),
            Table(
                "trend",
                f"Attainment by {scope.bucket}",
                [
                    Column(scope.bucket.title(), "text"),
                    Column("Met"),
                    Column("Breached"),
                    Column("In progress"),
                    Column("Attainment", "rate"),
                ],
                [
                    [
                        Cell(label),
                        Cell(
                            p.outcome.met,
                            link({"metric": "sla_met", **_bucket_period(scope, p.start)}),
                        ),
                        Cell(
                            p.outcome.breached,
                            link({"metric": "sla_breached", **_bucket_period(scope, p.start)}),
                        ),
                        Cell(
                            p.outcome.in_progress,
                            link({"metric": "sla_running", **_bucket_period(scope, p.start)}),
                        ),
                        Cell(p.outcome.rate),
                    ]
                    for label, p in zip(labels, report.series, strict=True)
                ],
                [
                    charts.over_time(
                        "SLA attainment over the period",
                        _chart_labels(scope, [p.start for p in report.series]),
                        lines=[Series("Attainment", [p.outcome.rate for p in report.series])],
                        percent=True,
                    )
                ],
                note="Each target counts on the day it started.",
            ),
        ],
    )


# --- Satisfaction ---------------------------------------------------------------------------


def satisfaction_page(scope: Scope, now: datetime, link: Link) -> Page:
    report = satisfaction(scope)
    labels = [_bucket_label(scope, point.start) for point in report.series]

    def scores(key: str, title: str, name: str, rows: list[Score], param: str) -> Table:
        return Table(
            key,
            title,
            [
                Column(name, "text"),
                Column("Ratings"),
                Column("Good (4-5)"),
                Column("CSAT", "rate"),
                Column("Solved"),
                Column("Response rate", "rate"),
            ],
            [
                [
                    Cell(s.label),
                    Cell(s.rated, link({"metric": "rated", param: s.key}) if s.key else ""),
                    Cell(
                        s.good, link({"metric": "rated", "good": 1, param: s.key}) if s.key else ""
                    ),
                    Cell(s.csat),
                    Cell(s.solved, link({"metric": "solved", param: s.key}) if s.key else ""),
                    Cell(s.response_rate),
                ]
                for s in rows
            ],
            [
                charts.hbars(
                    f"CSAT {title.lower()}",
                    [s.label for s in rows],
                    [
                        Series(
                            "CSAT (%)",
                            [None if s.csat is None else round(s.csat * 100) for s in rows],
                        )
                    ],
                )
            ],
        )

    return Page(
        "satisfaction",
        "Satisfaction",
        "How customers rated the help they got (CSAT: ratings of 4 or 5 among all ratings), "
        "how many answered the survey, and what they wrote.",
        [
            Figure("CSAT", report.total.csat, "rate", link({"metric": "rated", "good": 1})),
            Figure("Ratings", report.total.rated, link=link({"metric": "rated"})),
            Figure("Response rate", report.response_rate, "rate", link({"metric": "solved_rated"})),
        ],
        [
            Table(
                "ratings",
                "Ratings",
                [Column("Rating", "text"), Column("Ratings")],
                [
                    [Cell(f"{value} of 5"), Cell(n, link({"metric": "rated", "rating": value}))]
                    for value, n in report.ratings
                ],
                [
                    charts.hbars(
                        "Ratings given",
                        [f"{value} of 5" for value, _ in report.ratings],
                        [Series("Ratings", [n for _, n in report.ratings])],
                    )
                ],
            ),
            Table(
                "trend",
                f"CSAT by {scope.bucket}",
                [
                    Column(scope.bucket.title(), "text"),
                    Column("Ratings"),
                    Column("Good"),
                    Column("CSAT", "rate"),
                ],
                [
                    [
                        Cell(label),
                        Cell(p.rated, link({"metric": "rated", **_bucket_period(scope, p.start)})),
                        Cell(
                            p.good,
                            link({"metric": "rated", "good": 1, **_bucket_period(scope, p.start)}),
                        ),
                        Cell(p.csat),
                    ]
                    for label, p in zip(labels, report.series, strict=True)
                ],
                [
                    charts.over_time(
                        "CSAT over the period",
                        _chart_labels(scope, [p.start for p in report.series]),
                        lines=[Series("CSAT", [p.csat for p in report.series])],
                        percent=True,
                    )
                ],
            ),
            scores("agent", "By agent", "Agent (assignee)", report.by_agent, "agent"),
            scores("tier", "By tier that solved it", "Tier", report.by_tier, "solved_tier"),
            scores("channel", "By channel", "Channel", report.by_channel, "channel"),
            Table(
                "comments",
                "Comments (latest 50)",
                [
                    Column("Ticket", "text"),
                    Column("Rating"),
                    Column("Comment", "text"),
                    Column("Rated", "date"),
                ],
                [
                    [
                        Cell(c.reference, link({"ticket": c.ticket_id})),
                        Cell(c.rating),
                        Cell(c.comment),
                        Cell(c.at),
                    ]
                    for c in report.comments
                ],
            ),
        ],
    )


# --- Tier flow ------------------------------------------------------------------------------


def tiers_page(scope: Scope, now: datetime, link: Link) -> Page:
    report = tier_flow(scope)
    tiers = report.tiers
    names = [f"{t.level}: {t.name}" for t in tiers]

    def at_tier(metric: str, value: int, level: int) -> Cell:
        return Cell(value, link({"metric": metric, "level": level}))

    deflection = report.deflection
    return Page(
        "tiers",
        "Tier flow",
        "How work enters each tier (new, escalated from below, sent down from above), how "
        "it leaves (solved there, escalated, sent down), how long it stays, and what "
        "self-service (tier 0) answered before a ticket was needed.",
        [
            Figure("Deflection", deflection.rate, "rate"),
            Figure("Answered by self-service", deflection.deflected),
            Figure("Escalations", sum(t.escalated for t in tiers)),
            Figure("Sent back down", sum(t.sent_down for t in tiers)),
        ],
        [
            Table(
                "flow",
                "In and out of each tier",
                [
                    Column("Tier", "text"),
                    Column("New"),
                    Column("From below"),
                    Column("From above"),
                    Column("Solved here"),
                    Column("Escalated"),
                    Column("Sent down"),
                    Column("Solved share", "rate"),
                    Column("Median time in tier", "minutes"),
                    Column("90th percentile", "minutes"),
                ],
                [
                    [
                        Cell(name),
                        at_tier("tier_new", t.entered_new, t.level),
                        at_tier("entered_from_below", t.entered_from_below, t.level),
                        at_tier("entered_from_above", t.entered_from_above, t.level),
                        at_tier("tier_solved", t.solved, t.level),
                        at_tier("escalated", t.escalated, t.level),
                        at_tier("sent_down", t.sent_down, t.level),
                        Cell(t.solved_rate),
                        Cell(t.median_minutes),
                        Cell(t.p90_minutes),
                    ]
                    for name, t in zip(names, tiers, strict=True)
                ],
                [
                    charts.hbars(
                        "Work entering each tier",
                        names,
                        [
                            Series("New", [t.entered_new for t in tiers]),
                            Series("From below", [t.entered_from_below for t in tiers]),
                            Series("From above", [t.entered_from_above for t in tiers]),
                        ],
                        stacked=True,
                    ),
                    charts.hbars(
                        "Work leaving each tier",
                        names,
                        [
                            Series("Solved here", [t.solved for t in tiers]),
                            Series("Escalated", [t.escalated for t in tiers]),
                            Series("Sent down", [t.sent_down for t in tiers]),
                        ],
                        stacked=True,
                    ),
                ],
                note="Time in tier: business minutes, for the tickets solved in the period "
                "that were in the tier.",
            ),
            Table(
                "moves",
                "Moves between tiers",
                [Column("From", "text"), Column("To", "text"), Column("Moves")],
                [
                    [
                        Cell(names[m.from_level]),
                        Cell(names[m.to_level]),
                        Cell(
                            m.count,
                            link({"metric": "moved", "from": m.from_level, "to": m.to_level}),
                        ),
                    ]
                    for m in report.moves
                ],
            ),
            Table(
                "reasons",
                "Top reasons for escalating",
                [Column("From tier", "text"), Column("Reason", "text"), Column("Escalations")],
                [
                    [
                        Cell(names[t.level]),
                        Cell(r.reason or "(no reason given)"),
                        Cell(
                            r.count,
                            link({"metric": "escalated", "level": t.level, "reason": r.reason}),
                        ),
                    ]
                    for t in tiers
                    for r in t.top_reasons
                ],
            ),
            Table(
                "deflection",
                "Tier 0: self-service",
                [Column("Requests", "text"), Column("Count"), Column("Share", "rate")],
                [
                    [
                        Cell("Contact forms given up: the suggested article solved it"),
                        Cell(deflection.web_form),
                        Cell(None),
                    ],
                    [
                        Cell("Tickets the customer closed from the tier-0 answers"),
                        Cell(deflection.tier0_answers, link({"metric": "deflected"})),
                        Cell(None),
                    ],
                    [
                        Cell("Known issues: “tell me when it is fixed” instead of a ticket"),
                        Cell(deflection.known_issue),
                        Cell(None),
                    ],
                    [
                        Cell("Tickets created"),
                        Cell(deflection.tickets_created, link({"metric": "created"})),
                        Cell(None),
                    ],
                    [
                        Cell("Answered by self-service"),
                        Cell(deflection.deflected),
                        Cell(deflection.rate),
                    ],
                ],
                note="Deflection: answered by self-service among all requests (tickets "
                "created, contact forms given up and known-issue subscriptions). Given-up forms "
                "and subscriptions carry no ticket, so the filters do not narrow them.",
            ),
        ],
    )


# --- Agents ---------------------------------------------------------------------------------


def agents_page(scope: Scope, now: datetime, link: Link) -> Page:
    report = agents_report(scope, now)
    top = report.agents[:15]
    return Page(
        "agents",
        "Agents",
        "What each agent took on, answered and solved in the period, and holds now.",
        [
            Figure("Agents", len(report.agents)),
            Figure("Replies", sum(a.replies for a in report.agents)),
            Figure("Solved", sum(a.solved for a in report.agents)),
            Figure("Open now", sum(a.open_now for a in report.agents)),
        ],
        [
            Table(
                "agents",
                "Per agent",
                [
                    Column("Agent", "text"),
                    Column("Assigned"),
                    Column("Replies"),
                    Column("Solved"),
                    Column("First replies"),
                    Column("Median first reply", "minutes"),
                    Column("Ratings"),
                    Column("CSAT", "rate"),
                    Column("Open now"),
                ],
                [
                    [
                        Cell(a.name),
                        Cell(a.assigned, link({"metric": "assigned", "by": a.agent_id})),
                        Cell(a.replies, link({"metric": "replied", "by": a.agent_id})),
                        Cell(a.solved, link({"metric": "solved", "agent": a.agent_id})),
                        Cell(a.first_replies, link({"metric": "first_replied", "by": a.agent_id})),
                        Cell(a.median_first_reply),
                        Cell(a.rated, link({"metric": "rated", "agent": a.agent_id})),
                        Cell(a.csat),
                        Cell(a.open_now, link({"metric": "backlog_now", "agent": a.agent_id})),
                    ]
                    for a in report.agents
                ],
                [
                    charts.hbars(
                        "Solved in the period and open now, per agent",
                        [a.name for a in top],
                        [
                            Series("Solved", [a.solved for a in top]),
                            Series("Open now", [a.open_now for a in top]),
                        ],
                    )
                ],
                note="Solved, ratings and open now count the tickets assigned to the agent now; "
                "replies and first replies, those the agent wrote.",
            ),
        ],
    )


REPORTS: dict[str, tuple[str, Callable[[Scope, datetime, Link], Page]]] = {
    "overview": ("Overview", overview_page),
    "responsiveness": ("Responsiveness", responsiveness_page),
    "sla": ("SLA", sla_page),
    "satisfaction": ("Satisfaction", satisfaction_page),
    "tiers": ("Tier flow", tiers_page),
    "agents": ("Agents", agents_page),
}
