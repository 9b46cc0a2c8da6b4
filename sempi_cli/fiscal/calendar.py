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

On top of the working days: the August rule (proroga di Ferragosto) and the
full shift algorithm of FISCAL_RULES.md §1, which returns the due date *and*
each step that moved it, with its reason, so ``scheduler explain`` can say why.

Pure: no I/O, nothing of ours imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

# National holidays added by laws that older releases of `holidays` may not know:
# (month, day) -> first year. L. 151/2025 (GU n. 236 of 10 Oct 2025), in force 1 Jan 2026.
ADDED_HOLIDAYS: dict[tuple[int, int], int] = {(10, 4): 2026}

# No run of non-working days is longer than this: the Christmas cluster gives at
# most 25, 26 Dec and a weekend (4 days); a week is a safe bound for the loop.
_MAX_SHIFT_DAYS = 7


ADDED_NAMES: dict[tuple[int, int], str] = {(10, 4): "San Francesco d'Assisi"}

AUGUST_RULE_BASIS = "art. 37 c.11-bis DL 223/2006, come modificato dall'art. 3-quater DL 16/2012"
_WEEKDAY_NAMES = ("lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica")


@dataclass(frozen=True)
class Shift:
    """One step of the shift algorithm: the date moved from ``from_date`` to ``to_date``."""

    from_date: date
    to_date: date
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {
            "from": self.from_date.isoformat(),
            "to": self.to_date.isoformat(),
            "reason": self.reason,
        }


@lru_cache(maxsize=256)
def holiday_names(year: int) -> dict[date, str]:
    """The national holidays of *year* that count for fiscal deadlines, by name (Italian)."""
    import holidays

    names = dict(holidays.IT(years=year, language="it_IT").items())
    for (month, day), since in ADDED_HOLIDAYS.items():
        if year >= since:
            names.setdefault(date(year, month, day), ADDED_NAMES[(month, day)])
    return names


@lru_cache(maxsize=256)
def national_holidays(year: int) -> frozenset[date]:
    """The national holidays of *year* that count for fiscal deadlines."""
    return frozenset(holiday_names(year))


def is_holiday(day: date) -> bool:
    """A national holiday (a weekend day is not a holiday by itself)."""
    return day in national_holidays(day.year)


def non_working_reason(day: date) -> str | None:
    """Why *day* is not a working day ("sabato", "festività nazionale (...)"), or None."""
    parts = []
    if day.weekday() >= 5:
        parts.append(_WEEKDAY_NAMES[day.weekday()])
    name = holiday_names(day.year).get(day)
    if name:
        parts.append(f"festività nazionale ({name})")
    return ", ".join(parts) or None


def is_working_day(day: date) -> bool:
    """Monday to Friday and not a national holiday."""
    return day.weekday() < 5 and not is_holiday(day)


def next_working_day(day: date) -> date:
    """*day* itself if it is a working day, else the first working day after it.

    Crosses months and years: 31 Oct 2026 (Sat) -> 2 Nov 2026; 31 Dec 2022 (Sat)
    -> 2 Jan 2023.
    """
    return shift_to_working_day(day)[0]


def shift_to_working_day(day: date) -> tuple[date, tuple[Shift, ...]]:
    """Rule W: the next working day, with one step per non-working day skipped."""
    steps: list[Shift] = []
    current = day
    while (reason := non_working_reason(current)) is not None:
        following = current + timedelta(days=1)
        steps.append(Shift(current, following, reason))
        current = following
        if len(steps) > _MAX_SHIFT_DAYS:  # a broken holiday table
            raise RuntimeError(f"no working day within a week of {day.isoformat()}")
    return current, tuple(steps)


def august_rule_applies(day: date) -> bool:
    """Rule F covers what falls due from 1 to 20 August."""
    return date(day.year, 8, 1) <= day <= date(day.year, 8, 20)


def effective_due(nominal: date, *, august_rule: bool) -> tuple[date, tuple[Shift, ...]]:
    """FISCAL_RULES.md §1, exactly: rule W; then, for what rule F covers, a date
    from 1 to 20 August goes to 20 August, and rule W again. The due date is
    never before *nominal* and, rule F included, at most 25 days after it.
    """
    due, steps = shift_to_working_day(nominal)
    august_20 = date(due.year, 8, 20)
    if august_rule and august_rule_applies(due) and due < august_20:
        ferragosto = Shift(
            due, august_20, f"proroga di Ferragosto al 20 agosto ({AUGUST_RULE_BASIS})"
        )
        due, more = shift_to_working_day(august_20)
        steps = (*steps, ferragosto, *more)
    return due, steps
