"""Logging in and out, and turning a session token into the actor of a command.

Only the SHA-256 of a session token is stored: the token is 256 random bits,
so a fast hash is enough, and the check on every command stays cheap.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sempi_cli.errors import NotAuthenticated
from sempi_cli.services import passwords
from sempi_cli.services.access import Actor
from sempi_cli.services.base import Service

SESSION_IDLE = timedelta(hours=8)
SESSION_ABSOLUTE = timedelta(days=7)
TOUCH_EVERY = timedelta(minutes=1)
LOGIN_FAILED = "login failed: unknown e-mail, wrong password or disabled account"

_ACTOR_COLUMNS = "u.id, u.email, u.full_name, u.role, u.studio_id, u.client_id"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def actor_from_row(row) -> Actor:  # noqa: ANN001 - a sqlite3.Row with the actor columns
    return Actor(
        row["id"], row["email"], row["full_name"], row["role"], row["studio_id"], row["client_id"]
    )


class AuthService(Service):
    def login(self, email: str, password: str) -> tuple[str, Actor]:
        """A new session for valid credentials; one uniform failure otherwise."""
        row = self.db.execute(
            f"SELECT {_ACTOR_COLUMNS}, u.password_hash, u.disabled_at FROM users u WHERE u.email = ?",
            (email.strip().lower(),),
        ).fetchone()
        stored = row["password_hash"] if row is not None else None
        ok = passwords.verify(stored, password)
        if not ok or row is None or row["disabled_at"] is not None:
            with self.transaction():
                self.audit("login_failed", "user", row["id"] if row else None)
            raise NotAuthenticated(LOGIN_FAILED)
        actor = actor_from_row(row)
        token = secrets.token_urlsafe(32)
        now = self.clock.now()
        with self.transaction():
            self.db.execute(
                "INSERT INTO sessions (user_id, token_hash, created_at, last_seen_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (actor.id, token_hash(token), self.now(), self.now(), _iso(now + SESSION_ABSOLUTE)),
            )
            self._actor = actor
            self.audit("login", "user", actor.id)
        return token, actor

    def actor_for_token(self, token: str) -> Actor:
        """The session's user, if the session is alive; refreshes its idle timer."""
        row = self.db.execute(
            f"SELECT {_ACTOR_COLUMNS}, u.disabled_at, s.id AS session_id, s.last_seen_at,"
            " s.expires_at, s.revoked_at FROM sessions s JOIN users u ON u.id = s.user_id"
            " WHERE s.token_hash = ?",
            (token_hash(token),),
        ).fetchone()
        if row is None or row["revoked_at"] is not None or row["disabled_at"] is not None:
            raise NotAuthenticated("your session has ended", "run 'sempi login'")
        now = self.clock.now()
        last_seen = datetime.fromisoformat(row["last_seen_at"])
        if now >= datetime.fromisoformat(row["expires_at"]) or now - last_seen >= SESSION_IDLE:
            raise NotAuthenticated("your session has expired", "run 'sempi login'")
        if now - last_seen >= TOUCH_EVERY:
            # A single autocommit UPDATE: atomic on its own, and rare.
            self.db.execute(
                "UPDATE sessions SET last_seen_at = ? WHERE id = ?", (self.now(), row["session_id"])
            )
        return actor_from_row(row)

    def logout(self, token: str) -> bool:
        """End the session in the store; True if there was one to end."""
        with self.transaction():
            cursor = self.db.execute(
                "UPDATE sessions SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL",
                (self.now(), token_hash(token)),
            )
            if cursor.rowcount and self._actor is not None:
                self.audit("logout", "user", self._actor.id)
        return bool(cursor.rowcount)

    def actor_for_app_password(self, email: str, app_password: str) -> Actor:
        """Scripts and cron authenticate with SEMPI_USER + SEMPI_APP_PASSWORD."""
        raise NotAuthenticated(
            "application passwords are not available in this version of sempi",
            "unset SEMPI_APP_PASSWORD and use 'sempi login'",
        )


def _iso(at: datetime) -> str:
    from sempi_cli.clock import iso_utc

    return iso_utc(at)
