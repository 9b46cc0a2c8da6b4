"""A login session's token turned into its user: the checks every command makes
(the session ended, expired, or idle too long) and the touch that keeps it alive.

In a module light enough for the fast path (cli/fastpath.py), which checks the
session before the CLI framework is loaded; AuthService.actor_for_token is this
plus the Actor. Tokens are 256 random bits, so a fast hash (SHA-256) stores them.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from sempi_cli.clock import iso_utc
from sempi_cli.errors import NotAuthenticated
from sempi_cli.i18n import gettext as _
from sempi_cli.services.settings_read import get, otp_required

try:  # the builtin module hashlib wraps: hashlib loads OpenSSL, ~3 ms of a prompt
    from _sha256 import sha256  # type: ignore[import-not-found]
except ImportError:  # another interpreter or version: the same digest
    from hashlib import sha256

TOUCH_EVERY = timedelta(minutes=1)
ACTOR_COLUMNS = "u.id, u.email, u.full_name, u.role, u.studio_id, u.client_id, u.otp_enabled_at"


def not_logged_in() -> NotAuthenticated:
    """No session file (and no application password): what every command says."""
    return NotAuthenticated(_("you are not logged in"), _("run 'sempi login'"))


def token_hash(token: str) -> str:
    return sha256(token.encode()).hexdigest()


def session_user(
    db: sqlite3.Connection, token: str, now: datetime, *, touch: bool = True
) -> sqlite3.Row:
    """The session's user (ACTOR_COLUMNS), if the session is alive; with ``touch``
    its idle timer starts again (at most once a minute)."""
    row = db.execute(
        f"SELECT {ACTOR_COLUMNS}, u.disabled_at, s.id AS session_id, s.last_seen_at,"
        " s.expires_at, s.revoked_at FROM sessions s JOIN users u ON u.id = s.user_id"
        " WHERE s.token_hash = ?",
        (token_hash(token),),
    ).fetchone()
    if row is None or row["revoked_at"] is not None or row["disabled_at"] is not None:
        raise NotAuthenticated(_("your session has ended"), _("run 'sempi login'"))
    last_seen = datetime.fromisoformat(row["last_seen_at"])
    idle = timedelta(hours=int(get(db, "auth.session_idle_hours")))
    if now >= datetime.fromisoformat(row["expires_at"]) or now - last_seen >= idle:
        raise NotAuthenticated(_("your session has expired"), _("run 'sempi login'"))
    if touch and now - last_seen >= TOUCH_EVERY:
        # A single autocommit UPDATE: atomic on its own, and at most once a minute.
        db.execute(
            "UPDATE sessions SET last_seen_at = ? WHERE id = ?",
            (iso_utc(now), row["session_id"]),
        )
    return row


def must_enrol(db: sqlite3.Connection, user: sqlite3.Row) -> bool:
    """Two-step login is required of the user's role and not yet set up."""
    return user["otp_enabled_at"] is None and otp_required(db, user["role"])
