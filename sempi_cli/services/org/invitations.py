"""Invitations: a user created without a password (a client's external user, a
practice's operator) gets an e-mail with a one-time activation code, and sets
their own password with `sempi user activate`.

The code has 99 random bits (20 symbols of 31) and is shown only in the
delivered e-mail (the outbox keeps it apart from the body and erases it once
sent, failed or no longer wanted); the store keeps the SHA-256 of a fixed
prefix, the user's id and the code. No secret salt or slow hash: those slow
down guessing a human-chosen password, and 99 random bits are beyond guessing
anyway. A code is valid 14 days and once; a new invitation revokes the
previous one. Wrong codes count as failed logins of that account, so the
login throttling (services/identity/auth.py) locks guessing out.

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
from sempi_cli.i18n import N_
from sempi_cli.i18n import gettext as _
from sempi_cli.services.base import Service
from sempi_cli.services.identity import accounts, passwords
from sempi_cli.services.mail import outbox as mail

VALID_FOR = timedelta(days=14)
CODE_LENGTH = 20  # 20 symbols of 31: 99 bits
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
ACTIVATION_FAILED = N_(
    "activation failed: unknown e-mail, or a wrong, expired or already used code"
)
ACTIVATION_HINT = N_("ask whoever invited you to send a new invitation")


def new_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _unused in range(CODE_LENGTH))
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
        not used, its e-mail not failed or cancelled), inviting again does
        nothing and returns None, so re-running an onboarding never mails a
        second code; so does inviting a user who has a password already
        (activated) or is disabled. ``resend`` makes a new code (the old one
        stops working, its unsent e-mail is cancelled) and queues it.
        """
        with self.transaction():  # the checks too: an activation may be committing meanwhile
            target, client = self._target(user_id)
            if target["disabled_at"] is not None or target["password_hash"] is not None:
                return None  # nothing to invite to (a re-run after activation changes nothing)
            return self._invite(target, client, resend)

    def invite_user(self, ref: str | int, *, resend: bool = False) -> dict:
        """`sempi mail invite`: a user by e-mail or id; what was queued."""
        with self.transaction():
            target, client = self._target(ref)
            if target["disabled_at"] is not None:
                raise RuleViolation(
                    _("user {email} is disabled").format(email=target["email"]),
                    _("enable them first"),
                )
            if target["password_hash"] is not None:
                raise RuleViolation(
                    _("user {email} already has a password: they log in with it").format(
                        email=target["email"]
                    ),
                    _("an administrator may set a new one with 'sempi passwd USER'"),
                )
            mail_id = self._invite(target, client, resend)
        return {"user": target["email"], "mail_id": mail_id, "queued": mail_id is not None}

    def _target(self, ref: str | int) -> tuple[sqlite3.Row, sqlite3.Row | None]:
        """The user, if the actor may add them (who may add a user may invite them,
        services/org/users.py), and the external user's client."""
        from sempi_cli.services.identity.accounts import find_user
        from sempi_cli.services.org.users import UserService

        target = find_user(self.db, self.actor, ref)
        client = None
        if target["client_id"] is not None:
            client = self.db.execute(
                "SELECT * FROM clients WHERE id = ?", (target["client_id"],)
            ).fetchone()
        try:
            UserService(self.db, self.clock, self.actor).may_create(
                target["role"], target["studio_id"], client
            )
        except PermissionDenied:
            raise PermissionDenied(
                _("you may not invite {email}").format(email=target["email"])
            ) from None
        return target, client

    def _invite(self, target: sqlite3.Row, client: sqlite3.Row | None, resend: bool) -> int | None:
        now = self.clock.now()
        live = self.db.execute(
            "SELECT i.id, i.mail_id, i.expires_at, m.status AS mail_status FROM invitations i"
            " LEFT JOIN mail_outbox m ON m.id = i.mail_id"
            " WHERE i.user_id = ? AND i.used_at IS NULL AND i.revoked_at IS NULL",
            (target["id"],),
        ).fetchone()
        # A code whose e-mail failed or was cancelled never reached anyone: replace it.
        undelivered = live is not None and live["mail_status"] in ("failed", "cancelled")
        if live is not None and not (resend or undelivered) and live["expires_at"] > iso_utc(now):
            return None
        if live is not None:
            self.db.execute(
                "UPDATE invitations SET revoked_at = ? WHERE id = ?", (iso_utc(now), live["id"])
            )
            if live["mail_id"] is not None:
                mail.withdraw(self.db, live["mail_id"], now)
        seq = self.db.execute(
            "SELECT coalesce(max(seq), 0) + 1 FROM invitations WHERE user_id = ?", (target["id"],)
        ).fetchone()[0]
        code = new_code()
        expires = now + VALID_FOR
        invitation_id = self.db.execute(
            "INSERT INTO invitations (user_id, seq, code_hash, created_by, created_at,"
            " expires_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (target["id"], seq, code_hash(target["id"], code), self.actor.id, iso_utc(now),
             iso_utc(expires)),
        ).fetchone()[0]  # fmt: skip
        context = {
            "full_name": target["full_name"],
            "email": target["email"],
            "code": code,
            "expires": expires.astimezone(ROME).strftime("%d/%m/%Y alle %H:%M"),
        }
        if client is not None:
            context.update(client=client["ragione_sociale"], client_id=client["id"])
        mail_id = mail.Outbox(self.db, self.clock, self.actor).queue(
            "invitation", target["email"], context,
            dedupe_key=dedupe_key(target["id"], seq), studio_id=target["studio_id"],
        )  # fmt: skip
        self.db.execute("UPDATE invitations SET mail_id = ? WHERE id = ?", (mail_id, invitation_id))
        self.audit("invite", "user", target["id"], seq=seq, mail_id=mail_id, resend=resend)
        return mail_id

    def activate(self, email: str, code: str, new_password: Callable[[], str]) -> dict:
        """Check the code (no login needed: the code is the proof), then ask for the
        new password, set it and use the code up. Any failure reads the same."""
        from sempi_cli.services.identity.auth import INTERACTIVE, AuthService

        now = self.clock.now()
        user = self.db.execute(
            "SELECT * FROM users WHERE email = ?", (email.strip().lower(),)
        ).fetchone()
        invitation = None
        if user is not None:
            invitation = self.db.execute(
                "SELECT id, code_hash, expires_at, mail_id FROM invitations"
                " WHERE user_id = ? AND used_at IS NULL AND revoked_at IS NULL",
                (user["id"],),
            ).fetchone()
        # Compared in constant time even without an invitation, so timing tells nothing.
        expected = invitation["code_hash"] if invitation else "0" * 64
        right = hmac.compare_digest(expected, code_hash(user["id"] if user else 0, code))
        if user is None:
            raise NotAuthenticated(_(ACTIVATION_FAILED), _(ACTIVATION_HINT))
        auth = AuthService(self.db, self.clock)
        # Locked, or too soon after the last failures: refused uncounted (identity/auth.py).
        locked = (
            user["locked_until"] is not None and now < datetime.fromisoformat(user["locked_until"])
        ) or auth.throttled(user["id"], INTERACTIVE)
        usable = user["disabled_at"] is None and user["password_hash"] is None and not locked
        # right implies an invitation (its hash matched); the check says so to the types too
        if not (
            right and usable and invitation is not None and invitation["expires_at"] > iso_utc(now)
        ):
            if not locked:
                auth.record_failure(user["id"], "code")
            raise NotAuthenticated(_(ACTIVATION_FAILED), _(ACTIVATION_HINT))
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
            set_ = accounts.set_first_password(self.db, user["id"], password_hash, stamp)
            if not (used and set_):  # another activation won the race
                raise NotAuthenticated(_(ACTIVATION_FAILED), _(ACTIVATION_HINT))
            if invitation["mail_id"] is not None:  # the code is spent: not kept anywhere
                mail.withdraw(self.db, invitation["mail_id"], self.clock.now())
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
