"""The Italian fiscal calendar: which days are working days for a fiscal deadline.

A fiscal *adempimento* or *versamento* that falls on a Saturday, a Sunday or a
national holiday moves to the next working day (rule W of FISCAL_RULES.md §1:
art. 7 c.1 lett. h) DL 70/2011, art. 6 c.8 DL 330/1994, art. 18 c.1 D.Lgs.
241/1997). Saturday counts as non-working here, unlike civil terms.

National holidays come from the ``holidays`` package, country IT, **without a
subdivision**: a subdivision adds the patron saint of a town (Milano 7 Dec,
Roma 29 Jun, ...), and fiscal deadlines are national, so a patron saint never
moves one. 4 October (San Francesco d'Assisi) is national from 2026 (L. 8
ottobre 2025 n. 151); releases of ``holidays`` before it lack it, so the small
table below adds it whatever the installed release says.

The package also lists "Giorno dell'unità nazionale" on the first Sunday of
November: a Sunday is never a working day anyway, so it changes nothing.

Pure: no I/O, nothing of ours imported. The August rule (proroga di
Ferragosto) and the full shift algorithm build on this module.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

# National holidays added by laws that older releases of `holidays` may not know:
# (month, day) -> first year. L. 151/2025 (GU n. 236 of 10 Oct 2025), in force 1 Jan 2026.
ADDED_HOLIDAYS: dict[tuple[int, int], int] = {(10, 4): 2026}

# No run of non-working days is longer than this: the Christmas cluster gives at
# most 25, 26 Dec and a weekend (4 days); a week is a safe bound for the loop.
_MAX_SHIFT_DAYS = 7


@lru_cache(maxsize=256)
def national_holidays(year: int) -> frozenset[date]:
    """The national holidays of *year* that count for fiscal deadlines."""
    import holidays

    days = set(holidays.IT(years=year).keys())
    for (month, day), since in ADDED_HOLIDAYS.items():
        if year >= since:
            days.add(date(year, month, day))
    return frozenset(days)


def is_holiday(day: date) -> bool:
    """A national holiday (a weekend day is not a holiday by itself)."""
    return day in national_holidays(day.year)


def is_working_day(day: date) -> bool:
    """Monday to Friday and not a national holiday."""
    return day.weekday() < 5 and not is_holiday(day)


def next_working_day(day: date) -> date:
    """*day* itself if it is a working day, else the first working day after it.

    Crosses months and years: 31 Oct 2026 (Sat) -> 2 Nov 2026; 31 Dec 2022 (Sat)
    -> 2 Jan 2023.
    """
    shifted = day
    while not is_working_day(shifted):
        shifted += timedelta(days=1)
        if shifted - day > timedelta(days=_MAX_SHIFT_DAYS):  # a broken holiday table
            raise RuntimeError(f"no working day within a week of {day.isoformat()}")
    return shifted
