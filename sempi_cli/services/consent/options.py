"""The practice's option: "access my clients' SMART services with my
credentials", and whether the practice's operators get the same privileges
(SPEC §6; table ``smart_options``, one row per practice; no row = off)."""

from __future__ import annotations

import sqlite3


def option_of(db: sqlite3.Connection, studio_id: int | None) -> dict[str, bool]:
    """The practice's option as {"enabled": bool, "operators": bool}: read on every
    access check, so switching it off stops access at the next command. A practice
    with no row (never set), or no practice at all, has it off."""
    if studio_id is None:
        return {"enabled": False, "operators": False}
    row = db.execute(
        "SELECT enabled, operators FROM smart_options WHERE studio_id = ?", (studio_id,)
    ).fetchone()
    if row is None:
        return {"enabled": False, "operators": False}
    return {"enabled": bool(row[0]), "operators": bool(row[1])}
