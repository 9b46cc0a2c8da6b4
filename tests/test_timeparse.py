from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sempi_cli.clock import ROME, FixedClock, iso_utc
from sempi_cli.errors import InvalidData
from sempi_cli.timeparse import day_start, parse_date, parse_datetime, parse_duration

# Sunday 22 November 2026, 11:00 in Rome.
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def rome(*args: int) -> datetime:
    return datetime(*args, tzinfo=ROME)


def assert_rome(value: datetime, expected_wall: datetime, expected_utc: datetime) -> None:
    """Same Rome wall clock, same instant, and tzinfo is ROME.

    The instant is compared in UTC: Python never finds an ambiguous (fall-back)
    wall time equal to a datetime in another zone (PEP 495).
    """
    assert value.tzinfo is ROME
    assert value.replace(tzinfo=None) == expected_wall.replace(tzinfo=None)
    assert value.astimezone(UTC) == expected_utc


# --- words -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", date(2026, 11, 22)),
        ("oggi", date(2026, 11, 22)),
        ("tomorrow", date(2026, 11, 23)),
        ("domani", date(2026, 11, 23)),
        ("yesterday", date(2026, 11, 21)),
        ("ieri", date(2026, 11, 21)),
        ("now", date(2026, 11, 22)),
        ("adesso", date(2026, 11, 22)),
        ("eom", date(2026, 11, 30)),
        ("eoq", date(2026, 12, 31)),
        ("eoy", date(2026, 12, 31)),
        ("  TODAY  ", date(2026, 11, 22)),
        ("Domani", date(2026, 11, 23)),
        ("EOM", date(2026, 11, 30)),
    ],
)
def test_words(text: str, expected: date) -> None:
    assert parse_date(text, NOW) == expected


@pytest.mark.parametrize(
    ("month", "expected"),
    [
        (1, date(2026, 3, 31)),
        (2, date(2026, 3, 31)),
        (3, date(2026, 3, 31)),
        (4, date(2026, 6, 30)),
        (5, date(2026, 6, 30)),
        (6, date(2026, 6, 30)),
        (7, date(2026, 9, 30)),
        (8, date(2026, 9, 30)),
        (9, date(2026, 9, 30)),
        (10, date(2026, 12, 31)),
        (11, date(2026, 12, 31)),
        (12, date(2026, 12, 31)),
    ],
)
def test_eoq_each_quarter(month: int, expected: date) -> None:
    assert parse_date("eoq", utc(2026, month, 15, 12)) == expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2026, 2, 10, 12), date(2026, 2, 28)),
        (utc(2028, 2, 10, 12), date(2028, 2, 29)),
        (utc(2026, 4, 1, 12), date(2026, 4, 30)),
        (utc(2026, 12, 31, 12), date(2026, 12, 31)),
    ],
)
def test_eom(now: datetime, expected: date) -> None:
    assert parse_date("eom", now) == expected


def test_now_keeps_the_current_time_in_rome() -> None:
    for word in ("now", "adesso", " NOW "):
        assert_rome(parse_datetime(word, NOW), rome(2026, 11, 22, 11, 0), NOW)


def test_now_ignores_default_time() -> None:
    assert parse_datetime("now", NOW, default_time=time(18, 0)) == NOW


def test_date_words_default_to_rome_midnight() -> None:
    assert_rome(parse_datetime("today", NOW), rome(2026, 11, 22), utc(2026, 11, 21, 23))
    assert_rome(parse_datetime("eom", NOW), rome(2026, 11, 30), utc(2026, 11, 29, 23))
    # In summer Rome is UTC+2.
    summer = utc(2026, 7, 10, 12)
    assert_rome(parse_datetime("tomorrow", summer), rome(2026, 7, 11), utc(2026, 7, 10, 22))


def test_default_time_applies_to_date_only_forms() -> None:
    six_pm = time(18, 0)
    for text in ("tomorrow", "2026-11-23", "23/11/2026", "+1d", "monday"):
        value = parse_datetime(text, NOW, default_time=six_pm)
        assert_rome(value, rome(2026, 11, 23, 18), utc(2026, 11, 23, 17))


def test_explicit_time_wins_over_default_time() -> None:
    value = parse_datetime("2026-03-16 09:30", NOW, default_time=time(18, 0))
    assert_rome(value, rome(2026, 3, 16, 9, 30), utc(2026, 3, 16, 8, 30))


# --- offsets ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+0d", date(2026, 11, 22)),
        ("-0d", date(2026, 11, 22)),
        ("+3d", date(2026, 11, 25)),
        ("-3d", date(2026, 11, 19)),
        ("+10d", date(2026, 12, 2)),
        ("+2w", date(2026, 12, 6)),
        ("-2w", date(2026, 11, 8)),
        ("+1m", date(2026, 12, 22)),
        ("-1m", date(2026, 10, 22)),
        ("+2m", date(2027, 1, 22)),
        ("+1y", date(2027, 11, 22)),
        ("-1y", date(2025, 11, 22)),
        ("+3D", date(2026, 11, 25)),
    ],
)
def test_offsets(text: str, expected: date) -> None:
    assert parse_date(text, NOW) == expected


@pytest.mark.parametrize(
    ("now", "text", "expected"),
    [
        (utc(2026, 1, 31, 12), "+1m", date(2026, 2, 28)),
        (utc(2028, 1, 31, 12), "+1m", date(2028, 2, 29)),
        (utc(2026, 3, 31, 12), "-1m", date(2026, 2, 28)),
        (utc(2026, 3, 31, 12), "+1m", date(2026, 4, 30)),
        (utc(2026, 8, 31, 12), "+6m", date(2027, 2, 28)),
        (utc(2028, 2, 29, 12), "+1y", date(2029, 2, 28)),
        (utc(2028, 2, 29, 12), "+4y", date(2032, 2, 29)),
        (utc(2028, 2, 28, 12), "+1d", date(2028, 2, 29)),
        (utc(2027, 2, 28, 12), "+1d", date(2027, 3, 1)),
    ],
)
def test_month_end_arithmetic(now: datetime, text: str, expected: date) -> None:
    assert parse_date(text, now) == expected


# --- weekdays --------------------------------------------------------------

WEEKDAY_NAMES = [
    ("monday", "mon", "lunedì", "lunedi"),
    ("tuesday", "tue", "martedì", "martedi"),
    ("wednesday", "wed", "mercoledì", "mercoledi"),
    ("thursday", "thu", "giovedì", "giovedi"),
    ("friday", "fri", "venerdì", "venerdi"),
    ("saturday", "sat", "sabato"),
    ("sunday", "sun", "domenica"),
]


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (WEEKDAY_NAMES[0], date(2026, 11, 30)),  # Monday + "monday" = a week later
        (WEEKDAY_NAMES[1], date(2026, 11, 24)),
        (WEEKDAY_NAMES[2], date(2026, 11, 25)),
        (WEEKDAY_NAMES[3], date(2026, 11, 26)),
        (WEEKDAY_NAMES[4], date(2026, 11, 27)),
        (WEEKDAY_NAMES[5], date(2026, 11, 28)),
        (WEEKDAY_NAMES[6], date(2026, 11, 29)),
    ],
)
def test_weekdays_from_a_monday(names: tuple[str, ...], expected: date) -> None:
    for name in names:
        assert parse_date(name, MONDAY) == expected
        assert parse_date(name.upper(), MONDAY) == expected


def test_weekdays_from_a_sunday() -> None:
    assert parse_date("monday", NOW) == date(2026, 11, 23)
    assert parse_date("sabato", NOW) == date(2026, 11, 28)
    assert parse_date("domenica", NOW) == date(2026, 11, 29)
    assert parse_date("sun", NOW) == date(2026, 11, 29)


def test_weekday_accent_in_decomposed_form() -> None:
    assert parse_date("lune\u0064i\u0300", MONDAY) == date(2026, 11, 30)


# --- ISO 8601 --------------------------------------------------------------


def test_iso_date() -> None:
    assert parse_date("2026-03-16", NOW) == date(2026, 3, 16)
    assert_rome(parse_datetime("2026-03-16", NOW), rome(2026, 3, 16), utc(2026, 3, 15, 23))


@pytest.mark.parametrize(
    "text",
    ["2026-03-16T09:30", "2026-03-16 09:30", "2026-03-16t09:30", "2026-03-16T09:30:00"],
)
def test_iso_naive_datetime_is_rome_time(text: str) -> None:
    assert_rome(parse_datetime(text, NOW), rome(2026, 3, 16, 9, 30), utc(2026, 3, 16, 8, 30))
    assert parse_date(text, NOW) == date(2026, 3, 16)


def test_iso_seconds_are_kept() -> None:
    value = parse_datetime("2026-03-16T09:30:45", NOW)
    assert_rome(value, rome(2026, 3, 16, 9, 30, 45), utc(2026, 3, 16, 8, 30, 45))


@pytest.mark.parametrize(
    ("text", "wall", "instant"),
    [
        ("2026-03-16T09:30:00+01:00", rome(2026, 3, 16, 9, 30), utc(2026, 3, 16, 8, 30)),
        ("2026-03-16T09:30:00Z", rome(2026, 3, 16, 10, 30), utc(2026, 3, 16, 9, 30)),
        ("2026-03-16T09:30Z", rome(2026, 3, 16, 10, 30), utc(2026, 3, 16, 9, 30)),
        ("2026-03-16t09:30:00z", rome(2026, 3, 16, 10, 30), utc(2026, 3, 16, 9, 30)),
        ("2026-07-16T09:30:00Z", rome(2026, 7, 16, 11, 30), utc(2026, 7, 16, 9, 30)),
        ("2026-07-16T09:30:00-05:00", rome(2026, 7, 16, 16, 30), utc(2026, 7, 16, 14, 30)),
        ("2026-07-16T09:30:00+0530", rome(2026, 7, 16, 6, 0), utc(2026, 7, 16, 4, 0)),
        ("2026-03-16T09:30:00+00:00", rome(2026, 3, 16, 10, 30), utc(2026, 3, 16, 9, 30)),
    ],
)
def test_iso_with_offset_is_converted_to_rome(text: str, wall: datetime, instant: datetime) -> None:
    assert_rome(parse_datetime(text, NOW), wall, instant)


def test_iso_with_offset_gives_the_rome_date() -> None:
    assert parse_date("2026-03-16T23:30:00Z", NOW) == date(2026, 3, 17)


def test_storage_form_round_trips() -> None:
    instant = utc(2026, 5, 4, 7, 8, 9)
    assert parse_datetime(iso_utc(instant), NOW) == instant


# --- Italian ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("16/03/2026", date(2026, 3, 16)),
        ("16/3/2026", date(2026, 3, 16)),
        ("1/1/2026", date(2026, 1, 1)),
        ("01/01/2026", date(2026, 1, 1)),
        ("31/12/2026", date(2026, 12, 31)),
        ("29/02/2028", date(2028, 2, 29)),
        (" 16/03/2026 ", date(2026, 3, 16)),
    ],
)
def test_italian_dates(text: str, expected: date) -> None:
    assert parse_date(text, NOW) == expected


@pytest.mark.parametrize("text", ["16/03/2026 09:30", "16/3/2026 9:30", "16/03/2026  09:30"])
def test_italian_datetime(text: str) -> None:
    assert_rome(parse_datetime(text, NOW), rome(2026, 3, 16, 9, 30), utc(2026, 3, 16, 8, 30))


@pytest.mark.parametrize(
    "text",
    [
        "31/02/2026",
        "29/02/2026",
        "30/02/2028",
        "31/04/2026",
        "32/01/2026",
        "00/01/2026",
        "15/13/2026",
        "15/00/2026",
        "01/01/0000",
        "2026-02-31",
        "2026-13-01",
        "2026-00-10",
    ],
)
def test_no_such_date(text: str) -> None:
    with pytest.raises(InvalidData) as caught:
        parse_date(text, NOW, field="--deadline")
    assert str(caught.value) == f"--deadline: no such date: {text!r}. Check the day and month."


@pytest.mark.parametrize(
    "text",
    [
        "2026-03-16T24:00",
        "2026-03-16 09:60",
        "2026-03-16T09:30:61",
        "16/03/2026 25:00",
        "2026-03-16T09:30+24:00",
        "2026-03-16T09:30+01:60",
    ],
)
def test_no_such_time(text: str) -> None:
    with pytest.raises(InvalidData) as caught:
        parse_datetime(text, NOW, field="--due")
    assert str(caught.value).startswith(f"--due: no such time: {text!r}.")


# --- errors ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "someday",
        "next week",
        "3d",
        "+3",
        "+3x",
        "+d",
        "+1.5d",
        "2026/03/16",
        "16/03/26",
        "2026-3-16",
        "20260316",
        "2026-03-16T",
        "2026-03-16T9:30",
        "2026-03-16+01:00",
        "16/03/2026T09:30",
        "som",
        "sow",
        "lu",
        "mondays",
        "today!",
        "\u0662\u0660\u0662\u0666-01-01",  # Arabic-Indic digits are not read as a year
    ],
)
def test_unreadable_dates(text: str) -> None:
    with pytest.raises(InvalidData) as caught:
        parse_datetime(text, NOW, field="--deadline")
    assert str(caught.value) == (
        f"--deadline: cannot read {text!r} as a date. "
        "Use YYYY-MM-DD, dd/mm/yyyy, today, tomorrow, +3d, eom, or a weekday."
    )
    assert caught.value.field == "--deadline"
    assert caught.value.exit_code == 6


def test_default_field_name() -> None:
    with pytest.raises(InvalidData, match=r"^date: cannot read 'x' as a date\."):
        parse_date("x", NOW)


@pytest.mark.parametrize(
    "text", ["+99999999y", "-99999999d", "+" + "9" * 40 + "w", "+" + "9" * 5000 + "d"]
)
def test_offsets_out_of_range(text: str) -> None:
    with pytest.raises(InvalidData, match=r"^--deadline: .* is out of range\."):
        parse_date(text, NOW, field="--deadline")


def test_instants_outside_the_calendar() -> None:
    assert parse_date("0001-01-01", NOW) == date(1, 1, 1)
    assert parse_date("9999-12-31", NOW) == date(9999, 12, 31)
    for text in ("0001-01-01", "9999-12-31T23:30-05:00", "01/01/0001 00:10"):
        with pytest.raises(InvalidData, match="is out of range"):
            parse_datetime(text, NOW)


def test_day_start_is_the_first_instant_in_rome_or_out_of_range() -> None:
    assert day_start(date(2026, 3, 29), field="--from") == datetime(2026, 3, 29, tzinfo=ROME)
    assert iso_utc(day_start(date(2026, 10, 25), field="--to", days_later=1)) == (
        "2026-10-25T23:00:00+00:00"  # after the autumn change: +01:00 again
    )
    assert day_start(date(9999, 12, 30), field="--to", days_later=1).date() == date(9999, 12, 31)
    for day, later in ((date(1, 1, 1), 0), (date(9999, 12, 31), 1)):
        with pytest.raises(InvalidData, match=r"^--to: .* is out of range\."):
            day_start(day, field="--to", days_later=later)


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_date("today", datetime(2026, 11, 22, 10, 0))


# --- DST and midnight --------------------------------------------------------


def test_spring_forward_gap_resolves_to_a_real_instant() -> None:
    # 02:00-03:00 does not exist in Rome on 29 Mar 2026; 02:30 is read at +01:00.
    value = parse_datetime("2026-03-29 02:30", NOW)
    assert_rome(value, rome(2026, 3, 29, 3, 30), utc(2026, 3, 29, 1, 30))
    assert value.utcoffset() == timedelta(hours=2)
    assert value == parse_datetime("29/03/2026 02:30", NOW)
    gap_default = parse_datetime("2026-03-29", NOW, default_time=time(2, 30))
    assert gap_default == value


def test_spring_forward_day() -> None:
    midnight = parse_datetime("2026-03-29", NOW)
    assert_rome(midnight, rome(2026, 3, 29), utc(2026, 3, 28, 23))
    assert midnight.utcoffset() == timedelta(hours=1)
    after = parse_datetime("2026-03-29 03:30", NOW)
    assert_rome(after, rome(2026, 3, 29, 3, 30), utc(2026, 3, 29, 1, 30))
    tomorrow = parse_datetime("tomorrow", utc(2026, 3, 28, 12))
    assert tomorrow == midnight


def test_fall_back_day() -> None:
    midnight = parse_datetime("2026-10-25", NOW)
    assert_rome(midnight, rome(2026, 10, 25), utc(2026, 10, 24, 22))
    # 02:30 happens twice on 25 Oct 2026; the first one (still +02:00) is chosen.
    ambiguous = parse_datetime("2026-10-25 02:30", NOW)
    assert_rome(ambiguous, rome(2026, 10, 25, 2, 30), utc(2026, 10, 25, 0, 30))
    assert ambiguous.utcoffset() == timedelta(hours=2)
    later = parse_datetime("2026-10-25 03:30", NOW)
    assert_rome(later, rome(2026, 10, 25, 3, 30), utc(2026, 10, 25, 2, 30))
    assert parse_datetime("2026-10-25T01:30:00Z", NOW).utcoffset() == timedelta(hours=1)


def test_now_just_before_utc_midnight_is_already_tomorrow_in_rome() -> None:
    now = utc(2026, 12, 31, 23, 30)
    assert parse_date("today", now) == date(2027, 1, 1)
    assert parse_date("yesterday", now) == date(2026, 12, 31)
    assert parse_date("eoy", now) == date(2027, 12, 31)
    assert parse_date("eoq", now) == date(2027, 3, 31)
    assert parse_date("+1m", now) == date(2027, 2, 1)
    assert parse_date("friday", now) == date(2027, 1, 8)  # 1 Jan 2027 is a Friday
    assert_rome(parse_datetime("today", now), rome(2027, 1, 1), utc(2026, 12, 31, 23))
    assert_rome(parse_datetime("now", now), rome(2027, 1, 1, 0, 30), now)


def test_summer_midnight_boundary() -> None:
    now = utc(2026, 6, 30, 22, 30)  # 00:30 on 1 July in Rome
    assert parse_date("today", now) == date(2026, 7, 1)
    assert parse_date("eom", now) == date(2026, 7, 31)
    assert parse_date("eoq", now) == date(2026, 9, 30)


def test_works_with_a_fixed_clock() -> None:
    clock = FixedClock(datetime(2026, 11, 22, 11, 0, tzinfo=ROME))
    assert parse_date("tomorrow", clock.now()) == date(2026, 11, 23)


# --- durations ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1h 30m", timedelta(hours=1, minutes=30)),
        ("90m", timedelta(minutes=90)),
        ("1.5h", timedelta(minutes=90)),
        ("1,5h", timedelta(minutes=90)),
        ("0.25h", timedelta(minutes=15)),
        ("01:30", timedelta(hours=1, minutes=30)),
        ("1:30", timedelta(hours=1, minutes=30)),
        ("0:45", timedelta(minutes=45)),
        ("10:05", timedelta(hours=10, minutes=5)),
        ("2h", timedelta(hours=2)),
        ("45m", timedelta(minutes=45)),
        ("0h5m", timedelta(minutes=5)),
        (" 1H30M ", timedelta(hours=1, minutes=30)),
        ("1.0001h", timedelta(hours=1)),  # rounded to the second
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "  ",
        "1d",
        "2 days",
        "1h30",
        "30",
        "h",
        "m",
        "-",
        ":30",
        "1:75",
        "1.5m",
        "1.h",
        "abc",
        "1m30h",
        "1h-30m",
    ],
)
def test_unreadable_durations(text: str) -> None:
    with pytest.raises(InvalidData) as caught:
        parse_duration(text, field="--spent")
    assert str(caught.value) == (
        f"--spent: cannot read {text!r} as a duration. Use 1h30m, 90m, 1.5h, 01:30."
    )


@pytest.mark.parametrize("text", ["0h", "0m", "0h0m", "00:00", "0.0001h", "-1h", "-30m", "-01:30"])
def test_durations_must_be_positive(text: str) -> None:
    with pytest.raises(InvalidData) as caught:
        parse_duration(text, field="--spent")
    assert str(caught.value).startswith(f"--spent: {text!r} must be more than zero.")


def test_duration_default_field_and_huge_values() -> None:
    with pytest.raises(InvalidData, match=r"^duration: cannot read"):
        parse_duration("soon")
    for text in ("9" * 20 + "h", "9" * 5000 + "m", "9" * 400 + ".5h"):
        with pytest.raises(InvalidData, match="is too long"):
            parse_duration(text)


# --- properties --------------------------------------------------------------


@given(st.dates())
def test_property_iso_and_italian_round_trip(d: date) -> None:
    assert parse_date(d.isoformat(), NOW) == d
    assert parse_date(f"{d.day:02d}/{d.month:02d}/{d.year:04d}", NOW) == d
    assert parse_date(f"{d.day}/{d.month}/{d.year:04d}", NOW) == d


@given(st.integers(min_value=-3650, max_value=3650))
def test_property_day_offsets(n: int) -> None:
    assert parse_date(f"{n:+d}d", NOW) == date(2026, 11, 22) + timedelta(days=n)


def _junk() -> st.SearchStrategy[str]:
    shaped = st.one_of(
        st.from_regex(r"[+-]?[0-9]{1,30}[dwmyh]?", fullmatch=True),
        st.from_regex(
            r"[0-9]{1,5}-[0-9]{1,3}-[0-9]{1,3}([tT ][0-9]{1,3}:[0-9]{1,3}(:[0-9]{2})?)?",
            fullmatch=True,
        ),
        st.from_regex(r"[0-9]{1,3}/[0-9]{1,3}/[0-9]{1,5}( [0-9]{1,3}:[0-9]{1,3})?", fullmatch=True),
        st.from_regex(
            r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}([zZ]|[+-][0-9]{2}:?[0-9]{2})",
            fullmatch=True,
        ),
        st.from_regex(r"-?[0-9]{0,6}([.,][0-9]{0,3})?h? ?[0-9]{0,6}m?", fullmatch=True),
        st.from_regex(r"-?[0-9]{0,4}:[0-9]{0,3}", fullmatch=True),
    )
    return st.one_of(st.text(), shaped)


@given(
    _junk(),
    st.datetimes(datetime(1900, 1, 1), datetime(2200, 1, 1), timezones=st.just(UTC)),
)
def test_property_only_invalid_data_escapes(text: str, now: datetime) -> None:
    for parse in (parse_date, parse_datetime):
        try:
            value = parse(text, now, field="--when")
        except InvalidData as exc:
            assert str(exc).startswith("--when: ")
        else:
            assert isinstance(value, date)
            if isinstance(value, datetime):
                assert value.tzinfo is ROME
    try:
        duration = parse_duration(text, field="--spent")
    except InvalidData as exc:
        assert str(exc).startswith("--spent: ")
    else:
        assert duration > timedelta(0)


@given(st.integers(min_value=0, max_value=999), st.integers(min_value=0, max_value=59))
def test_property_duration_round_trip(h: int, m: int) -> None:
    expected = timedelta(hours=h, minutes=m)
    if expected == timedelta(0):
        with pytest.raises(InvalidData):
            parse_duration(f"{h}h{m}m")
        return
    assert parse_duration(f"{h}h{m}m") == expected
    assert parse_duration(f"{h:02d}:{m:02d}") == expected


def test_italian_weekday_abbreviations() -> None:
    """As an Italian office writes them on a calendar: lun, mar, mer, gio, ven, sab, dom."""
    for offset, word in enumerate(["lun", "mar", "mer", "gio", "ven", "sab", "dom"]):
        assert parse_date(word, NOW).weekday() == offset


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today 09:00", datetime(2026, 11, 22, 9, 0, tzinfo=ROME)),
        ("domani alle 14.30", datetime(2026, 11, 23, 14, 30, tzinfo=ROME)),
        ("+2d 18:00", datetime(2026, 11, 24, 18, 0, tzinfo=ROME)),
        ("venerdì ore 8:15", datetime(2026, 11, 27, 8, 15, tzinfo=ROME)),
    ],
)
def test_a_date_word_with_a_time(text: str, expected: datetime) -> None:
    """How people type a moment: a day in words, then the time."""
    assert parse_datetime(text, NOW) == expected


@pytest.mark.parametrize("text", ["today 25:00", "today 9:61", "now 10:00", "someday 10:00"])
def test_a_date_word_with_a_bad_time(text: str) -> None:
    with pytest.raises(InvalidData):
        parse_datetime(text, NOW, field="--from")


# --- the Italian words an office types (issue: "Italian date words") ---------

# Monday 7 December 2026, 10:00 in Rome.
DEC_MONDAY = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("fine mese", date(2026, 12, 31)),
        ("fine del mese", date(2026, 12, 31)),
        ("Fine  Trimestre", date(2026, 12, 31)),
        ("fine anno", date(2026, 12, 31)),
        ("dopodomani", date(2026, 12, 9)),
        ("tra 3 giorni", date(2026, 12, 10)),
        ("fra 1 giorno", date(2026, 12, 8)),
        ("tra una settimana", date(2026, 12, 14)),
        ("tra 2 mesi", date(2027, 2, 7)),
        ("tra un anno", date(2027, 12, 7)),
        ("in 3 days", date(2026, 12, 10)),
        ("lunedì prossimo", date(2026, 12, 14)),
        ("prossimo venerdì", date(2026, 12, 11)),
        ("venerdi prossimo", date(2026, 12, 11)),
        ("next friday", date(2026, 12, 11)),
        ("16/01", date(2027, 1, 16)),  # the next 16 January
        ("07/12", date(2026, 12, 7)),  # today counts
        ("06/12", date(2027, 12, 6)),  # yesterday's day: next year
        ("29/02", date(2028, 2, 29)),  # the next leap day
        ("16.01.2027", date(2027, 1, 16)),
        ("16.01", date(2027, 1, 16)),
        ("16-01-2027", date(2027, 1, 16)),
    ],
)
def test_italian_date_words(typed: str, expected: date) -> None:
    assert parse_date(typed, DEC_MONDAY) == expected


def test_italian_short_date_takes_a_time() -> None:
    assert_rome(
        parse_datetime("16/01 09:30", DEC_MONDAY), rome(2027, 1, 16, 9, 30), utc(2027, 1, 16, 8, 30)
    )


@pytest.mark.parametrize(
    "typed", ["31/04", "16/01.2027", "tra tre giorni", "tra 3 lune", "prossimo mese", "32.01"]
)
def test_italian_date_words_refused(typed: str) -> None:
    with pytest.raises(InvalidData) as caught:
        parse_date(typed, DEC_MONDAY, field="--deadline")
    assert caught.value.field == "--deadline"


@given(st.dates(min_value=date(2001, 1, 1), max_value=date(2099, 12, 31)))
def test_day_month_is_the_next_such_day(day: date) -> None:
    now = datetime.combine(day, time(12), tzinfo=ROME)
    for target in (
        day,
        day + timedelta(days=1),
        day - timedelta(days=1),
        day + timedelta(days=200),
    ):
        if (target.month, target.day) == (2, 29):
            continue
        got = parse_date(f"{target.day:02d}/{target.month:02d}", now)
        assert (got.month, got.day) == (target.month, target.day)
        assert (
            day <= got < day.replace(year=day.year + 1) if (day.month, day.day) != (2, 29) else True
        )


@given(st.dates(min_value=date(1000, 1, 1), max_value=date(9999, 12, 31)))
def test_dotted_and_dashed_dates_equal_slashed(day: date) -> None:
    slashed = parse_date(f"{day.day}/{day.month}/{day.year:04d}", NOW)
    assert parse_date(f"{day.day}.{day.month}.{day.year:04d}", NOW) == slashed == day
    assert parse_date(f"{day.day:02d}-{day.month:02d}-{day.year:04d}", NOW) == slashed


@pytest.mark.parametrize("typed", ["99999999h", "10000h", "600000m", "9999:01"])
def test_a_duration_past_9999_hours_is_refused_by_name(typed: str) -> None:
    with pytest.raises(InvalidData, match="longer than 9999 hours") as caught:
        parse_duration(typed, field="--duration")
    assert caught.value.field == "--duration"
    assert parse_duration("9999h") == timedelta(hours=9999)
