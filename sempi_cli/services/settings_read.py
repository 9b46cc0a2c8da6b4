"""Reading a firm setting: its stored value, or its default.

The read half of settings.py for the keys a login session is checked with, and
the automation's that every writing command looks at, in a module light enough for the fast
path (cli/fastpath.py), which checks sessions before the CLI framework is loaded. settings.py holds every key, its help and
its validation (`sempi config`); a test keeps these defaults equal to its own.
"""

from __future__ import annotations

import sqlite3

DEFAULTS = {
    "automation.hooks_dir": "",
    "automation.run_after_command": "no",
    "auth.require_otp": "none",
    "auth.session_idle_hours": "8",
    "ui.language": "it",
}


def get(db: sqlite3.Connection, key: str) -> str:
    row = db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return row[0] if row else DEFAULTS[key]


def otp_required(db: sqlite3.Connection, role: str) -> bool:
    rule = get(db, "auth.require_otp")
    return rule == "all" or role in rule.split(",")
