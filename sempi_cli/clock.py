"""Time comes from a Clock so that every rule can be tested at any instant.

Nothing else in sempi calls ``datetime.now()``. Instants are aware UTC
datetimes; the business time zone (Europe/Rome) is applied where a person
reads or types a date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

# The fast path (cli/fastpath.py) reads this module before typer is imported, and
# `typing` and `zoneinfo` would cost it more than the rest of a `timer start`: the
# protocol and ROME are made on first use (PEP 562), which is the same to callers.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol
    from zoneinfo import ZoneInfo

    ROME: ZoneInfo

    class Clock(Protocol):
        def now(self) -> datetime:
            """The current instant, aware, in UTC."""
            ...

else:

    def __getattr__(name: str) -> object:
        if name == "ROME":
            value: object = _rome()
        elif name == "Clock":
            from typing import Protocol

            class Clock(Protocol):
                def now(self) -> datetime:
                    """The current instant, aware, in UTC."""
                    ...

            Clock.__qualname__ = "Clock"
            value = Clock
        else:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        globals()[name] = value
        return value


def _rome() -> ZoneInfo:
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Rome")  # cached by zoneinfo: always the same object


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
    return clock.now().astimezone(_rome()).date()


def iso_utc(at: datetime) -> str:
    """The storage form of an instant: ISO 8601, UTC, seconds precision."""
    return at.astimezone(UTC).isoformat(timespec="seconds")
