"""SLA deadline arithmetic (tickets.sla): exact examples, DST, pauses, clock states, properties.

Pure functions: no database, no clock. Times are built in the calendar's zone unless a test
is about another zone.
"""

import math
import time as clock
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tickets.sla import (
    TWENTY_FOUR_SEVEN,
    Calendar,
    ClockState,
    Interval,
    Pause,
    add_business_minutes,
    business_minutes_between,
    business_minutes_elapsed,
    clock_state,
    due_at,
    warning_at,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
NINE_TO_FIVE = (Interval(time(9), time(17)),)
WEEKDAYS = {day: NINE_TO_FIVE for day in range(5)}
EARLY_HOURS = (Interval(time(1), time(3)),)  # Spans the 01:00/02:00 DST jumps.


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)  # type: ignore[misc]


def new_york(*args: int) -> datetime:
    return datetime(*args, tzinfo=NEW_YORK)  # type: ignore[misc]


def every_day(zone: str, *intervals: Interval) -> Calendar:
    return Calendar(zone, {day: intervals for day in range(7)})


@pytest.fixture
def office() -> Calendar:
    return Calendar("Europe/London", WEEKDAYS)


# --- Intervals and calendars -------------------------------------------------------------


def test_interval_parse_and_midnight_end() -> None:
    assert Interval.parse("09:00-17:30") == Interval(time(9), time(17, 30))
    assert Interval.parse("22:00-24:00") == Interval(time(22), time(0))
    assert Interval(time(0), time(0)).offsets == (timedelta(0), timedelta(days=1))


@pytest.mark.parametrize(
    ("start", "end"),
    [(time(17), time(9)), (time(9), time(9)), (time(9, tzinfo=UTC), time(10))],
)
def test_interval_rejects_empty_backwards_or_aware(start: time, end: time) -> None:
    with pytest.raises(ValueError):
        Interval(start, end)


@pytest.mark.parametrize("text", ["09:00", "9-17-18", "nine-five"])
def test_interval_parse_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError):
        Interval.parse(text)


def test_calendar_rejects_overlaps_bad_weekdays_and_zones() -> None:
    with pytest.raises(ValueError, match="overlap"):
        Calendar("UTC", {0: (Interval(time(9), time(13)), Interval(time(12), time(17)))})
    with pytest.raises(ValueError, match="overlap"):
        Calendar("UTC", {0: (Interval(time(9), time(0)), Interval(time(23), time(0)))})
    with pytest.raises(ValueError, match="Weekdays"):
        Calendar("UTC", {7: NINE_TO_FIVE})
    with pytest.raises(ValueError, match="time zone"):
        Calendar("Mars/Olympus_Mons", WEEKDAYS)


def test_calendar_accepts_touching_intervals_in_any_order() -> None:
    cal = Calendar("UTC", {0: (Interval(time(12), time(17)), Interval(time(9), time(12)))})
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    assert business_minutes_between(start, start + timedelta(hours=8), cal) == 480
    assert add_business_minutes(start, 180, cal) == datetime(2026, 1, 5, 12, tzinfo=UTC)


def test_from_country_fills_holidays_and_extras() -> None:
    cal = Calendar.from_country(
        "Europe/London", WEEKDAYS, "GB", "ENG", years=[2026], extra_holidays=[date(2026, 7, 1)]
    )
    assert date(2026, 12, 25) in holidays.country_holidays("GB", years=2026)
    assert {date(2026, 12, 25), date(2026, 12, 28), date(2026, 7, 1)} <= cal.holidays
    assert date(2027, 12, 27) not in cal.holidays  # Only the years asked for.
    with pytest.raises(ValueError, match="No holidays"):
        Calendar.from_country("UTC", WEEKDAYS, "XX")


# --- add_business_minutes: exact examples ------------------------------------------------


@pytest.mark.parametrize(
    ("start", "minutes", "expected"),
    [
        (london(2026, 1, 5, 16, 30), 60, london(2026, 1, 6, 9, 30)),  # Mon → Tue
        (london(2026, 1, 5, 10), 60, london(2026, 1, 5, 11)),
        (london(2026, 1, 5, 16), 60, london(2026, 1, 5, 17)),  # Ends exactly at closing.
        (london(2026, 1, 9, 16, 30), 60, london(2026, 1, 12, 9, 30)),  # Fri → Mon
        (london(2026, 1, 9, 19), 60, london(2026, 1, 12, 10)),  # Friday evening
        (london(2026, 1, 10, 12), 30, london(2026, 1, 12, 9, 30)),  # Saturday
        (london(2026, 1, 5, 7), 5 * 480, london(2026, 1, 9, 17)),  # A whole week
        (london(2026, 1, 5, 9), 5 * 480 + 1, london(2026, 1, 12, 9, 1)),
        (london(2026, 1, 5, 9), 0.5, london(2026, 1, 5, 9, 0, 30)),  # Fractions of a minute
    ],
)
def test_add_on_nine_to_five(
    office: Calendar, start: datetime, minutes: float, expected: datetime
) -> None:
    result = add_business_minutes(start, minutes, office)
    assert result == expected
    assert result.tzinfo is UTC


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (london(2026, 1, 5, 10, 15), london(2026, 1, 5, 10, 15)),  # Open: start itself.
        (london(2026, 1, 5, 9), london(2026, 1, 5, 9)),  # Opening time is open.
        (london(2026, 1, 5, 17), london(2026, 1, 6, 9)),  # Closing time is not.
        (london(2026, 1, 9, 18), london(2026, 1, 12, 9)),
    ],
)
def test_zero_minutes_is_the_first_open_moment(
    office: Calendar, start: datetime, expected: datetime
) -> None:
    assert add_business_minutes(start, 0, office) == expected


def test_lunch_break() -> None:
    day = (Interval(time(9), time(12)), Interval(time(13), time(17, 30)))
    cal = Calendar("Europe/London", {day_: day for day_ in range(5)})
    assert add_business_minutes(london(2026, 1, 5, 11, 30), 60, cal) == london(2026, 1, 5, 13, 30)
    assert add_business_minutes(london(2026, 1, 5, 12, 15), 0, cal) == london(2026, 1, 5, 13)
    assert add_business_minutes(london(2026, 1, 5, 11), 60, cal) == london(2026, 1, 5, 12)
    assert add_business_minutes(london(2026, 1, 5, 17), 60, cal) == london(2026, 1, 6, 9, 30)
    assert business_minutes_between(london(2026, 1, 5), london(2026, 1, 6), cal) == 450


def test_christmas_and_observed_boxing_day_are_skipped() -> None:
    cal = Calendar.from_country("Europe/London", WEEKDAYS, "GB", years=[2026])
    # Thu 24th → Fri 25th Christmas, weekend, Mon 28th Boxing Day (observed) → Tue 29th.
    assert add_business_minutes(london(2026, 12, 24, 16, 30), 60, cal) == london(
        2026, 12, 29, 9, 30
    )
    assert business_minutes_between(london(2026, 12, 24), london(2026, 12, 30), cal) == 2 * 480


def test_holidays_are_local_dates() -> None:
    cal = Calendar("America/New_York", WEEKDAYS, frozenset({date(2026, 7, 3)}))
    # 2026-07-03 13:00 UTC is 09:00 in New York on the holiday: the clock waits for Monday.
    start = datetime(2026, 7, 3, 13, tzinfo=UTC)
    assert add_business_minutes(start, 0, cal) == new_york(2026, 7, 6, 9)


def test_start_in_another_zone_than_the_calendar(office: Calendar) -> None:
    # 11:30 in New York is 16:30 in London (both on standard time in January).
    assert add_business_minutes(new_york(2026, 1, 5, 11, 30), 60, office) == london(
        2026, 1, 6, 9, 30
    )
    new_york_office = Calendar("America/New_York", WEEKDAYS)
    assert add_business_minutes(london(2026, 1, 5, 16, 30), 60, new_york_office) == new_york(
        2026, 1, 5, 12, 30
    )


# --- Daylight saving ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "intervals", "minutes"),
    [
        # London: clocks go forward at 01:00 (to 02:00), back at 02:00 (to 01:00).
        ("Europe/London", date(2026, 3, 29), EARLY_HOURS, 60),
        ("Europe/London", date(2026, 10, 25), EARLY_HOURS, 180),
        ("Europe/London", date(2026, 3, 29), NINE_TO_FIVE, 480),
        ("Europe/London", date(2026, 10, 25), NINE_TO_FIVE, 480),
        ("Europe/London", date(2026, 3, 29), (Interval(time(0), time(12)),), 660),
        ("Europe/London", date(2026, 10, 25), (Interval(time(0), time(12)),), 780),
        # A start inside the gap moves to the jump; a span wholly inside it is empty.
        ("Europe/London", date(2026, 3, 29), (Interval(time(1, 30), time(2, 30)),), 30),
        ("Europe/London", date(2026, 3, 29), (Interval(time(1, 15), time(1, 45)),), 0),
        # Ambiguous 01:30 takes its first occurrence (BST): 00:30 → 02:00 UTC.
        ("Europe/London", date(2026, 10, 25), (Interval(time(1, 30), time(2)),), 90),
        # New York: forward at 02:00 (to 03:00), back at 02:00 (to 01:00).
        ("America/New_York", date(2026, 3, 8), EARLY_HOURS, 60),
        ("America/New_York", date(2026, 11, 1), EARLY_HOURS, 180),
        ("America/New_York", date(2026, 3, 8), NINE_TO_FIVE, 480),
        ("America/New_York", date(2026, 11, 1), NINE_TO_FIVE, 480),
        ("America/New_York", date(2026, 3, 8), (Interval(time(0), time(0)),), 23 * 60),
        ("America/New_York", date(2026, 11, 1), (Interval(time(0), time(0)),), 25 * 60),
        # Santiago jumps at midnight: the day itself starts at 01:00.
        ("America/Santiago", date(2026, 9, 6), (Interval(time(0), time(0)),), 23 * 60),
    ],
)
def test_dst_days_count_real_minutes(
    zone: str, day: date, intervals: tuple[Interval, ...], minutes: int
) -> None:
    cal = every_day(zone, *intervals)
    start = datetime.combine(day, time(0), ZoneInfo(zone))
    end = datetime.combine(day + timedelta(days=1), time(0), ZoneInfo(zone))
    assert business_minutes_between(start, end, cal) == minutes


@pytest.mark.parametrize(
    ("start", "minutes", "expected_utc"),
    [
        # 01:00-03:00 London on 2026-03-29 is 01:00-02:00 UTC.
        (london(2026, 3, 29, 0), 30, datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),
        (london(2026, 3, 29, 0), 60, datetime(2026, 3, 29, 2, tzinfo=UTC)),
        (london(2026, 3, 29, 0), 61, datetime(2026, 3, 30, 0, 1, tzinfo=UTC)),
        # On 2026-10-25 it is 00:00-03:00 UTC: the repeated hour counts twice.
        (london(2026, 10, 25, 0), 120, datetime(2026, 10, 25, 2, tzinfo=UTC)),
        (london(2026, 10, 25, 0), 180, datetime(2026, 10, 25, 3, tzinfo=UTC)),
        # New York: 06:00-07:00 UTC on 2026-03-08, 05:00-08:00 UTC on 2026-11-01.
        (new_york(2026, 3, 8, 0), 60, datetime(2026, 3, 8, 7, tzinfo=UTC)),
        (new_york(2026, 11, 1, 0), 150, datetime(2026, 11, 1, 7, 30, tzinfo=UTC)),
    ],
)
def test_add_across_dst_jumps(start: datetime, minutes: int, expected_utc: datetime) -> None:
    cal = every_day(str(start.tzinfo), *EARLY_HOURS)
    assert add_business_minutes(start, minutes, cal) == expected_utc


def test_weekday_hours_across_dst_keep_local_wall_times(office: Calendar) -> None:
    # Friday 16:30 GMT + 60 → Monday 09:30 BST (08:30 UTC), after the 29 March jump.
    assert add_business_minutes(london(2026, 3, 27, 16, 30), 60, office) == datetime(
        2026, 3, 30, 8, 30, tzinfo=UTC
    )
    ny_office = Calendar("America/New_York", WEEKDAYS)
    assert add_business_minutes(new_york(2026, 10, 30, 16, 30), 60, ny_office) == datetime(
        2026, 11, 2, 14, 30, tzinfo=UTC
    )


# --- 24/7, between, validation -----------------------------------------------------------


@given(
    start=st.datetimes(datetime(2025, 1, 1), datetime(2028, 1, 1), timezones=st.just(LONDON)),
    minutes=st.floats(0, 500_000, allow_nan=False),
)
@settings(max_examples=100, deadline=None)
def test_twenty_four_seven_is_plain_timedelta(start: datetime, minutes: float) -> None:
    expected = start.astimezone(UTC) + timedelta(minutes=minutes)
    assert add_business_minutes(start, minutes, TWENTY_FOUR_SEVEN) == expected
    assert business_minutes_between(start, expected, TWENTY_FOUR_SEVEN) == pytest.approx(
        minutes, abs=1e-6
    )


def test_always_open_ignores_holidays_and_weekly_hours() -> None:
    cal = Calendar("Europe/London", WEEKDAYS, frozenset({date(2026, 1, 10)}), always_open=True)
    assert add_business_minutes(london(2026, 1, 10, 3), 60, cal) == london(2026, 1, 10, 4)


def test_between_basics(office: Calendar) -> None:
    monday = london(2026, 1, 5, 8)
    assert business_minutes_between(monday, monday, office) == 0
    assert business_minutes_between(monday, monday - timedelta(days=3), office) == 0
    assert business_minutes_between(monday, london(2026, 1, 5, 9, 30), office) == 30
    assert business_minutes_between(monday, london(2026, 1, 12, 8), office) == 5 * 480
    assert business_minutes_between(monday, london(2026, 1, 5, 9, 0, 30), office) == 0.5


def test_calendar_without_hours() -> None:
    closed = Calendar("UTC", {})
    assert not closed.has_hours
    start = datetime(2026, 1, 5, tzinfo=UTC)
    with pytest.raises(ValueError, match="no opening hours"):
        add_business_minutes(start, 10, closed)
    assert business_minutes_between(start, start + timedelta(days=30), closed) == 0


@pytest.mark.parametrize("minutes", [-1, math.nan, math.inf])
def test_add_rejects_bad_minutes(office: Calendar, minutes: float) -> None:
    with pytest.raises(ValueError, match="Minutes"):
        add_business_minutes(london(2026, 1, 5, 9), minutes, office)


def test_naive_datetimes_are_rejected(office: Calendar) -> None:
    naive = datetime(2026, 1, 5, 9)
    with pytest.raises(ValueError, match="aware"):
        add_business_minutes(naive, 10, office)
    with pytest.raises(ValueError, match="aware"):
        business_minutes_between(london(2026, 1, 5, 9), naive, office)
    with pytest.raises(ValueError, match="aware"):
        Pause(naive)


def test_hundred_thousand_minutes_is_fast(office: Calendar) -> None:
    cal = Calendar.from_country("Europe/London", WEEKDAYS, "GB")
    start = london(2026, 1, 5, 9)
    timings = []
    for _ in range(5):
        began = clock.perf_counter()
        result = add_business_minutes(start, 100_000, cal)
        timings.append(clock.perf_counter() - began)
    assert min(timings) < 0.010
    assert business_minutes_between(start, result, cal) == 100_000


# --- Pauses, due_at, warning_at ----------------------------------------------------------


def test_pause_inside_business_hours_shifts_the_deadline(office: Calendar) -> None:
    started = london(2026, 1, 5, 9)
    pauses = [Pause(london(2026, 1, 5, 10), london(2026, 1, 5, 11))]
    now = london(2026, 1, 5, 12)
    assert business_minutes_elapsed(started, now, pauses, office) == 120
    assert due_at(started, 240, pauses, office, now) == london(2026, 1, 5, 14)
    assert warning_at(started, 240, 75, pauses, office, now) == london(2026, 1, 5, 13)


def test_pause_outside_business_hours_changes_nothing(office: Calendar) -> None:
    started = london(2026, 1, 5, 16)
    pauses = [Pause(london(2026, 1, 5, 18), london(2026, 1, 6, 8))]
    now = london(2026, 1, 6, 10)
    assert business_minutes_elapsed(started, now, pauses, office) == 120
    assert due_at(started, 240, pauses, office, now) == london(2026, 1, 6, 12)


def test_open_pause_stops_the_clock_and_hides_the_deadline(office: Calendar) -> None:
    started = london(2026, 1, 5, 9)
    pauses = [Pause(london(2026, 1, 5, 10))]
    now = london(2026, 1, 7, 12)
    assert business_minutes_elapsed(started, now, pauses, office) == 60
    assert due_at(started, 240, pauses, office, now) is None
    assert warning_at(started, 240, 80, pauses, office, now) is None
    # Already reached before the pause: the (past) deadline stays known.
    assert due_at(started, 30, pauses, office, now) == london(2026, 1, 5, 9, 30)
    # An open pause that begins after now is not holding the clock yet.
    early = london(2026, 1, 5, 9, 30)
    assert due_at(started, 240, pauses, office, early) == london(2026, 1, 5, 13)


def test_overlapping_and_out_of_range_pauses_are_clipped_and_merged(office: Calendar) -> None:
    started = london(2026, 1, 5, 9)
    now = london(2026, 1, 5, 17)
    pauses = [
        Pause(london(2026, 1, 5, 10), london(2026, 1, 5, 12)),
        Pause(london(2026, 1, 5, 11), london(2026, 1, 5, 13)),  # Overlaps the first.
        Pause(london(2026, 1, 5, 11, 30), london(2026, 1, 5, 11, 45)),  # Inside both.
        Pause(london(2026, 1, 4, 9), london(2026, 1, 5, 9, 30)),  # Begins before started.
        Pause(london(2026, 1, 5, 16, 30), london(2026, 1, 6, 10)),  # Runs past now.
        Pause(london(2026, 1, 8, 9), london(2026, 1, 8, 10)),  # Wholly after now.
    ]
    # Running: 09:30-10:00 and 13:00-16:30.
    assert business_minutes_elapsed(started, now, pauses, office) == 30 + 210
    # Known closed pauses shape the deadline: 240 more minutes resume Tuesday 10:00.
    assert due_at(started, 480, pauses, office, now) == london(2026, 1, 6, 14)
    unmerged = sorted(pauses, key=lambda pause: pause.end or now, reverse=True)
    assert business_minutes_elapsed(started, now, unmerged, office) == 240


def test_due_at_is_consistent_with_elapsed(office: Calendar) -> None:
    started = london(2026, 1, 9, 15)
    pauses = [Pause(london(2026, 1, 9, 16), london(2026, 1, 12, 10))]
    deadline = due_at(started, 120, pauses, office, london(2026, 1, 12, 10))
    assert deadline == london(2026, 1, 12, 11)
    assert business_minutes_elapsed(started, deadline, pauses, office) == 120


def test_zero_target_and_bad_warning_percent(office: Calendar) -> None:
    started = london(2026, 1, 5, 20)
    assert due_at(started, 0, [], office, started) == started
    with pytest.raises(ValueError, match="warning share"):
        warning_at(started, 60, 120, [], office, started)
    with pytest.raises(ValueError, match="before it starts"):
        Pause(london(2026, 1, 5, 10), london(2026, 1, 5, 9))


def test_warning_is_to_the_second_not_rounded_to_minutes(office: Calendar) -> None:
    started = london(2026, 1, 5, 9)
    # 7 * 50 / 100 = 3.5 minutes.
    assert warning_at(started, 7, 50, [], office, started) == london(2026, 1, 5, 9, 3, 30)
    # A one-minute target warns before it breaches.
    assert warning_at(started, 1, 80, [], office, started) == london(2026, 1, 5, 9, 0, 48)


# --- clock_state -------------------------------------------------------------------------


def explain(office: Calendar, now: datetime, **kwargs: object) -> ClockState:
    return clock_state(
        london(2026, 1, 5, 9), 240, 75, kwargs.pop("pauses", []), office, now, **kwargs
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("now", "state", "elapsed"),
    [
        (london(2026, 1, 5, 9), "running", 0),
        (london(2026, 1, 5, 11, 59), "running", 179),
        (london(2026, 1, 5, 12), "warning", 180),
        (london(2026, 1, 5, 12, 59), "warning", 239),
        (london(2026, 1, 5, 13), "breached", 240),
        (london(2026, 1, 9, 13), "breached", 5 * 480 - 240),
    ],
)
def test_clock_runs_warns_and_breaches(
    office: Calendar, now: datetime, state: str, elapsed: int
) -> None:
    result = explain(office, now)
    assert result == ClockState(
        target_minutes=240,
        elapsed_minutes=elapsed,
        due_at=london(2026, 1, 5, 13),
        warning_at=london(2026, 1, 5, 12),
        paused=False,
        state=state,  # type: ignore[arg-type]
    )


def test_clock_paused_then_resumed(office: Calendar) -> None:
    paused = explain(office, london(2026, 1, 5, 15), pauses=[Pause(london(2026, 1, 5, 10))])
    assert (paused.state, paused.paused, paused.elapsed_minutes) == ("paused", True, 60)
    assert paused.due_at is None and paused.warning_at is None
    resumed = explain(
        office,
        london(2026, 1, 5, 15),
        pauses=[Pause(london(2026, 1, 5, 10), london(2026, 1, 5, 14))],
    )
    assert (resumed.state, resumed.paused, resumed.elapsed_minutes) == ("running", False, 120)
    assert resumed.due_at == london(2026, 1, 5, 17)


def test_breach_wins_over_pause(office: Calendar) -> None:
    result = explain(office, london(2026, 1, 6, 9), pauses=[Pause(london(2026, 1, 5, 14))])
    assert (result.state, result.paused) == ("breached", True)
    assert result.due_at == london(2026, 1, 5, 13)


def test_stopped_clock_is_met_or_breached(office: Calendar) -> None:
    later = london(2026, 1, 20)
    met = explain(office, later, stopped_at=london(2026, 1, 5, 12, 59))
    assert (met.state, met.elapsed_minutes, met.paused) == ("met", 239, False)
    assert met.due_at == london(2026, 1, 5, 13)
    late = explain(office, later, stopped_at=london(2026, 1, 5, 13))
    assert (late.state, late.elapsed_minutes) == ("breached", 240)
    while_paused = explain(
        office, later, stopped_at=london(2026, 1, 5, 15), pauses=[Pause(london(2026, 1, 5, 10))]
    )
    assert (while_paused.state, while_paused.elapsed_minutes) == ("met", 60)


# --- Properties --------------------------------------------------------------------------

ZONES = ["Europe/London", "America/New_York", "UTC", "Australia/Sydney", "Australia/Lord_Howe"]
QUARTERS = 96  # Interval boundaries on the quarter hour; 96 is midnight at the end.


def _quarter(index: int) -> time:
    return time(0) if index == QUARTERS else time(index // 4, index % 4 * 15)


def _intervals(marks: list[int]) -> tuple[Interval, ...]:
    """1-3 intervals from sorted distinct boundaries (an odd last one is dropped)."""
    ordered = sorted(marks)
    pairs = zip(ordered[::2], ordered[1::2], strict=False)
    return tuple(Interval(_quarter(start), _quarter(end)) for start, end in pairs)


def _in_zone(naive: datetime, zone: str) -> datetime:
    """The instant ``naive`` (UTC) shown in ``zone``. Arithmetic on such values must go
    through UTC: ``+ timedelta`` on a ZoneInfo datetime moves the wall clock, not real time."""
    return naive.replace(second=0, microsecond=0, tzinfo=UTC).astimezone(ZoneInfo(zone))


# Strategies are built once: rebuilding them inside every draw dominated the run time.
DAY_HOURS = st.lists(st.integers(0, QUARTERS), min_size=2, max_size=6, unique=True).map(_intervals)
CALENDARS = st.builds(
    Calendar,
    st.sampled_from(ZONES),
    st.dictionaries(st.integers(0, 6), DAY_HOURS, min_size=1, max_size=7),
    st.frozensets(st.dates(date(2026, 1, 1), date(2027, 6, 30)), max_size=20),
)
# 2026 transitions of the zones above (London, New York, Sydney and Lord Howe).
DST_DAYS = [datetime(2026, *day) for day in [(3, 29), (10, 25), (3, 8), (11, 1), (4, 5), (10, 4)]]
# Whole minutes across a DST year, half of them within three days of a transition, expressed
# in one of the zones.
STARTS = st.builds(
    _in_zone,
    st.one_of(
        st.datetimes(datetime(2026, 1, 1), datetime(2026, 12, 31)),
        st.builds(
            lambda day, shift: day + timedelta(minutes=shift),
            st.sampled_from(DST_DAYS),
            st.integers(-3 * 1440, 3 * 1440),
        ),
    ),
    st.sampled_from(ZONES),
)


MINUTES = st.integers(0, 20_000)
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _is_ordinary_day(zone: ZoneInfo, day: date) -> bool:
    midnight = datetime.combine(day, time(0), zone).astimezone(UTC)
    next_midnight = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)
    return next_midnight - midnight == timedelta(days=1)


def _open_by_wall_clock(instant: datetime, cal: Calendar) -> bool:
    """Independent oracle: the local wall-clock time is inside a local interval."""
    local = instant.astimezone(ZoneInfo(cal.time_zone))
    if local.date() in cal.holidays:
        return False
    wall = timedelta(hours=local.hour, minutes=local.minute, seconds=local.second)
    wall += timedelta(microseconds=local.microsecond)
    intervals = cal.weekly.get(local.weekday(), ())
    return any(start <= wall < end for start, end in (i.offsets for i in intervals))


@given(cal=CALENDARS, start=STARTS, small=MINUTES, extra=MINUTES)
@PROPERTY
def test_more_minutes_never_give_an_earlier_deadline(
    cal: Calendar, start: datetime, small: int, extra: int
) -> None:
    sooner = add_business_minutes(start, small, cal)
    assert sooner <= add_business_minutes(start, small + extra, cal)


@given(cal=CALENDARS, start=STARTS, minutes=MINUTES, delay=st.integers(0, 60 * 24 * 20))
@PROPERTY
def test_later_start_never_gives_an_earlier_deadline(
    cal: Calendar, start: datetime, minutes: int, delay: int
) -> None:
    later = start.astimezone(UTC) + timedelta(minutes=delay)  # Real, not wall-clock, time.
    assert add_business_minutes(start, minutes, cal) <= add_business_minutes(later, minutes, cal)


@given(
    cal=CALENDARS,
    start=STARTS,
    minutes=st.one_of(st.integers(1, 20_000), st.floats(0.001, 20_000, allow_nan=False)),
)
@PROPERTY
def test_round_trip(cal: Calendar, start: datetime, minutes: float) -> None:
    end = add_business_minutes(start, minutes, cal)
    assert business_minutes_between(start, end, cal) == pytest.approx(minutes, abs=1e-6)


@given(cal=CALENDARS, start=STARTS, minutes=MINUTES)
@PROPERTY
def test_results_are_inside_opening_hours(cal: Calendar, start: datetime, minutes: int) -> None:
    result = add_business_minutes(start, minutes, cal)
    assert result >= start
    probe = result if minutes == 0 else result - timedelta(microseconds=1)
    if _is_ordinary_day(ZoneInfo(cal.time_zone), probe.astimezone(ZoneInfo(cal.time_zone)).date()):
        assert _open_by_wall_clock(probe, cal)
    # Either way, a microsecond of business time sits right there.
    assert business_minutes_between(probe, probe + timedelta(microseconds=1), cal) > 0


@given(
    cal=CALENDARS,
    start=STARTS,
    target=st.integers(1, 10_000),
    where=st.floats(0, 1, exclude_max=True),
    length=st.integers(0, 60 * 24 * 10),
)
@PROPERTY
def test_a_pause_shifts_the_deadline_by_its_business_part(
    cal: Calendar, start: datetime, target: int, where: float, length: int
) -> None:
    deadline = add_business_minutes(start, target, cal)
    pause_start = start.astimezone(UTC) + (deadline - start) * where
    assume(pause_start < deadline)
    pause_end = pause_start + timedelta(minutes=length)
    pauses = [Pause(pause_start, pause_end)]
    shifted = due_at(start, target, pauses, cal, now=pause_end)
    paused_part = business_minutes_between(pause_start, pause_end, cal)
    assert shifted == add_business_minutes(start, target + paused_part, cal)
    assert business_minutes_elapsed(start, shifted, pauses, cal) == pytest.approx(target)


@given(cal=CALENDARS, start=STARTS, first=MINUTES, second=st.integers(1, 20_000))
@PROPERTY
def test_additivity(cal: Calendar, start: datetime, first: int, second: int) -> None:
    # A second leg of zero would move a closing-time result to the next opening.
    halfway = add_business_minutes(start, first, cal)
    assert add_business_minutes(halfway, second, cal) == add_business_minutes(
        start, first + second, cal
    )


@given(cal=CALENDARS, start=STARTS, span=st.integers(0, 60 * 24 * 30), cut=st.floats(0, 1))
@PROPERTY
def test_between_is_additive(cal: Calendar, start: datetime, span: int, cut: float) -> None:
    end = start.astimezone(UTC) + timedelta(minutes=span)
    middle = start.astimezone(UTC) + (end - start) * cut
    whole = business_minutes_between(start, end, cal)
    parts = business_minutes_between(start, middle, cal) + business_minutes_between(
        middle, end, cal
    )
    assert whole == pytest.approx(parts, abs=1e-6)


def test_a_pause_opened_just_now_holds_the_clock() -> None:
    calendar = TWENTY_FOUR_SEVEN
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    now = start + timedelta(minutes=30)
    assert due_at(start, 60, [Pause(now)], calendar, now) is None
    assert due_at(start, 20, [Pause(now)], calendar, now) == start + timedelta(minutes=20)
