"""The reports' figures through the API, as a lead or an admin reads them, on the fixture
history (tests/reports/conftest.py)."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import _client_for
from tests.factories import AgentFactory
from tests.reports.conftest import at, travel
from tickets.roles import LEADS_GROUP

pytestmark = pytest.mark.django_db
WEEK = {"since": "2026-01-09", "until": "2026-01-15"}


@pytest.fixture
def lead_api():
    lead = AgentFactory(tiers=[1, 2])
    lead.groups.add(Group.objects.get(name=LEADS_GROUP))
    return _client_for(lead)


def test_the_overview_counts_what_came_in_and_what_was_solved(history, lead_api):
    with travel(at(16, 12)):
        report = lead_api.get("/api/v1/reports/overview/", WEEK).json()

    # The duplicate merged into the ticket is not a request of its own.
    assert (report["created"], report["solved"]) == (1, 1)
    assert (report["backlog_at_start"], report["backlog_now"]) == (0, 0)
    assert [(p["created"], p["solved"], p["backlog"]) for p in report["series"]] == [
        (1, 0, 1), (0, 0, 1), (0, 0, 1), (0, 0, 1), (0, 0, 1), (0, 0, 1), (0, 1, 0)
    ]  # fmt: skip
    assert [(r["key"], r["created"], r["solved"]) for r in report["by_channel"]] == [
        ("email", 1, 1)
    ]
    assert [(r["label"], r["created"]) for r in report["by_tier"]] == [("Tier 1", 1)]


def test_response_times_are_medians_and_90th_percentiles(history, lead_api):
    report = lead_api.get("/api/v1/reports/responsiveness/", WEEK).json()

    assert report["first_reply"] == {
        "count": 1, "median": 120, "p90": 120, "median_calendar": 5400, "p90_calendar": 5400
    }  # fmt: skip
    # Two next replies: 300 and 330 business minutes (300 and 1290 on the calendar).
    assert report["next_reply"] == {
        "count": 2, "median": 300, "p90": 330, "median_calendar": 300, "p90_calendar": 1290
    }  # fmt: skip
    assert (report["resolution"]["median"], report["resolution"]["median_calendar"]) == (
        1050,
        8250,
    )
    assert (report["solved"], report["solved_at_first_contact"], report["reopened"]) == (1, 0, 1)


def test_filters_narrow_the_tickets(history, lead_api):
    report = lead_api.get("/api/v1/reports/overview/", {**WEEK, "channel": "sms"}).json()

    assert (report["created"], report["solved"]) == (0, 0)


def test_only_admins_and_leads_read_reports(history, agent_api, admin_api, api):
    assert agent_api.get("/api/v1/reports/overview/").status_code == 403
    assert api.get("/api/v1/reports/overview/").status_code == 401
    assert admin_api.get("/api/v1/reports/overview/").status_code == 200


def test_a_wrong_period_is_refused_clearly(lead_api):
    response = lead_api.get("/api/v1/reports/overview/", {"since": "last monday"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_date"
    backwards = lead_api.get(
        "/api/v1/reports/overview/", {"since": "2026-02-01", **{"until": "2026-01-01"}}
    )
    assert backwards.json()["error"]["code"] == "invalid_period"


def test_sla_attainment_per_policy_and_target(history, lead_api):
    report = lead_api.get("/api/v1/reports/sla/", WEEK).json()

    # tests/reports/test_metrics.py works out each target; the merged duplicate's do not count.
    assert [
        (t["policy"], t["target"], t["met"], t["breached"], t["in_progress"])
        for t in report["targets"]
    ] == [
        ("Office hours", "First response", 0, 1, 0),
        ("Office hours", "Next response", 0, 2, 0),
        ("Office hours", "Resolution", 1, 0, 0),
    ]
    assert (report["total"]["met"], report["total"]["breached"]) == (1, 3)
    assert report["total"]["rate"] == 0.25
    assert (report["breached_now"], report["due_soon"]) == (0, 0)


def test_rates_are_part_of_the_figures(history, lead_api):
    report = lead_api.get("/api/v1/reports/responsiveness/", WEEK).json()

    assert (report["first_contact_rate"], report["reopen_rate"]) == (0.0, 1.0)


def test_satisfaction_scores_the_ratings_and_shows_the_comments(history, lead_api):
    ticket_id, _duplicate = history
    report = lead_api.get("/api/v1/reports/satisfaction/", WEEK).json()

    assert (report["total"]["rated"], report["total"]["good"], report["total"]["csat"]) == (
        1,
        1,
        1.0,
    )
    # Solved in the week and rated: the survey's response rate.
    assert (report["solved"], report["solved_rated"], report["response_rate"]) == (1, 1, 1.0)
    assert report["ratings"] == [[1, 0], [2, 0], [3, 0], [4, 0], [5, 1]]
    # Fran holds the ticket solved in the week, rated: all her customers answered.
    assert [
        (s["label"], s["rated"], s["csat"], s["solved"], s["response_rate"])
        for s in report["by_agent"]
    ] == [("Fran Front", 1, 1.0, 1, 1.0)]
    assert [(s["label"], s["rated"]) for s in report["by_tier"]] == [("Tier 1", 1)]
    assert [(s["key"], s["rated"]) for s in report["by_channel"]] == [("email", 1)]
    assert [(c["ticket_id"], c["rating"], c["comment"]) for c in report["comments"]] == [
        (ticket_id, 5, "Fixed at last")
    ]
    assert [p["rated"] for p in report["series"]] == [0, 0, 0, 0, 0, 0, 1]


def test_tier_flow_follows_the_ticket_through_the_tiers(history, lead_api):
    report = lead_api.get("/api/v1/reports/tiers/", WEEK).json()

    flows = {
        t["level"]: (
            t["entered_new"], t["entered_from_below"], t["entered_from_above"],
            t["solved"], t["escalated"], t["sent_down"], t["median_minutes"],
        )
        for t in report["tiers"]
    }  # fmt: skip
    # Created in tier 0, handed to tier 1, escalated to tier 2, sent back, solved in tier 1;
    # minutes in each tier as tests/reports/test_metrics.py works them out.
    assert flows == {
        0: (1, 0, 0, 0, 1, 0, 30),
        1: (0, 1, 1, 1, 1, 0, 780),
        2: (0, 1, 0, 0, 0, 1, 180),
        3: (0, 0, 0, 0, 0, 0, None),
    }
    reasons = {t["level"]: t["top_reasons"] for t in report["tiers"]}
    assert reasons[0] == [{"reason": "hand-off", "count": 1}]
    assert reasons[1] == [{"reason": "needs engineering", "count": 1}]
    assert [(m["from_level"], m["to_level"], m["count"]) for m in report["moves"]] == [
        (0, 1, 1), (1, 2, 1), (2, 1, 1)
    ]  # fmt: skip
    assert report["deflection"] == {
        "web_form": 0, "tier0_answers": 0, "tickets_created": 1, "known_issue": 0
    }  # fmt: skip


def test_agents_report_what_each_agent_did(history, lead_api):
    report = lead_api.get("/api/v1/reports/agents/", WEEK).json()

    rows = {
        a["name"]: (
            a["assigned"], a["replies"], a["solved"], a["median_first_reply"], a["rated"],
            a["csat"], a["open_now"],
        )
        for a in report["agents"]
    }  # fmt: skip
    # Fran took it twice, wrote the first reply (120 business minutes) and the last, solved
    # it and was rated; Erin took it once and replied once.
    assert rows == {
        "Fran Front": (2, 2, 1, 120, 1, 1.0, 0),
        "Erin Engineer": (1, 1, 0, None, 0, None, 0),
    }


def test_every_report_costs_the_same_statements_however_many_tickets(
    history, lead_api, open_ticket
):
    names = ("overview", "responsiveness", "sla", "satisfaction", "tiers", "agents")
    paths = [f"/api/v1/reports/{name}/" for name in names]

    def statements() -> list[int]:
        counts = []
        for path in paths:
            with CaptureQueriesContext(connection) as queries:
                assert lead_api.get(path, WEEK).status_code == 200
            counts.append(len(queries))
        return counts

    before = statements()
    with travel(at(13, 12)):
        for _ in range(5):
            open_ticket()
    assert statements() == before


def test_the_backlog_at_start_of_a_period_that_runs_to_today(history, lead_api):
    # Up to today the backlog at the start is worked out from today's (no query); it must
    # agree with the count a past period makes.
    to_today = {"since": "2026-01-13", "until": "2026-01-16"}
    with travel(at(16, 12)):
        today = lead_api.get("/api/v1/reports/overview/", to_today).json()
    with travel(at(20, 12)):
        past = lead_api.get("/api/v1/reports/overview/", to_today).json()

    assert today["backlog_at_start"] == past["backlog_at_start"] == 1
    assert (today["created"], today["solved"], today["backlog_now"]) == (0, 1, 0)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"until": "9999-12-31"}, "invalid_date"),
        ({"since": "0001-01-01", "until": "0001-01-07"}, "invalid_date"),
        ({"tier": "99999999999999999999"}, "invalid_tier"),
        ({"bucket": "year"}, "invalid_bucket"),
        ({"channel": "fax"}, "invalid_channel"),
        ({"agent": "me"}, "invalid_agent"),
    ],
)
def test_every_wrong_filter_is_a_clear_400(lead_api, params, code):
    for name in ("overview", "responsiveness", "sla", "satisfaction", "tiers", "agents"):
        response = lead_api.get(f"/api/v1/reports/{name}/", {"bucket": "week", **params})
        assert response.status_code == 400, (name, params)
        assert response.json()["error"]["code"] == code
