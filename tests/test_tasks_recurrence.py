"""Recurrence rules (pure) and the run that turns occurrences into tasks (service)."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sempi_cli.clock import FixedClock
from sempi_cli.errors import InvalidData
from sempi_cli.fiscal.calendar import is_working_day
from sempi_cli.services.templates.rrule import (
    FREQS,
    Rule,
    describe,
    occurrences,
    upcoming,
)


def nominal(rule: Rule, until: date) -> list[date]:
    return [n for n, _ in occurrences(rule, until)]


def d(text: str) -> date:
    return date.fromisoformat(text)


# --- each frequency ------------------------------------------------------------------


def test_daily_with_an_interval():
    rule = Rule("daily", d("2026-02-26"), interval=2)
    assert nominal(rule, d("2026-03-06")) == [
        d("2026-02-26"),
        d("2026-02-28"),
        d("2026-03-02"),
        d("2026-03-04"),
        d("2026-03-06"),
    ]


def test_weekdays_skip_saturday_and_sunday():
    rule = Rule("weekdays", d("2026-03-12"))  # a Thursday
    assert nominal(rule, d("2026-03-17")) == [
        d("2026-03-12"),
        d("2026-03-13"),
        d("2026-03-16"),
        d("2026-03-17"),
    ]


def test_weekly_keeps_the_start_weekday():
    rule = Rule("weekly", d("2026-01-07"), interval=2)  # Wednesday, every other week
    got = nominal(rule, d("2026-02-28"))
    assert got == [d("2026-01-07"), d("2026-01-21"), d("2026-02-04"), d("2026-02-18")]
    assert {x.weekday() for x in got} == {2}


def test_monthly_on_the_16th():
    rule = Rule("monthly", d("2026-01-16"))
    assert nominal(rule, d("2026-04-30")) == [
        d("2026-01-16"),
        d("2026-02-16"),
        d("2026-03-16"),
        d("2026-04-16"),
    ]


def test_monthly_on_the_31st_falls_on_the_last_day_of_shorter_months():
    rule = Rule("monthly", d("2026-01-31"))
    assert nominal(rule, d("2026-06-30")) == [
        d("2026-01-31"),
        d("2026-02-28"),
        d("2026-03-31"),  # back to the 31st: no drift to the 28th
        d("2026-04-30"),
        d("2026-05-31"),
        d("2026-06-30"),
    ]


def test_monthly_from_31_january_in_a_leap_year():
    rule = Rule("monthly", d("2028-01-31"))
    assert nominal(rule, d("2028-03-31")) == [d("2028-01-31"), d("2028-02-29"), d("2028-03-31")]


def test_monthly_on_the_30th_across_february():
    rule = Rule("monthly", d("2027-01-30"), count=3)
    assert nominal(rule, d("2030-01-01")) == [d("2027-01-30"), d("2027-02-28"), d("2027-03-30")]


def test_monthly_last_day_across_leap_and_common_years():
    rule = Rule("monthly_last", d("2027-12-05"))
    assert nominal(rule, d("2028-03-31")) == [
        d("2027-12-31"),
        d("2028-01-31"),
        d("2028-02-29"),
        d("2028-03-31"),
    ]
    assert nominal(Rule("monthly_last", d("2027-02-01")), d("2027-02-28")) == [d("2027-02-28")]


def test_monthly_every_two_months():
    rule = Rule("monthly", d("2026-11-16"), interval=2)
    assert nominal(rule, d("2027-05-16")) == [
        d("2026-11-16"),
        d("2027-01-16"),
        d("2027-03-16"),
        d("2027-05-16"),
    ]


def test_quarterly():
    assert nominal(Rule("quarterly", d("2026-01-16")), d("2026-12-31")) == [
        d("2026-01-16"),
        d("2026-04-16"),
        d("2026-07-16"),
        d("2026-10-16"),
    ]
    assert nominal(Rule("quarterly", d("2026-01-31")), d("2026-12-31")) == [
        d("2026-01-31"),
        d("2026-04-30"),
        d("2026-07-31"),
        d("2026-10-31"),
    ]


def test_yearly_from_29_february():
    rule = Rule("yearly", d("2028-02-29"))
    assert nominal(rule, d("2032-12-31")) == [
        d("2028-02-29"),
        d("2029-02-28"),
        d("2030-02-28"),
        d("2031-02-28"),
        d("2032-02-29"),
    ]


def test_yearly_on_16_march():
    assert nominal(Rule("yearly", d("2026-03-16")), d("2028-03-15")) == [
        d("2026-03-16"),
        d("2027-03-16"),
    ]


# --- ends: count, until, the asked horizon --------------------------------------------


def test_count_stops_the_rule():
    rule = Rule("monthly", d("2026-01-16"), count=3)
    assert nominal(rule, d("2030-01-01")) == [d("2026-01-16"), d("2026-02-16"), d("2026-03-16")]


def test_until_is_inclusive():
    rule = Rule("weekly", d("2026-03-02"), until=d("2026-03-16"))
    assert nominal(rule, d("2030-01-01")) == [d("2026-03-02"), d("2026-03-09"), d("2026-03-16")]


def test_the_horizon_is_inclusive_and_may_be_before_the_start():
    rule = Rule("daily", d("2026-03-02"))
    assert nominal(rule, d("2026-03-02")) == [d("2026-03-02")]
    assert nominal(rule, d("2026-03-01")) == []


def test_upcoming_counts_from_a_date():
    rule = Rule("monthly", d("2020-01-16"))  # far in the past: still cheap
    assert upcoming(rule, d("2026-11-17"), 2) == [
        (d("2026-12-16"), d("2026-12-16")),
        (d("2027-01-16"), d("2027-01-16")),
    ]
    assert upcoming(Rule("daily", d("2026-01-01"), count=2), d("2026-06-01")) == []


# --- shift to the next working day ------------------------------------------------------


def test_a_saturday_occurrence_moves_to_monday():
    rule = Rule("monthly", d("2026-05-16"), count=1, shift="next-working-day")  # a Saturday
    assert occurrences(rule, d("2026-12-31")) == [(d("2026-05-16"), d("2026-05-18"))]


def test_a_holiday_moves_to_the_next_day():
    rule = Rule("yearly", d("2026-06-02"), count=1, shift="next-working-day")  # Tuesday holiday
    assert occurrences(rule, d("2026-12-31")) == [(d("2026-06-02"), d("2026-06-03"))]
    easter = Rule("daily", d("2026-04-06"), count=1, shift="next-working-day")
    assert occurrences(easter, d("2026-12-31")) == [(d("2026-04-06"), d("2026-04-07"))]


def test_the_christmas_cluster_and_the_year_end():
    rule = Rule("yearly", d("2026-12-25"), count=1, shift="next-working-day")
    assert occurrences(rule, d("2026-12-31")) == [(d("2026-12-25"), d("2026-12-28"))]
    last = Rule("monthly_last", d("2022-12-01"), count=1, shift="next-working-day")
    assert occurrences(last, d("2022-12-31")) == [(d("2022-12-31"), d("2023-01-02"))]


def test_without_shift_the_date_stays():
    rule = Rule("monthly", d("2026-05-16"), count=1)
    assert occurrences(rule, d("2026-12-31")) == [(d("2026-05-16"), d("2026-05-16"))]


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [
        ({"freq": "fortnightly"}, "--freq"),
        ({"interval": 0}, "--interval"),
        ({"interval": -3}, "--interval"),
        ({"interval": 100_000}, "--interval"),
        ({"count": 0}, "--count"),
        ({"until": d("2025-12-31")}, "--until"),
        ({"until": d("2026-12-31"), "count": 3}, "--count"),
        ({"shift": "previous-working-day"}, "--shift"),
        ({"start": "2026-01-01"}, "--start"),
    ],
)
def test_bad_values_name_their_option(kwargs, option):
    values = {"freq": "monthly", "start": d("2026-01-16"), **kwargs}
    with pytest.raises(InvalidData) as error:
        Rule(**values)
    assert error.value.field == option


def test_describe():
    assert describe(Rule("monthly", d("2026-01-16"))) == "monthly on day 16, from 2026-01-16"
    text = describe(Rule("weekly", d("2026-01-07"), interval=2, count=5, shift="next-working-day"))
    assert text == (
        "weekly on Wednesday, every 2 weeks, from 2026-01-07, 5 times,"
        " moved to the next working day"
    )


# --- properties -----------------------------------------------------------------------------

rules = st.builds(
    Rule,
    freq=st.sampled_from(FREQS),
    start=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
    interval=st.integers(min_value=1, max_value=4),
    count=st.none() | st.integers(min_value=1, max_value=30),
    shift=st.sampled_from(("none", "next-working-day")),
)


@given(rules, st.integers(min_value=0, max_value=800))
def test_occurrences_are_ordered_and_within_bounds(rule, days):
    until = rule.start + timedelta(days=days)
    got = occurrences(rule, until)
    dates = [n for n, _ in got]
    assert dates == sorted(set(dates))
    assert all(rule.start <= n <= until for n in dates)
    if rule.count is not None:
        assert len(dates) <= rule.count
    for n, effective in got:
        assert n <= effective <= n + timedelta(days=7)
        if rule.shift == "next-working-day":
            assert is_working_day(effective)
        else:
            assert effective == n
    # a later horizon only adds occurrences at the end
    assert occurrences(rule, until + timedelta(days=40))[: len(got)] == got


@given(rules, st.integers(min_value=0, max_value=800))
def test_day_based_rules_keep_their_day(rule, days):
    got = nominal(rule, rule.start + timedelta(days=days))
    for n in got:
        last = calendar.monthrange(n.year, n.month)[1]
        if rule.freq in ("monthly", "quarterly"):
            assert n.day == min(rule.start.day, last)
        elif rule.freq == "yearly":
            assert (n.month, n.day) == (rule.start.month, min(rule.start.day, last))
        elif rule.freq == "monthly_last":
            assert n.day == last
        elif rule.freq == "weekly":
            assert n.weekday() == rule.start.weekday()
        elif rule.freq == "weekdays":
            assert n.weekday() < 5


# --- the run: deadlines at 18:00 Rome across the DST changes -------------------------------


def run_daily(db, admin, clock, start: str, until: str, deadline_time: str = "18:00"):
    from sempi_cli.services.tasks.tasks import TaskService
    from sempi_cli.services.templates.recurring import RecurrenceService
    from sempi_cli.services.templates.templates import TemplateInput

    recurring = RecurrenceService(db, clock, admin)
    recurring.templates.add(
        TemplateInput(name="daily", title="Controllo", deadline_time=deadline_time)
    )
    recurring.recur("daily", Rule("daily", d(start)))
    counts = recurring.run(d(until))
    ids = [
        r[0]
        for r in db.execute(
            "SELECT id FROM tasks WHERE template_id IS NOT NULL ORDER BY occurrence"
        )
    ]
    shown = [TaskService(db, clock, admin).show(i) for i in ids]
    stored = [
        r[0]
        for r in db.execute(
            "SELECT deadline FROM tasks WHERE template_id IS NOT NULL ORDER BY occurrence"
        )
    ]
    return counts, shown, stored


def test_spring_forward_keeps_18_rome(db, admin):
    clock = FixedClock(datetime(2026, 3, 31, 9, 0, tzinfo=UTC))
    counts, shown, stored = run_daily(db, admin, clock, "2026-03-27", "2026-03-31")
    assert counts["created"] == 5
    assert [t["deadline"] for t in shown] == [
        "2026-03-27T18:00+01:00",
        "2026-03-28T18:00+01:00",
        "2026-03-29T18:00+02:00",  # the night of the change
        "2026-03-30T18:00+02:00",
        "2026-03-31T18:00+02:00",
    ]
    assert stored[1:3] == ["2026-03-28T17:00:00+00:00", "2026-03-29T16:00:00+00:00"]


def test_fall_back_keeps_18_rome(db, admin):
    clock = FixedClock(datetime(2026, 10, 27, 9, 0, tzinfo=UTC))
    counts, shown, stored = run_daily(db, admin, clock, "2026-10-23", "2026-10-27")
    assert counts["created"] == 5
    assert all(t["deadline"][11:16] == "18:00" for t in shown)
    assert stored[1:3] == ["2026-10-24T16:00:00+00:00", "2026-10-25T17:00:00+00:00"]


def test_a_deadline_time_the_spring_change_skips(db, admin):
    clock = FixedClock(datetime(2026, 3, 30, 9, 0, tzinfo=UTC))
    _, shown, _ = run_daily(db, admin, clock, "2026-03-29", "2026-03-29", deadline_time="02:30")
    assert [t["deadline"] for t in shown] == ["2026-03-29T03:30+02:00"]


def test_deadline_days_and_shift(db, admin):
    from sempi_cli.services.tasks.tasks import TaskService
    from sempi_cli.services.templates.recurring import RecurrenceService
    from sempi_cli.services.templates.templates import TemplateInput

    clock = FixedClock(datetime(2026, 6, 1, 9, 0, tzinfo=UTC))
    recurring = RecurrenceService(db, clock, admin)
    recurring.templates.add(
        TemplateInput(name="f24", title="F24", deadline_days=2, deadline_time="12:00")
    )
    recurring.recur("f24", Rule("monthly", d("2026-05-16"), shift="next-working-day"))
    assert recurring.run()["created"] == 1  # until today: only 16 May
    task_id = db.execute("SELECT id FROM tasks WHERE template_id IS NOT NULL").fetchone()[0]
    task = TaskService(db, clock, admin).show(task_id)
    assert task["deadline"] == "2026-05-20T12:00+02:00"  # Sat 16 -> Mon 18, + 2 days
    row = db.execute("SELECT occurrence FROM tasks WHERE id = ?", (task_id,)).fetchone()
    assert row[0] == "2026-05-16"  # the key stays the nominal date


def test_a_second_run_makes_nothing(db, admin, clock):
    from sempi_cli.services.templates.recurring import RecurrenceService
    from sempi_cli.services.templates.templates import TemplateInput

    recurring = RecurrenceService(db, clock, admin)
    recurring.templates.add(TemplateInput(name="lipe", title="LIPE"))
    recurring.recur("lipe", Rule("monthly", d("2026-01-16")))
    first = recurring.run()
    assert (first["created"], first["existing"]) == (11, 0)  # Jan..Nov 2026, clock 16 Nov
    second = recurring.run()
    assert (second["created"], second["existing"]) == (0, 11)
    assert db.execute("SELECT count(*) FROM tasks").fetchone()[0] == 11
