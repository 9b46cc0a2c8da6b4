"""The shift algorithm of FISCAL_RULES.md §1 and the holiday list of §2, checked
against dates worked out by hand and against an independent reference.

``tests/test_fiscal_working_days.py`` covers ``next_working_day``; this file covers
``effective_due`` (rule W, rule F and the steps that explain a shift) and the
holiday set itself.
"""

from __future__ import annotations

from datetime import date, timedelta

import holidays
import pytest
from dateutil.easter import easter
from hypothesis import given, settings
from hypothesis import strategies as st

from sempi_cli.fiscal import calendar as fiscal_calendar
from sempi_cli.fiscal.calendar import (
    Shift,
    august_rule_applies,
    effective_due,
    holiday_names,
    is_holiday,
    is_working_day,
    national_holidays,
    non_working_reason,
    shift_to_working_day,
)

# -- an independent reference: the law's list (FISCAL_RULES §2) and §1 verbatim ------

FIXED_HOLIDAYS = (
    (1, 1),
    (1, 6),
    (4, 25),
    (5, 1),
    (6, 2),
    (8, 15),
    (11, 1),
    (12, 8),
    (12, 25),
    (12, 26),
)


def law_holidays(year: int) -> set[date]:
    """L. 260/1949 art. 2 as amended: fixed dates, Easter Sunday and Monday, and
    4 October from 2026 (L. 151/2025)."""
    sunday = easter(year)
    days = {date(year, month, day) for month, day in FIXED_HOLIDAYS}
    days |= {sunday, sunday + timedelta(days=1)}
    if year >= 2026:
        days.add(date(year, 10, 4))
    return days


def historical_holidays(year: int) -> set[date]:
    """The law's list as it was in *year*, for the property tests back to 2000:
    2 June was celebrated on the first Sunday of June until 2000 (restored to
    2 June by L. 336/2000), and 17 March 2011 was a one-off national holiday
    (150 years of the unification)."""
    days = law_holidays(year)
    if year < 2001:
        days.discard(date(year, 6, 2))
    if year == 2011:
        days.add(date(2011, 3, 17))
    return days


def reference_working_day(day: date) -> date:
    while day.weekday() >= 5 or day in historical_holidays(day.year):
        day += timedelta(days=1)
    return day


def reference_due(nominal: date, august_rule: bool) -> date:
    """FISCAL_RULES.md §1, transcribed literally."""
    d = reference_working_day(nominal)
    if august_rule and date(d.year, 8, 1) <= d <= date(d.year, 8, 20):
        d = reference_working_day(date(d.year, 8, 20))
    return d


def one_day_steps(*pairs: tuple[date, str]) -> tuple[Shift, ...]:
    return tuple(Shift(day, day + timedelta(days=1), reason) for day, reason in pairs)


def assert_chain(nominal: date, due: date, steps: tuple[Shift, ...]) -> None:
    if not steps:
        assert due == nominal
        return
    assert steps[0].from_date == nominal
    assert steps[-1].to_date == due
    for before, after in zip(steps, steps[1:], strict=False):
        assert before.to_date == after.from_date
    for step in steps:
        assert step.from_date < step.to_date
        assert step.reason


# -- rule W: weekends and holidays, across months and years ---------------------------


def test_31_may_2025_moves_to_3_june_in_exactly_three_steps():
    due, steps = effective_due(date(2025, 5, 31), august_rule=True)
    assert due == date(2025, 6, 3)
    assert [(s.from_date, s.to_date) for s in steps] == [
        (date(2025, 5, 31), date(2025, 6, 1)),
        (date(2025, 6, 1), date(2025, 6, 2)),
        (date(2025, 6, 2), date(2025, 6, 3)),
    ]
    assert steps[0].reason == "sabato"
    assert steps[1].reason == "domenica"
    assert steps[2].reason == "festività nazionale (Festa della Repubblica)"


@pytest.mark.parametrize(
    ("nominal", "due", "reasons"),
    [
        # across a month end
        (date(2025, 11, 30), date(2025, 12, 1), ["domenica"]),
        (date(2026, 2, 28), date(2026, 3, 2), ["sabato", "domenica"]),
        (date(2026, 1, 31), date(2026, 2, 2), ["sabato", "domenica"]),
        (date(2027, 2, 28), date(2027, 3, 1), ["domenica"]),
        (
            date(2026, 10, 31),
            date(2026, 11, 2),
            ["sabato", "domenica, festività nazionale (Giorno dell'unità nazionale; Ognissanti)"],
        ),
        # across a year end
        (
            date(2022, 12, 31),
            date(2023, 1, 2),
            ["sabato", "domenica, festività nazionale (Capodanno)"],
        ),
        (
            date(2033, 12, 31),
            date(2034, 1, 2),
            ["sabato", "domenica, festività nazionale (Capodanno)"],
        ),
        # 31 Aug is past the August window: rule W only
        (date(2025, 8, 31), date(2025, 9, 1), ["domenica"]),
    ],
)
def test_shifts_across_month_and_year_ends(nominal, due, reasons):
    got, steps = effective_due(nominal, august_rule=True)
    assert got == due
    assert [s.reason for s in steps] == reasons
    assert_chain(nominal, due, steps)


def test_a_working_day_has_no_steps():
    assert effective_due(date(2026, 3, 16), august_rule=True) == (date(2026, 3, 16), ())
    assert shift_to_working_day(date(2026, 3, 16)) == (date(2026, 3, 16), ())


def test_christmas_cluster_2025():
    due, steps = effective_due(date(2025, 12, 25), august_rule=True)
    assert due == date(2025, 12, 29)
    assert steps == one_day_steps(
        (date(2025, 12, 25), "festività nazionale (Natale)"),
        (date(2025, 12, 26), "festività nazionale (Santo Stefano)"),
        (date(2025, 12, 27), "sabato"),
        (date(2025, 12, 28), "domenica"),
    )


def test_christmas_cluster_2026():
    due, steps = effective_due(date(2026, 12, 25), august_rule=True)
    assert due == date(2026, 12, 28)
    assert steps == one_day_steps(
        (date(2026, 12, 25), "festività nazionale (Natale)"),
        (date(2026, 12, 26), "sabato, festività nazionale (Santo Stefano)"),
        (date(2026, 12, 27), "domenica"),
    )


@pytest.mark.parametrize(
    ("nominal", "due", "steps"),
    [
        (date(2026, 4, 6), date(2026, 4, 7), 1),  # Easter Monday 2026
        (date(2026, 4, 4), date(2026, 4, 7), 3),  # Sat, Easter Sunday, Easter Monday
        (date(2025, 4, 21), date(2025, 4, 22), 1),  # Easter Monday 2025
        (date(2027, 3, 29), date(2027, 3, 30), 1),  # Easter Monday 2027
    ],
)
def test_easter_monday_moves_a_deadline(nominal, due, steps):
    got, shifts = effective_due(nominal, august_rule=True)
    assert got == due
    assert len(shifts) == steps
    assert shifts[-1].reason == "festività nazionale (Lunedì dell'Angelo)"


def test_easter_monday_is_a_holiday_every_year():
    for year in range(2024, 2041):
        monday = easter(year) + timedelta(days=1)
        assert is_holiday(monday), year
        assert not is_working_day(monday)


# -- 4 October (San Francesco), from 2026 -------------------------------------------


def test_4_october_2027_moves_to_5_october():
    due, steps = effective_due(date(2027, 10, 4), august_rule=True)
    assert due == date(2027, 10, 5)
    assert len(steps) == 1
    assert steps[0].reason.startswith("festività nazionale (")
    assert "San Francesco" in steps[0].reason


def test_4_october_2025_is_not_a_holiday():
    assert not is_holiday(date(2025, 10, 4))
    assert non_working_reason(date(2025, 10, 4)) == "sabato"  # a weekend day, no more
    assert effective_due(date(2024, 10, 4), august_rule=True) == (date(2024, 10, 4), ())  # Fri
    assert not is_holiday(date(2024, 10, 4))


def test_4_october_2030_a_friday_moves_to_monday():
    due, steps = effective_due(date(2030, 10, 4), august_rule=True)
    assert due == date(2030, 10, 7)
    assert "San Francesco" in steps[0].reason
    assert [s.reason for s in steps[1:]] == ["sabato", "domenica"]


def test_the_installed_holidays_release_has_4_october_from_2026():
    """The package alone, without our added table (holidays >= 0.86, PR #3075)."""
    assert date(2027, 10, 4) in holidays.IT(years=2027)
    assert date(2026, 10, 4) in holidays.IT(years=2026)
    assert date(2025, 10, 4) not in holidays.IT(years=2025)


@pytest.fixture
def fresh_holiday_cache():
    fiscal_calendar.holiday_names.cache_clear()
    fiscal_calendar.national_holidays.cache_clear()
    yield
    fiscal_calendar.holiday_names.cache_clear()
    fiscal_calendar.national_holidays.cache_clear()


def test_added_table_supplies_4_october_if_the_package_lacks_it(monkeypatch, fresh_holiday_cache):
    real = holidays.IT

    def without_4_october(*args, **kwargs):
        return {d: n for d, n in real(*args, **kwargs).items() if (d.month, d.day) != (10, 4)}

    monkeypatch.setattr(holidays, "IT", without_4_october)
    assert date(2027, 10, 4) not in without_4_october(years=2027)
    assert is_holiday(date(2027, 10, 4))
    assert holiday_names(2027)[date(2027, 10, 4)] == "San Francesco d'Assisi"
    assert not is_holiday(date(2025, 10, 4))
    assert effective_due(date(2027, 10, 4), august_rule=True)[0] == date(2027, 10, 5)


@pytest.mark.parametrize("year", range(2024, 2041))
def test_holiday_set_is_the_law_list(year):
    ours = national_holidays(year)
    law = law_holidays(year)
    assert law <= ours
    for extra in ours - law:
        # only the package's "Giorno dell'unità nazionale", on a Sunday: it moves nothing
        assert extra.weekday() == 6, extra
        assert "unità nazionale" in holiday_names(year)[extra]
    assert {d for d in ours if d.weekday() < 6} == {d for d in law if d.weekday() < 6}


def test_patron_saints_are_not_holidays_without_subdivision():
    names = holiday_names(2026)
    assert date(2026, 12, 7) not in names  # Sant'Ambrogio, Milano
    assert date(2026, 6, 29) not in names  # Santi Pietro e Paolo, Roma


# -- rule F: the August proroga ------------------------------------------------------


def test_august_window_bounds():
    assert not august_rule_applies(date(2026, 7, 31))
    assert august_rule_applies(date(2026, 8, 1))
    assert august_rule_applies(date(2026, 8, 20))
    assert not august_rule_applies(date(2026, 8, 21))


def test_16_august_2026_goes_to_20_august():
    due, steps = effective_due(date(2026, 8, 16), august_rule=True)
    assert due == date(2026, 8, 20)  # Thursday
    assert len(steps) == 2
    assert steps[0] == Shift(date(2026, 8, 16), date(2026, 8, 17), "domenica")
    assert (steps[1].from_date, steps[1].to_date) == (date(2026, 8, 17), date(2026, 8, 20))
    assert "Ferragosto" in steps[1].reason
    assert "DL 223/2006" in steps[1].reason


def test_without_the_august_rule_only_rule_w_applies():
    assert effective_due(date(2026, 8, 16), august_rule=False) == (
        date(2026, 8, 17),
        (Shift(date(2026, 8, 16), date(2026, 8, 17), "domenica"),),
    )


def test_31_july_2022_goes_to_22_august_2022():
    """FISCAL_RULES §1 example: 31 Jul 2022 Sun -> 1 Aug -> 20 Aug Sat -> 22 Aug."""
    due, steps = effective_due(date(2022, 7, 31), august_rule=True)
    assert due == date(2022, 8, 22)
    assert [(s.from_date, s.to_date) for s in steps] == [
        (date(2022, 7, 31), date(2022, 8, 1)),
        (date(2022, 8, 1), date(2022, 8, 20)),
        (date(2022, 8, 20), date(2022, 8, 21)),
        (date(2022, 8, 21), date(2022, 8, 22)),
    ]
    assert steps[0].reason == "domenica"
    assert "Ferragosto" in steps[1].reason
    assert [s.reason for s in steps[2:]] == ["sabato", "domenica"]


@pytest.mark.parametrize(
    ("nominal", "due", "ferragosto_step"),
    [
        (date(2025, 8, 1), date(2025, 8, 20), True),  # Fri 1 Aug -> Wed 20 Aug
        (date(2025, 8, 15), date(2025, 8, 20), True),  # holiday Fri -> Mon 18 -> 20
        (date(2026, 8, 20), date(2026, 8, 20), False),  # 20 Aug itself, a Thursday
        (date(2023, 8, 20), date(2023, 8, 21), False),  # 20 Aug Sun -> Mon 21: W only
        (date(2023, 8, 19), date(2023, 8, 21), False),  # Sat -> Mon 21: past the window
        (date(2023, 8, 16), date(2023, 8, 21), True),  # Wed -> 20 Aug Sun -> Mon 21
        (date(2026, 7, 31), date(2026, 7, 31), False),  # Friday in July: untouched
        (date(2026, 8, 21), date(2026, 8, 21), False),
    ],
)
def test_august_rule_edges(nominal, due, ferragosto_step):
    got, steps = effective_due(nominal, august_rule=True)
    assert got == due
    assert any("Ferragosto" in s.reason for s in steps) is ferragosto_step
    assert_chain(nominal, due, steps)


# -- reasons -------------------------------------------------------------------------


def test_non_working_reasons():
    assert non_working_reason(date(2026, 3, 16)) is None
    assert non_working_reason(date(2026, 3, 14)) == "sabato"
    assert non_working_reason(date(2026, 3, 15)) == "domenica"
    assert non_working_reason(date(2026, 6, 2)) == "festività nazionale (Festa della Repubblica)"
    assert non_working_reason(date(2026, 4, 25)) == (
        "sabato, festività nazionale (Anniversario della Liberazione)"
    )


def test_shift_as_dict():
    step = Shift(date(2026, 8, 16), date(2026, 8, 17), "domenica")
    assert step.as_dict() == {"from": "2026-08-16", "to": "2026-08-17", "reason": "domenica"}


# -- properties ----------------------------------------------------------------------

any_day = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))


@settings(max_examples=300)
@given(any_day, st.booleans())
def test_effective_due_matches_the_reference(nominal, august_rule):
    due, _ = effective_due(nominal, august_rule=august_rule)
    assert due == reference_due(nominal, august_rule)


@settings(max_examples=300)
@given(any_day, st.booleans())
def test_effective_due_invariants(nominal, august_rule):
    due, steps = effective_due(nominal, august_rule=august_rule)
    assert nominal <= due <= nominal + timedelta(days=25)
    assert is_working_day(due)
    assert_chain(nominal, due, steps)
    for step in steps:
        if "Ferragosto" in step.reason:
            assert august_rule
            assert step.to_date == date(step.from_date.year, 8, 20)
        else:  # a rule W step: one non-working day skipped, and why
            assert step.to_date == step.from_date + timedelta(days=1)
            assert step.reason == non_working_reason(step.from_date)
    if august_rule:
        assert not (date(due.year, 8, 1) <= due <= date(due.year, 8, 19))
    else:
        assert due == shift_to_working_day(nominal)[0]
        assert all(not is_working_day(s.from_date) for s in steps)


@settings(max_examples=300)
@given(st.builds(date, st.integers(2000, 2100), st.just(8), st.integers(1, 20)))
def test_anything_nominally_due_in_the_august_window_is_due_on_or_after_20_august(nominal):
    due, _ = effective_due(nominal, august_rule=True)
    assert date(nominal.year, 8, 20) <= due <= date(nominal.year, 8, 22)
