"""Authentication: passwords with a second step, sessions, application passwords,
throttling, and step-up (asking for the password again before a sensitive act).

Session tokens and application passwords are 256/192 random bits, so a fast
hash (SHA-256) is enough to store them; passwords are argon2id. Failed
attempts are counted per account in the store, so a lock holds across
processes; unknown user, wrong password and locked account fail alike.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sempi_cli.clock import iso_utc
from sempi_cli.errors import NotAuthenticated, NotFound, PermissionDenied
from sempi_cli.i18n import N_
from sempi_cli.i18n import gettext as _
from sempi_cli.services import settings
from sempi_cli.services.access import Actor
from sempi_cli.services.base import Service
from sempi_cli.services.identity import passwords, totp
from sempi_cli.services.identity.accounts import actor_from_row as actor_from_row
from sempi_cli.services.identity.accounts import session_actor
from sempi_cli.services.identity.sessions import token_hash
from sempi_cli.store.sql import in_marks

# Guessing is slowed, not stopped dead: after a few failures each further try waits
# twice as long as the last (1 s, 2 s, 4 s ... at most a minute), so a typo costs
# nothing and a colleague's wrong guesses cannot keep someone out for long. An
# account is locked only for what is plainly brute force, and a firm administrator
# lifts a lock at once (`sempi user unlock`). Scripts' application passwords are
# counted apart: a cron job with a stale secret never slows its owner's login.
THROTTLE_FREE = 3  # failures within the window before any wait
THROTTLE_MAX = timedelta(minutes=1)
THROTTLE_WINDOW = timedelta(minutes=15)
INTERACTIVE = ("password", "code", "recovery")
SCRIPTS = ("app_password",)
LOCK_AFTER = 50
LOCK_WINDOW = timedelta(hours=1)
LOCK_FOR = timedelta(minutes=15)
STEP_UP_VALID = timedelta(minutes=5)
LOGIN_FAILED = N_(
    "login failed: unknown e-mail, wrong password, or account disabled or locked;"
    " after several failures wait a minute before trying again"
)
CODE_FAILED = N_("wrong, expired or already used code")


@dataclass(frozen=True)
class Reauthentication:
    """Proof that the actor typed their password (and code) again just now."""

    user_id: int
    at: datetime


Confirm = Callable[[], Reauthentication]


def require_reauthentication(
    actor: Actor, confirm: Confirm | None, now: datetime, what: str
) -> None:
    """Sensitive acts need a fresh proof of identity, and never run on an application
    password. Services call this after their permission checks, so nobody is asked
    for a password only to be refused. ``what`` is marked N_ by the caller (an
    infinitive: "change a role") and translated here."""
    if actor.via == "app_password":
        raise PermissionDenied(
            _("an application password cannot {what}").format(what=_(what)),
            _("log in with your password"),
        )
    proof = confirm() if confirm is not None else None
    if proof is None or proof.user_id != actor.id or now - proof.at > STEP_UP_VALID:
        raise PermissionDenied(
            _("to {what} you must confirm your password (and code) again").format(what=_(what))
        )


def revoke_credentials(db: sqlite3.Connection, user_id: int, at: str) -> dict[str, int]:
    """End every session and application password of a user (password change,
    two-step reset, disabling). The caller holds the transaction."""
    sessions = db.execute(
        "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL", (at, user_id)
    ).rowcount
    apps = db.execute(
        "UPDATE app_passwords SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
        (at, user_id),
    ).rowcount
    return {"sessions_revoked": sessions, "app_passwords_revoked": apps}


class AuthService(Service):
    allows_unenrolled = True

    # --- failures and locks -------------------------------------------------

    def _locked(self, user: sqlite3.Row) -> bool:
        until = user["locked_until"]
        return until is not None and self.clock.now() < datetime.fromisoformat(until)

    def throttled(self, user_id: int, kinds: tuple[str, ...]) -> bool:
        """Whether the last failures of these kinds still ask this try to wait."""
        now = self.clock.now()
        marks = in_marks(kinds)
        count, last = self.db.execute(
            f"SELECT count(*), max(at) FROM auth_failures WHERE user_id = ? AND kind IN ({marks})"
            " AND at > ?",
            (user_id, *kinds, iso_utc(now - THROTTLE_WINDOW)),
        ).fetchone()
        if count < THROTTLE_FREE:
            return False
        wait = min(timedelta(seconds=2 ** (count - THROTTLE_FREE)), THROTTLE_MAX)
        return now < datetime.fromisoformat(last) + wait

    def unlock(self, user_ref: str) -> dict:
        """Lift a lock and forget the failures behind it (firm administrators): someone
        locked out by another's guesses gets back in at once."""
        from sempi_cli.services.access import require_firm_admin
        from sempi_cli.services.identity.accounts import find_user

        require_firm_admin(self.actor, N_("unlock a user"))
        user = find_user(self.db, self.actor, user_ref)
        with self.transaction():
            failures = self.db.execute(
                "DELETE FROM auth_failures WHERE user_id = ?", (user["id"],)
            ).rowcount
            self.db.execute("UPDATE users SET locked_until = NULL WHERE id = ?", (user["id"],))
            self.audit("unlock", "user", user["id"], failures=failures)
        return {"user": user["email"], "was_locked": self._locked(user), "failures": failures}

    def record_failure(self, user_id: int, kind: str) -> None:
        """Count a failure in its own transaction (it must outlive the failed command)."""
        now = self.clock.now()
        with self.transaction():
            self.db.execute(
                "INSERT INTO auth_failures (user_id, at, kind) VALUES (?, ?, ?)",
                (user_id, iso_utc(now), kind),
            )
            self.audit("auth_failed", "user", user_id, kind=kind)
            recent = self.db.execute(
                "SELECT count(*) FROM auth_failures WHERE user_id = ? AND at > ?",
                (user_id, iso_utc(now - LOCK_WINDOW)),
            ).fetchone()[0]
            if recent >= LOCK_AFTER:
                locked = self.db.execute(
                    "UPDATE users SET locked_until = ? WHERE id = ? AND (locked_until IS NULL OR locked_until <= ?)",
                    (iso_utc(now + LOCK_FOR), user_id, iso_utc(now)),
                ).rowcount
                if locked:
                    self.audit(
                        "lock",
                        "user",
                        user_id,
                        failures=recent,
                        minutes=int(LOCK_FOR.total_seconds() // 60),
                    )

    # --- passwords and second step -----------------------------------------

    def _check_password(self, email: str, password: str) -> sqlite3.Row:
        """The user, if the password is right and the account usable; one failure otherwise."""
        user = self.db.execute(
            "SELECT * FROM users WHERE email = ?", (email.strip().lower(),)
        ).fetchone()
        ok = passwords.verify(
            user["password_hash"] if user else None, password
        )  # same cost for all
        if user is None:
            raise NotAuthenticated(_(LOGIN_FAILED))
        if self._locked(user) or user["disabled_at"] is not None:
            raise NotAuthenticated(_(LOGIN_FAILED))
        if self.throttled(user["id"], INTERACTIVE):  # too soon: not even counted
            raise NotAuthenticated(_(LOGIN_FAILED))
        if not ok:
            self.record_failure(user["id"], "password")
            raise NotAuthenticated(_(LOGIN_FAILED))
        return user

    def _check_second_step(self, user: sqlite3.Row, typed: str) -> None:
        """A TOTP code for a step later than the last one used, or an unused recovery code.

        Check and record happen in one BEGIN IMMEDIATE transaction, so two
        processes presenting the same code cannot both succeed."""
        from sempi_cli.services.identity import recovery

        code = totp.normalise_code(typed)
        kind = "code" if code else "recovery"
        if self.throttled(user["id"], INTERACTIVE):
            raise NotAuthenticated(_(CODE_FAILED))
        with self.transaction():
            if code:
                if totp.use_code(self.db, user["id"], code, self.clock.now()) is not None:
                    return
            elif recovery.consume(self.db, user["id"], typed, self.now()):
                self.audit("recovery_code_used", "user", user["id"])
                return
        self.record_failure(user["id"], kind)
        raise NotAuthenticated(_(CODE_FAILED))

    def login(self, email: str, password: str, ask_code: Callable[[], str]) -> tuple[str, Actor]:
        """A new session for valid credentials; ``ask_code`` is called only when the
        password was right and the account has two-step login."""
        import secrets

        user = self._check_password(email, password)
        if user["otp_enabled_at"] is not None:
            self._check_second_step(user, ask_code())
        actor = actor_from_row(user, self.db)
        token = secrets.token_urlsafe(32)
        now = self.clock.now()
        absolute = timedelta(days=int(settings.get(self.db, "auth.session_absolute_days")))
        with self.transaction():
            if passwords.needs_rehash(user["password_hash"]):
                self.db.execute(
                    "UPDATE users SET password_hash = ? WHERE id = ?",
                    (passwords.hash_password(password), user["id"]),
                )
                self.audit("password_rehashed", "user", user["id"])
            self.db.execute(
                "INSERT INTO sessions (user_id, token_hash, created_at, last_seen_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (actor.id, token_hash(token), iso_utc(now), iso_utc(now), iso_utc(now + absolute)),
            )
            self._actor = actor
            self.audit("login", "user", actor.id, second_step=user["otp_enabled_at"] is not None)
        return token, actor

    def reauthenticate(self, password: str, ask_code: Callable[[], str]) -> Reauthentication:
        """Step-up: the actor proves again who they are before a sensitive act."""
        actor = self.actor
        if actor.via == "app_password":
            raise PermissionDenied(_("an application password cannot confirm a sensitive action"))
        user = self._check_password(actor.email, password)
        if user["otp_enabled_at"] is not None:
            self._check_second_step(user, ask_code())
        return Reauthentication(actor.id, self.clock.now())

    # --- sessions -----------------------------------------------------------

    def actor_for_token(self, token: str, *, touch: bool = True) -> Actor:
        """The session's user, if the session is alive; refreshes its idle timer
        (unless ``touch`` is False: a shell prompt's glance is not activity)."""
        return session_actor(self.db, token, self.clock.now(), touch=touch)

    def logout(self, token: str) -> bool:
        """End the session in the store; True if there was one to end."""
        with self.transaction():
            row = self.db.execute(
                "SELECT id, user_id FROM sessions WHERE token_hash = ? AND revoked_at IS NULL",
                (token_hash(token),),
            ).fetchone()
            if row is None:
                return False
            self.db.execute(
                "UPDATE sessions SET revoked_at = ? WHERE id = ?", (self.now(), row["id"])
            )
            self.audit("logout", "user", row["user_id"])
        return True

    def sessions(self, user: str | None = None) -> list[dict]:
        """Live sessions: your own, or (firm administrators) anyone's."""
        return self._live_sessions(self._subject(user))

    def _live_sessions(self, user_id: int | None) -> list[dict]:
        sql = (
            "SELECT s.id, u.email AS user, s.created_at, s.last_seen_at, s.expires_at FROM sessions s"
            " JOIN users u ON u.id = s.user_id WHERE s.revoked_at IS NULL AND s.expires_at > :now"
        )
        params: dict[str, object] = {"now": self.now()}
        if user_id is not None:
            sql += " AND s.user_id = :uid"
            params["uid"] = user_id
        return [dict(r) for r in self.db.execute(sql + " ORDER BY s.id", params)]

    def _subject(self, user: str | None) -> int | None:
        """Whose credentials: yourself, or anyone's for a firm administrator (None = all)."""
        from sempi_cli.services.identity.accounts import find_user

        if user is None:
            return None if self.actor.is_firm_admin else self.actor.id
        target = find_user(self.db, self.actor, user)
        if target["id"] != self.actor.id and not self.actor.is_firm_admin:
            raise PermissionDenied(_("only a firm administrator may manage other users' sessions"))
        return int(target["id"])

    def kill_session(self, session_id: int) -> None:
        row = self.db.execute(
            "SELECT user_id FROM sessions WHERE id = ? AND revoked_at IS NULL", (session_id,)
        ).fetchone()
        if row is None or (row["user_id"] != self.actor.id and not self.actor.is_firm_admin):
            raise NotFound(_("session {id} not found").format(id=session_id))
        with self.transaction():
            self.db.execute(
                "UPDATE sessions SET revoked_at = ? WHERE id = ?", (self.now(), session_id)
            )
            self.audit("kill_session", "user", row["user_id"], session_id=session_id)

    # --- application passwords ------------------------------------------------

    def actor_for_app_password(self, email: str, secret: str) -> Actor:
        """Scripts and cron: SEMPI_USER + SEMPI_APP_PASSWORD, checked with a fast hash."""
        user = self.db.execute(
            "SELECT * FROM users WHERE email = ?", (email.strip().lower(),)
        ).fetchone()
        if (
            user is None
            or user["disabled_at"] is not None
            or self._locked(user)
            or self.throttled(user["id"], SCRIPTS)
        ):
            raise NotAuthenticated(_(LOGIN_FAILED))
        app = self.db.execute(
            "SELECT id, name FROM app_passwords WHERE user_id = ? AND secret_hash = ? AND revoked_at IS NULL",
            (user["id"], token_hash(secret)),
        ).fetchone()
        if app is None:
            self.record_failure(user["id"], "app_password")
            raise NotAuthenticated(_(LOGIN_FAILED))
        with self.transaction():
            self.db.execute(
                "UPDATE app_passwords SET last_used_at = ? WHERE id = ?", (self.now(), app["id"])
            )
            self.audit("app_password_used", "user", user["id"], app_password=app["name"])
        return replace(actor_from_row(user, self.db, via="app_password"), must_enrol=False)
