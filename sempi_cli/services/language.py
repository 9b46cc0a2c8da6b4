"""Which language a person reads: their own choice, else the firm's default.

Light (the fast path asks it before the CLI framework is loaded) and read-only;
the environment's part (SEMPI_LANG, the locale) is i18n's. The column is
written by identity/accounts.py with the rest of a user's account.
"""

from __future__ import annotations

import sqlite3

from sempi_cli.services import settings_read


def preferred(db: sqlite3.Connection, user_id: int | None) -> str:
    """The user's language (``user edit --language``), else the firm's
    (``config set ui.language``, Italian unless changed)."""
    if user_id is not None:
        row = db.execute("SELECT language FROM users WHERE id = ?", (user_id,)).fetchone()
        if row is not None and row[0]:
            return str(row[0])
    return settings_read.get(db, "ui.language")
