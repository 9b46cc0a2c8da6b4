"""What every .ics file sempi writes shares (RFC 5545): the store's own name in the
UIDs, so two stores' events never collide and one store's never change; and a
SEQUENCE that grows with each change, so a calendar app that imports the file
again updates its events instead of adding copies. The fiscal calendar
(scheduler/ics.py) and tasks (tasks/ics.py) each build their own events on it.
"""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, datetime
from typing import Any

# SEQUENCE counts minutes from this instant to the event's last change: it grows
# whenever the thing behind the event changes, which is what a calendar app needs
# to accept the new version, and stays within 32 bits (some apps store it so) for
# four thousand years.
_SEQUENCE_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


def store_identity(db: sqlite3.Connection) -> str:
    """A name for this store that never changes: the firm row's id and creation
    instant, hashed (the firm's name may change; these do not)."""
    row = db.execute("SELECT id, created_at FROM firm").fetchone()
    seed = f"{row['id']}|{row['created_at']}" if row else "no-firm"
    return hashlib.sha256(seed.encode()).hexdigest()[:16]


def sequence(changed: datetime) -> int:
    return max(0, int((changed.astimezone(UTC) - _SEQUENCE_EPOCH).total_seconds() // 60))


def new_calendar(db: sqlite3.Connection, title: str, product: str) -> Any:
    """An empty calendar named "``title`` — <the firm>" (an icalendar Calendar)."""
    from icalendar import Calendar

    firm_row = db.execute("SELECT name FROM firm").fetchone()
    firm = firm_row["name"] if firm_row else "sempi"
    cal = Calendar()
    cal.add("prodid", f"-//sempi//{product}//IT")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"{title} — {firm}")
    cal.add("x-wr-timezone", "Europe/Rome")
    return cal
