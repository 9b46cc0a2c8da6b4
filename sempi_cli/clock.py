"""Time comes from a Clock so that every rule can be tested at any instant.

Nothing else in sempi calls ``datetime.now()``. Instants are aware UTC
datetimes; the business time zone (Europe/Rome) is applied where a person
reads or types a date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

ROME = ZoneInfo("Europe/Rome")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until told to move (tests, replays)."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def advance(self, delta: timedelta) -> None:
        self._at += delta

    def set(self, at: datetime) -> None:
        self._at = at.astimezone(UTC)


def today_in_rome(clock: Clock) -> date:
    """The business date: what day it is in the firm's office."""
    return clock.now().astimezone(ROME).date()


def iso_utc(at: datetime) -> str:
    """The storage form of an instant: ISO 8601, UTC, seconds precision."""
    return at.astimezone(UTC).isoformat(timespec="seconds")
