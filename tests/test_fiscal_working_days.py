"""The fiscal calendar: national holidays and the next working day (FISCAL_RULES.md §1-2)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sempi_cli.fiscal.calendar import (
    is_holiday,
    is_working_day,
    national_holidays,
    next_working_day,
)


@pytest.mark.parametrize(
    ("nominal", "shifted"),
    [
        (date(2025, 5, 31), date(2025, 6, 3)),  # Sat, Sun 1 Jun, Mon 2 Jun Festa della Repubblica
        (date(2025, 11, 30), date(2025, 12, 1)),
        (date(2026, 2, 28), date(2026, 3, 2)),
        (date(2026, 5, 31), date(2026, 6, 1)),
        (date(2026, 10, 31), date(2026, 11, 2)),  # 1 Nov: Sunday and Ognissanti
        (date(2026, 1, 31), date(2026, 2, 2)),
        (date(2025, 8, 31), date(2025, 9, 1)),
        (date(2027, 2, 28), date(2027, 3, 1)),
        (date(2025, 12, 25), date(2025, 12, 29)),  # Thu 25, Fri 26, weekend
        (date(2026, 12, 25), date(2026, 12, 28)),  # Fri 25, Sat 26, Sun 27
        (date(2022, 12, 31), date(2023, 1, 2)),  # across the year
        (date(2027, 10, 4), date(2027, 10, 5)),  # San Francesco, first on a weekday
        (date(2026, 4, 6), date(2026, 4, 7)),  # Easter Monday
    ],
)
def test_shifts_from_the_fiscal_rules(nominal, shifted):
    assert next_working_day(nominal) == shifted


def test_a_working_day_stays_where_it_is():
    assert next_working_day(date(2026, 3, 16)) == date(2026, 3, 16)  # Monday


@pytest.mark.parametrize(
    "holiday",
    [
        date(2025, 4, 21),  # Easter Monday 2025
        date(2026, 4, 6),  # Easter Monday 2026
        date(2027, 3, 29),  # Easter Monday 2027
        date(2026, 1, 6),
        date(2026, 4, 25),
        date(2026, 5, 1),
        date(2026, 6, 2),
        date(2026, 8, 15),
        date(2026, 11, 1),
        date(2026, 12, 8),
        date(2026, 12, 26),
        date(2026, 10, 4),
        date(2027, 10, 4),
    ],
)
def test_national_holidays(holiday):
    assert is_holiday(holiday)
    assert not is_working_day(holiday)


def test_san_francesco_is_national_from_2026_only():
    assert not is_holiday(date(2025, 10, 4))
    assert is_working_day(date(2025, 10, 3))  # Friday
    assert is_holiday(date(2026, 10, 4))
    assert is_holiday(date(2027, 10, 4))
    assert not is_working_day(date(2027, 10, 4))  # a Monday


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 12, 7),  # Sant'Ambrogio, Milano (Monday)
        date(2026, 6, 29),  # Santi Pietro e Paolo, Roma (Monday)
        date(2026, 9, 18),  # the day before San Gennaro (Napoli); 19 Sep 2026 is a Saturday
        date(2027, 9, 20),
        date(2026, 11, 4),  # 4 November is no longer a day off (L. 54/1977)
        date(2026, 3, 19),  # San Giuseppe: suppressed in 1977
    ],
)
def test_patron_saints_and_suppressed_holidays_are_working_days(day):
    assert is_working_day(day)


def test_weekends_are_not_working_days():
    assert not is_working_day(date(2026, 3, 14))  # Saturday
    assert not is_working_day(date(2026, 3, 15))  # Sunday
    assert not is_holiday(date(2026, 3, 14))


def test_holidays_per_year_are_cached_and_immutable():
    first = national_holidays(2026)
    assert national_holidays(2026) is first
    assert isinstance(first, frozenset)
    assert all(d.year == 2026 for d in first)
    # Twelve fixed or Easter-based days plus 4 October (and the package's first
    # Sunday of November, which is a Sunday: it moves nothing).
    weekday_holidays = {d for d in first if d.weekday() < 5}
    assert date(2026, 4, 6) in weekday_holidays


days = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))


@given(days)
def test_next_working_day_is_the_first_working_day_on_or_after(day):
    shifted = next_working_day(day)
    assert day <= shifted <= day + timedelta(days=7)
    assert is_working_day(shifted)
    assert all(not is_working_day(day + timedelta(days=n)) for n in range((shifted - day).days))


@given(days)
def test_next_working_day_is_idempotent(day):
    assert next_working_day(next_working_day(day)) == next_working_day(day)
