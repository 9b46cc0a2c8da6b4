"""Read the dates and durations people type: ISO, Italian dd/mm/yyyy, words, offsets.

Relative words follow the Rome calendar (the office's day, not the server's), and
naive typed times are Rome wall-clock time; bad input is always InvalidData.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Literal

from sempi_cli.clock import ROME
from sempi_cli.errors import InvalidData
from sempi_cli.i18n import N_
from sempi_cli.i18n import gettext as _

# The forms the hints name are accepted in both languages (the Italian hint names the
# Italian words: oggi, domani, fine mese, lunedì...); translated where they are shown.
DATE_HINT = N_("use YYYY-MM-DD, dd/mm/yyyy, today, tomorrow, +3d, eom, or a weekday")
DURATION_HINT = N_("use 1h30m, 90m, 1.5h, 01:30")
# A bound for any duration a person types (planned time, time by hand): over a year
# of work is a typo, and far past it the date arithmetic of a timer entry overflows.
MAX_DURATION_HOURS = 9999
MAX_DURATION = timedelta(hours=MAX_DURATION_HOURS)

# Patterns run on the trimmed, lower-cased text; re.ASCII keeps \d to 0-9.
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:(?:t| +)(\d{2}):(\d{2})(?::(\d{2}))?(z|[+-]\d{2}:?\d{2})?)?",
    re.ASCII,
)
# dd/mm/yyyy, dd.mm.yyyy or dd-mm-yyyy (one separator throughout); without the year,
# the next such day (today included).
_ITALIAN = re.compile(
    r"(\d{1,2})([/.-])(\d{1,2})(?:\2(\d{4}))?(?: +(\d{1,2})[:.](\d{2}))?", re.ASCII
)
# "tra 3 giorni", "fra una settimana", "in 2 weeks": an offset in words.
_IN_WORDS = re.compile(r"(?:tra|fra|in) +(\d+|un|uno|una) +([a-z]+)", re.ASCII)
_WORD_UNITS = {
    **dict.fromkeys(("giorno", "giorni", "day", "days"), "d"),
    **dict.fromkeys(("settimana", "settimane", "week", "weeks"), "w"),
    **dict.fromkeys(("mese", "mesi", "month", "months"), "m"),
    **dict.fromkeys(("anno", "anni", "year", "years"), "y"),
}
# "lunedì prossimo", "prossima domenica", "next monday": the next such weekday.
_NEXT = re.compile(r"(?:(?:prossim[oa]|next) +(\S+)|(\S+) +prossim[oa])")
_OFFSET = re.compile(r"([+-])(\d+)([dwmy])", re.ASCII)
_WITH_TIME = re.compile(r"(.*?\S) +(?:at +|alle +|ore +)?(\d{1,2})[:.](\d{2})", re.ASCII)
_HOURS_MINUTES = re.compile(r"(-?)(?:(\d+(?:[.,]\d+)?)h)? *(?:(\d+)m)?", re.ASCII)
_CLOCK_DURATION = re.compile(r"(-?)(\d+):([0-5]\d)", re.ASCII)

# Offset unit -> (relativedelta keyword, multiplier); months/years are calendar-aware.
_UNITS: dict[str, tuple[Literal["days", "months", "years"], int]] = {
    "d": ("days", 1),
    "w": ("days", 7),
    "m": ("months", 1),
    "y": ("years", 1),
}


def _last_day(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _end_of_quarter(d: date) -> date:
    return _last_day(d.year, (d.month - 1) // 3 * 3 + 3)


# Words -> function of the Rome "today". "now"/"adesso" are handled apart (they keep the time).
_WORDS: dict[str, Callable[[date], date]] = {
    "today": lambda d: d,
    "oggi": lambda d: d,
    "tomorrow": lambda d: d + timedelta(days=1),
    "domani": lambda d: d + timedelta(days=1),
    "yesterday": lambda d: d - timedelta(days=1),
    "ieri": lambda d: d - timedelta(days=1),
    "eom": lambda d: _last_day(d.year, d.month),
    "eoq": _end_of_quarter,
    "eoy": lambda d: date(d.year, 12, 31),
    "dopodomani": lambda d: d + timedelta(days=2),
    "fine mese": lambda d: _last_day(d.year, d.month),
    "fine trimestre": _end_of_quarter,
    "fine anno": lambda d: date(d.year, 12, 31),
}

_WEEKDAYS: dict[str, int] = {
    name: number
    for number, names in enumerate(
        (
            "monday mon lunedì lunedi lun",
            "tuesday tue martedì martedi mar",
            "wednesday wed mercoledì mercoledi mer",
            "thursday thu giovedì giovedi gio",
            "friday fri venerdì venerdi ven",
            "saturday sat sabato sab",
            "sunday sun domenica dom",
        )
    )
    for name in names.split()
}


def parse_date(text: str, now: datetime, *, field: str = "date") -> date:
    """The calendar date *text* names; a typed instant gives its Rome date."""
    value = _read(text, now, field)
    return value.date() if isinstance(value, datetime) else value


def parse_datetime(
    text: str, now: datetime, *, field: str = "date", default_time: time = time(0, 0)
) -> datetime:
    """An aware datetime in Europe/Rome; date-only forms get *default_time* (Rome wall clock)."""
    value = _read(text, now, field)
    if isinstance(value, datetime):
        return value
    try:
        return _rome(value, default_time)
    except (OverflowError, ValueError):
        raise _out_of_range(field, text) from None


def parse_duration(text: str, *, field: str = "duration") -> timedelta:
    """A positive work duration in hours and minutes, rounded to the second."""
    key = text.strip().lower()
    try:
        if match := _CLOCK_DURATION.fullmatch(key):
            sign, hours, minutes = match[1], match[2], match[3]
        elif (match := _HOURS_MINUTES.fullmatch(key)) and (match[2] or match[3]):
            sign, hours, minutes = match[1], match[2] or "0", match[3] or "0"
        else:
            raise InvalidData(
                field,
                _("cannot read {text} as a duration").format(text=repr(text)),
                _(DURATION_HINT),
            )
        seconds = round(float(hours.replace(",", ".")) * 3600) + int(minutes) * 60
        duration = timedelta(seconds=-seconds if sign else seconds)
    except (OverflowError, ValueError):
        raise InvalidData(
            field, _("{text} is too long").format(text=repr(text)), _(DURATION_HINT)
        ) from None
    if duration <= timedelta(0):
        raise InvalidData(
            field, _("{text} must be more than zero").format(text=repr(text)), _(DURATION_HINT)
        )
    if duration > MAX_DURATION:
        raise InvalidData(
            field,
            _("{text} is longer than {hours} hours").format(
                text=repr(text), hours=MAX_DURATION_HOURS
            ),
        )
    return duration


def _read(text: str, now: datetime, field: str) -> date | datetime:
    """A date (no time of day typed) or an aware Rome datetime (time typed, or "now")."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")  # a programming error, not input
    key = unicodedata.normalize("NFC", text).strip().lower()
    today = now.astimezone(ROME).date()
    try:
        if match := _ISO.fullmatch(key):
            return _build(field, text, *match.groups())
        if match := _ITALIAN.fullmatch(key):
            day, _separator, month, year, hour, minute = match.groups()
            if year is None:
                year = str(_next_year_of(today, int(month), int(day)))
            return _build(field, text, year, month, day, hour, minute)
        if key in ("now", "adesso"):
            return now.astimezone(ROME)
        words = " ".join(key.replace("del ", "").split())  # "fine del mese" = "fine mese"
        if words in _WORDS:
            return _WORDS[words](today)
        if (match := _NEXT.fullmatch(words)) and (match[1] or match[2]) in _WEEKDAYS:
            words = match[1] or match[2]
        if words in _WEEKDAYS:  # strictly after today: Monday + "monday" is a week later
            return today + timedelta(days=(_WEEKDAYS[words] - today.weekday() - 1) % 7 + 1)
        if (match := _IN_WORDS.fullmatch(words)) and match[2] in _WORD_UNITS:
            amount = 1 if match[1] in ("un", "uno", "una") else int(match[1])
            return _offset(today, "+", amount, _WORD_UNITS[match[2]])
        if match := _OFFSET.fullmatch(key):
            return _offset(today, match[1], int(match[2]), match[3])
        if (match := _WITH_TIME.fullmatch(key)) and not _ISO.fullmatch(match[1]):
            day = _read(match[1], now, field)  # "today 09:00", "domani alle 14.30", "+2d 18:00"
            if not isinstance(day, datetime):
                return _build(
                    field, text, str(day.year), str(day.month), str(day.day), match[2], match[3]
                )
    except (OverflowError, ValueError):
        raise _out_of_range(field, text) from None
    raise InvalidData(
        field, _("cannot read {text} as a date").format(text=repr(text)), _(DATE_HINT)
    )


def _offset(today: date, sign: str, amount: int, unit_letter: str) -> date:
    """``today`` moved by ``amount`` days/weeks/months/years (calendar-aware)."""
    from dateutil.relativedelta import relativedelta

    unit, factor = _UNITS[unit_letter]
    amount = amount * factor * (-1 if sign == "-" else 1)
    if unit == "days":
        return today + relativedelta(days=amount)
    if unit == "months":
        return today + relativedelta(months=amount)
    return today + relativedelta(years=amount)


def _next_year_of(today: date, month: int, day: int) -> int:
    """The year of the next ``day``/``month`` from today (today included); 29/02 waits
    for a leap year. An impossible day (31/04) gives this year, for _build to refuse."""
    for year in range(today.year, today.year + 9):
        try:
            if date(year, month, day) >= today:
                return year
        except ValueError:
            continue
    return today.year


def _build(
    field: str,
    text: str,
    year: str,
    month: str,
    day: str,
    hour: str | None = None,
    minute: str | None = None,
    second: str | None = None,
    offset: str | None = None,
) -> date | datetime:
    try:
        result = date(int(year), int(month), int(day))
    except ValueError:
        raise InvalidData(
            field, _("no such date: {text}").format(text=repr(text)), _("check the day and month")
        ) from None
    if hour is None or minute is None:
        return result
    try:
        clock = time(int(hour), int(minute), int(second or 0))
        zone = _zone(offset)
    except ValueError:
        raise InvalidData(
            field,
            _("no such time: {text}").format(text=repr(text)),
            _("use hh:mm, 00:00 to 23:59"),
        ) from None
    if zone is None:
        return _rome(result, clock)
    return datetime.combine(result, clock, tzinfo=zone).astimezone(ROME)


def _zone(offset: str | None) -> tzinfo | None:
    if offset is None:
        return None
    if offset == "z":
        return UTC
    digits = offset[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if minutes >= 60:
        raise ValueError("offset minutes out of range")
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if offset[0] == "-" else delta)  # ValueError past 24h


def _rome(day: date, clock: time) -> datetime:
    """Rome wall-clock *clock* on *day*, as a real instant.

    DST: in the spring-forward gap (2026-03-29 02:30 does not exist) zoneinfo applies
    the offset in force before the change (fold=0, +01:00); the UTC round trip turns
    that into the instant it names, 03:30 CEST. In the autumn overlap (2026-10-25 02:30
    happens twice) fold=0 picks the first occurrence, still summer time (+02:00).
    """
    local = datetime.combine(day, clock.replace(tzinfo=None, fold=0), tzinfo=ROME)
    return local.astimezone(UTC).astimezone(ROME)


def day_start(day: date, *, field: str, days_later: int = 0) -> datetime:
    """The first instant (Rome) of the day *days_later* days after *day*: the bounds of
    a whole-day filter. parse_date accepts any calendar date, but at its edges that
    instant does not exist (0001-01-01 starts in year 0 in UTC, no day follows
    9999-12-31): the typed day is then out of range, not an internal error."""
    try:
        return _rome(day + timedelta(days=days_later), time(0))
    except OverflowError:
        raise _out_of_range(field, day.isoformat()) from None


def _out_of_range(field: str, text: str) -> InvalidData:
    return InvalidData(field, _("{text} is out of range").format(text=repr(text)), _(DATE_HINT))
