"""Invitations: a user created without a password (a client's external user, a
practice's operator) gets an e-mail with a one-time activation code, and sets
their own password with `sempi user activate`.

The code has 99 random bits and is shown only in the delivered e-mail (the
outbox keeps it apart from the body and erases it once sent); the store keeps
a salted SHA-256 of it, like a recovery code: enough for a random secret of
that size. A code is valid 14 days and once; a new invitation revokes the
previous one. Wrong codes count as failed logins of that account, so the
login throttling (services/auth.py) locks guessing out.

This module owns the ``invitations`` table.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta

from sempi_cli.clock import ROME, iso_utc
from sempi_cli.errors import NotAuthenticated, PermissionDenied, RuleViolation
from sempi_cli.services import access, mail, passwords
from sempi_cli.services.base import Service

VALID_FOR = timedelta(days=14)
CODE_LENGTH = 20  # 20 symbols of 31: 99 bits
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
ACTIVATION_FAILED = "activation failed: unknown e-mail, or a wrong, expired or already used code"
ACTIVATION_HINT = "ask whoever invited you to send a new invitation"


def new_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + 5] for i in range(0, CODE_LENGTH, 5))


def _normalise(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def code_hash(user_id: int, code: str) -> str:
    return hashlib.sha256(f"sempi-activation:{user_id}:{_normalise(code)}".encode()).hexdigest()


def dedupe_key(user_id: int, seq: int) -> str:
    return f"invite:{user_id}:{seq}"


class Invitations(Service):
    def invite(self, user_id: int, *, resend: bool = False) -> int | None:
        """Queue an invitation e-mail to a user who has no password yet, inside the
        caller's transaction; returns the outbox message's id.

        Idempotent: while the user's last invitation is still valid (not expired,
        not used), inviting again does nothing and returns None, so re-running an
        onboarding never mails a second code; so does inviting a user who has a
        password already (activated) or is disabled. ``resend`` makes a new code
        (the old one stops working, its unsent e-mail is cancelled) and queues it.
        """
        from sempi_cli.services.users import find_user

        now = self.clock.now()
        with self.transaction():  # the checks too: an activation may be committing meanwhile
            target = find_user(self.db, self.actor, user_id)
            client = self._check_may_invite(target)
            if target["disabled_at"] is not None or target["password_hash"] is not None:
                return None  # nothing to invite to (a re-run after activation changes nothing)
            live = self.db.execute(
                "SELECT id, mail_id, expires_at FROM invitations"
                " WHERE user_id = ? AND used_at IS NULL AND revoked_at IS NULL",
                (target["id"],),
            ).fetchone()
            if live is not None and not resend and live["expires_at"] > iso_utc(now):
                return None
            if live is not None:
                self.db.execute(
                    "UPDATE invitations SET revoked_at = ? WHERE id = ?", (iso_utc(now), live["id"])
                )
                if live["mail_id"] is not None:
                    mail.cancel_unsent(self.db, live["mail_id"])
            seq = (
                self.db.execute(
                    "SELECT coalesce(max(seq), 0) FROM invitations WHERE user_id = ?",
                    (target["id"],),
                ).fetchone()[0]
                + 1
            )
            code = new_code()
            expires = now + VALID_FOR
            invitation_id = self.db.execute(
                "INSERT INTO invitations (user_id, seq, code_hash, created_by, created_at,"
                " expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    target["id"],
                    seq,
                    code_hash(target["id"], code),
                    self.actor.id,
                    iso_utc(now),
                    iso_utc(expires),
                ),
            ).lastrowid
            context = {
                "full_name": target["full_name"],
                "email": target["email"],
                "code": code,
                "expires": expires.astimezone(ROME).strftime("%d/%m/%Y alle %H:%M"),
            }
            if client is not None:
                context.update(client=client["ragione_sociale"], client_id=client["id"])
            mail_id = mail.Outbox(self.db, self.clock, self.actor).queue(
                "invitation", target["email"], context, dedupe_key=dedupe_key(target["id"], seq)
            )
            self.db.execute(
                "UPDATE invitations SET mail_id = ? WHERE id = ?", (mail_id, invitation_id)
            )
            self.audit("invite", "user", target["id"], seq=seq, mail_id=mail_id, resend=resend)
        return mail_id

    def invite_user(self, ref: str | int, *, resend: bool = False) -> dict:
        """`sempi mail invite`: a user by e-mail or id; what was queued."""
        from sempi_cli.services.users import find_user

        target = find_user(self.db, self.actor, ref)
        self._check_may_invite(target)
        if target["disabled_at"] is not None:
            raise RuleViolation(f"user {target['email']} is disabled", "enable them first")
        if target["password_hash"] is not None:
            raise RuleViolation(
                f"user {target['email']} already has a password: they log in with it",
                "an administrator may set a new one with 'sempi passwd USER'",
            )
        mail_id = self.invite(target["id"], resend=resend)
        return {"user": target["email"], "mail_id": mail_id, "queued": mail_id is not None}

    def _check_may_invite(self, target: sqlite3.Row) -> sqlite3.Row | None:
        """Who may add a user may invite them (services/users.py); returns the
        external user's client."""
        actor = self.actor
        client = None
        if target["client_id"] is not None:
            client = self.db.execute(
                "SELECT * FROM clients WHERE id = ?", (target["client_id"],)
            ).fetchone()
        if actor.is_firm_admin:
            return client
        if actor.role == "studio-admin":
            owner = client["studio_id"] if client is not None else target["studio_id"]
            if owner is not None and owner == actor.studio_id:
                return client
        if actor.role == "staff" and client is not None and access.can_manage_client(actor, client):
            return client
        raise PermissionDenied(f"you may not invite {target['email']}")

    def activate(self, email: str, code: str, new_password: Callable[[], str]) -> dict:
        """Check the code (no login needed: the code is the proof), then ask for the
        new password, set it and use the code up. Any failure reads the same."""
        from sempi_cli.services.auth import AuthService

        now = self.clock.now()
        user = self.db.execute(
            "SELECT * FROM users WHERE email = ?", (email.strip().lower(),)
        ).fetchone()
        invitation = None
        if user is not None:
            invitation = self.db.execute(
                "SELECT id, code_hash, expires_at FROM invitations"
                " WHERE user_id = ? AND used_at IS NULL AND revoked_at IS NULL",
                (user["id"],),
            ).fetchone()
        # Compared in constant time even without an invitation, so timing tells nothing.
        expected = invitation["code_hash"] if invitation else "0" * 64
        right = hmac.compare_digest(expected, code_hash(user["id"] if user else 0, code))
        if user is None:
            raise NotAuthenticated(ACTIVATION_FAILED, ACTIVATION_HINT)
        locked = user["locked_until"] is not None and now < datetime.fromisoformat(
            user["locked_until"]
        )
        usable = user["disabled_at"] is None and user["password_hash"] is None and not locked
        if not (right and usable and invitation["expires_at"] > iso_utc(now)):
            if not locked:
                AuthService(self.db, self.clock).record_failure(user["id"], "code")
            raise NotAuthenticated(ACTIVATION_FAILED, ACTIVATION_HINT)
        password = new_password()
        passwords.check_strength(password, field="new password")
        password_hash = passwords.hash_password(password)
        with self.transaction():
            stamp = iso_utc(self.clock.now())
            used = self.db.execute(
                "UPDATE invitations SET used_at = ? WHERE id = ? AND used_at IS NULL"
                " AND revoked_at IS NULL",
                (stamp, invitation["id"]),
            ).rowcount
            set_ = self.db.execute(
                "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?"
                " AND password_hash IS NULL",
                (password_hash, stamp, user["id"]),
            ).rowcount
            if not (used and set_):  # another activation won the race
                raise NotAuthenticated(ACTIVATION_FAILED, ACTIVATION_HINT)
            from sempi_cli.services import audit

            audit.record(
                self.db,
                stamp,
                user["id"],
                "activate",
                "user",
                user["id"],
                {"invitation": invitation["id"]},
            )
        return {"email": user["email"], "full_name": user["full_name"], "activated_at": stamp}
