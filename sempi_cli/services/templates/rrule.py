"""Recurrence rules for recurring tasks: which dates a rule names, and where they move.

Pure (no store, no clock): a :class:`Rule` and a date in, dates out. The
expansion uses ``dateutil.rrule`` and costs one step per occurrence, never a
walk over every day.

What each frequency means (the start date anchors all of them):

- ``daily``: every *interval* days.
- ``weekdays``: Monday to Friday, every *interval* weeks.
- ``weekly``: on the start date's weekday, every *interval* weeks.
- ``monthly``: on the start date's day of the month, every *interval* months.
  A day the month lacks means the month's last day: from 31 Jan 2028 the
  occurrences are 29 Feb 2028, 31 Mar 2028, 30 Apr 2028, ... (the day comes
  back in the months that have it: it never drifts to the 29th).
- ``monthly_last``: the last day of the month, from the start date's month.
- ``quarterly``: ``monthly`` every 3 × *interval* months.
- ``yearly``: on the start date's day and month; from 29 Feb, 28 Feb in
  common years.

A rule ends at its own *until* date (inclusive), after *count* occurrences,
or never. Each occurrence has a **nominal** date (what the rule names: the
key of the instance, stable forever) and an **effective** date: the same, or
with ``shift="next-working-day"`` the next working day of the Italian fiscal
calendar when the nominal date is a Saturday, a Sunday or a national holiday.
Two nominal dates may shift to the same day (a daily rule's Saturday and
Sunday both go to Monday): they stay two occurrences.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, TypedDict

from sempi_cli import i18n
from sempi_cli.clock import ROME, iso_utc
from sempi_cli.errors import InvalidData
from sempi_cli.i18n import N_, ngettext
from sempi_cli.i18n import gettext as _

if TYPE_CHECKING:
    import sqlite3

FREQS = ("daily", "weekdays", "weekly", "monthly", "monthly_last", "quarterly", "yearly")
SHIFTS = ("none", "next-working-day")
MAX_INTERVAL = 1000
MAX_COUNT = 10000

_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WEEKLY_ON = (
    N_("weekly on Monday"),
    N_("weekly on Tuesday"),
    N_("weekly on Wednesday"),
    N_("weekly on Thursday"),
    N_("weekly on Friday"),
    N_("weekly on Saturday"),
    N_("weekly on Sunday"),
)


@dataclass(frozen=True)
class Rule:
    """A valid recurrence rule (checked when it is made; bad values raise InvalidData
    naming the command-line option that carried them)."""

    freq: str
    start: date
    interval: int = 1
    until: date | None = None
    count: int | None = None
    shift: str = "none"

    def __post_init__(self) -> None:
        if self.freq not in FREQS:
            raise InvalidData(
                "--freq",
                _("{value} is not one of {choices}").format(
                    value=repr(self.freq), choices=", ".join(FREQS)
                ),
            )
        if not isinstance(self.start, date) or isinstance(self.start, datetime):
            raise InvalidData("--start", _("a date is needed"))
        if isinstance(self.interval, bool) or not isinstance(self.interval, int):
            raise InvalidData(
                "--interval",
                _("{value} is not a whole number").format(value=repr(self.interval)),
            )
        if not 1 <= self.interval <= MAX_INTERVAL:
            raise InvalidData(
                "--interval", _("must be between {low} and {high}").format(low=1, high=MAX_INTERVAL)
            )
        if self.until is not None and self.count is not None:
            raise InvalidData("--count", _("give --until or --count, not both"))
        if self.until is not None and self.until < self.start:
            raise InvalidData(
                "--until",
                _("{until} is before --start {start}").format(
                    until=people_day(self.until), start=people_day(self.start)
                ),
            )
        if self.count is not None and (
            isinstance(self.count, bool)
            or not isinstance(self.count, int)
            or not 1 <= self.count <= MAX_COUNT
        ):
            raise InvalidData(
                "--count",
                _("must be a whole number between {low} and {high}").format(low=1, high=MAX_COUNT),
            )
        if self.shift not in SHIFTS:
            raise InvalidData(
                "--shift",
                _("{value} is not one of {choices}").format(
                    value=repr(self.shift), choices=", ".join(SHIFTS)
                ),
            )


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0))


class _Bounds(TypedDict, total=False):
    """The keyword arguments of ``dateutil.rrule.rrule`` every frequency shares."""

    dtstart: datetime
    interval: int
    count: int
    until: datetime


class _OnDay(TypedDict, total=False):
    """Which day of the month a monthly, quarterly or yearly rule names."""

    bymonthday: int | tuple[int, int]
    bysetpos: int


def _rrule(rule: Rule):
    from dateutil import rrule as rr

    common: _Bounds = {"dtstart": _midnight(rule.start), "interval": rule.interval}
    if rule.count is not None:
        common["count"] = rule.count
    if rule.until is not None:
        common["until"] = _midnight(rule.until)
    day = rule.start.day
    # The start's day, or the month's last day when the month is shorter: of the
    # set {day, last day} (one element when they coincide) take the first.
    on_day: _OnDay = {"bymonthday": (day, -1), "bysetpos": 1} if day > 28 else {"bymonthday": day}
    if rule.freq == "daily":
        return rr.rrule(rr.DAILY, **common)
    if rule.freq == "weekdays":
        return rr.rrule(rr.WEEKLY, byweekday=(rr.MO, rr.TU, rr.WE, rr.TH, rr.FR), **common)
    if rule.freq == "weekly":
        return rr.rrule(rr.WEEKLY, byweekday=rule.start.weekday(), **common)
    if rule.freq == "monthly":
        return rr.rrule(rr.MONTHLY, **on_day, **common)
    if rule.freq == "monthly_last":
        return rr.rrule(rr.MONTHLY, bymonthday=-1, **common)
    if rule.freq == "quarterly":
        quarterly: _Bounds = {**common, "interval": 3 * rule.interval}
        return rr.rrule(rr.MONTHLY, **on_day, **quarterly)
    return rr.rrule(rr.YEARLY, bymonth=rule.start.month, **on_day, **common)


def effective(rule: Rule, nominal: date) -> date:
    """Where an occurrence falls once the rule's shift policy is applied."""
    if rule.shift == "next-working-day":
        from sempi_cli.fiscal.calendar import next_working_day

        return next_working_day(nominal)
    return nominal


def occurrences(rule: Rule, until: date) -> list[tuple[date, date]]:
    """Every (nominal, effective) occurrence whose nominal date is on or before
    *until*, within the rule's own end, in order."""
    if until < rule.start:
        return []
    nominal = _rrule(rule).between(_midnight(rule.start), _midnight(until), inc=True)
    return [(d.date(), effective(rule, d.date())) for d in nominal]


def upcoming(rule: Rule, since: date, n: int = 3) -> list[tuple[date, date]]:
    """The first *n* occurrences whose nominal date is on or after *since*."""
    nominal = _rrule(rule).xafter(_midnight(since), count=n, inc=True)
    return [(d.date(), effective(rule, d.date())) for d in nominal]


def describe(rule: Rule) -> str:
    """The rule in a few English words, for lists: 'monthly on day 16, from 2026-01-16'."""
    every = {
        "daily": ("day", "days"),
        "weekdays": ("week", "weeks"),
        "weekly": ("week", "weeks"),
        "monthly": ("month", "months"),
        "monthly_last": ("month", "months"),
        "quarterly": ("quarter", "quarters"),
        "yearly": ("year", "years"),
    }[rule.freq]
    head = {
        "daily": "daily",
        "weekdays": "weekdays (Mon-Fri)",
        "weekly": f"weekly on {_WEEKDAY_NAMES[rule.start.weekday()]}",
        "monthly": f"monthly on day {rule.start.day}",
        "monthly_last": "monthly on the last day",
        "quarterly": f"quarterly on day {rule.start.day}",
        "yearly": f"yearly on {rule.start.day:02d}-{rule.start.month:02d}",
    }[rule.freq]
    if rule.interval > 1:
        head += f", every {rule.interval} {every[1]}"
    parts = [head, f"from {rule.start.isoformat()}"]
    if rule.until is not None:
        parts.append(f"until {rule.until.isoformat()}")
    if rule.count is not None:
        parts.append(f"{rule.count} time{'s' if rule.count > 1 else ''}")
    if rule.shift == "next-working-day":
        parts.append("moved to the next working day")
    return ", ".join(parts)


def people_day(day: date) -> str:
    """A date in a message: ISO as the English messages have always said it,
    dd/mm/yyyy in Italian."""
    return day.isoformat() if i18n.current() == "en" else day.strftime("%d/%m/%Y")


def describe_for_people(rule: Rule) -> str:
    """``describe`` in the reader's language, for a message: the same English words
    (JSON and tables keep ``describe``'s), 'mensile il giorno 16, dal 2026-01-16'
    in Italian."""
    day = rule.start.day
    if rule.freq == "daily":
        head = _("daily")
    elif rule.freq == "weekdays":
        head = _("weekdays (Mon-Fri)")
    elif rule.freq == "weekly":
        head = _(_WEEKLY_ON[rule.start.weekday()])
    elif rule.freq == "monthly":
        head = _("monthly on day {day}").format(day=day)
    elif rule.freq == "monthly_last":
        head = _("monthly on the last day")
    elif rule.freq == "quarterly":
        head = _("quarterly on day {day}").format(day=day)
    else:
        sep = "-" if i18n.current() == "en" else "/"
        head = _("yearly on {day}").format(day=f"{day:02d}{sep}{rule.start.month:02d}")
    n = rule.interval
    if n > 1:
        if rule.freq in ("daily",):
            head += ngettext(", every {n} day", ", every {n} days", n).format(n=n)
        elif rule.freq in ("weekdays", "weekly"):
            head += ngettext(", every {n} week", ", every {n} weeks", n).format(n=n)
        elif rule.freq in ("monthly", "monthly_last"):
            head += ngettext(", every {n} month", ", every {n} months", n).format(n=n)
        elif rule.freq == "quarterly":
            head += ngettext(", every {n} quarter", ", every {n} quarters", n).format(n=n)
        else:
            head += ngettext(", every {n} year", ", every {n} years", n).format(n=n)
    parts = [head, _("from {day}").format(day=people_day(rule.start))]
    if rule.until is not None:
        parts.append(_("until {day}").format(day=people_day(rule.until)))
    if rule.count is not None:
        parts.append(ngettext("{n} time", "{n} times", rule.count).format(n=rule.count))
    if rule.shift == "next-working-day":
        parts.append(_("moved to the next working day"))
    return ", ".join(parts)


def rule_of(template: sqlite3.Row | Mapping[str, Any]) -> Rule | None:
    if template["recur_freq"] is None:
        return None
    return Rule(
        freq=template["recur_freq"],
        start=date.fromisoformat(template["recur_start"]),
        interval=template["recur_interval"],
        until=date.fromisoformat(template["recur_until"]) if template["recur_until"] else None,
        count=template["recur_count"],
        shift=template["recur_shift"],
    )


def deadline_of(day: date, deadline_days: int, deadline_time: str) -> str:
    """An instance's deadline: *day* + *deadline_days* at *deadline_time*, Rome wall
    clock whatever the season (18:00 is 17:00 UTC in winter, 16:00 UTC in summer).
    A time the spring change skips (02:30 on the last Sunday of March) reads with
    the winter offset, i.e. 03:30 summer time, as timeparse does."""
    hour, minute = (int(part) for part in deadline_time.split(":"))
    local = datetime.combine(day + timedelta(days=deadline_days), time(hour, minute), ROME)
    return iso_utc(local.astimezone(UTC))
