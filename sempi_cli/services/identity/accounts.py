"""User accounts: finding one among those the actor may see, and every write of
the ``users`` table outside logging in.

It sits in identity, under org and every other domain, because logging in,
sessions and two-step login need it as much as user management does; org/
(people, the firm, invitations) and privacy/ decide, this module writes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import datetime

from sempi_cli.errors import NotAuthenticated, NotFound
from sempi_cli.i18n import gettext as _
from sempi_cli.services import access
from sempi_cli.services.access import Actor


def find_user(db: sqlite3.Connection, actor: Actor, ref: str | int) -> sqlite3.Row:
    """A user by id or e-mail, among those the actor may see."""
    where, params = access.visible_users(actor)
    text = str(ref).strip()
    key = "u.id = :ref" if text.isdigit() else "u.email = lower(:ref)"
    row = db.execute(
        f"SELECT u.* FROM users u WHERE {key} AND {where}", {**params, "ref": text}
    ).fetchone()
    if row is None:
        raise NotFound(_("user {user} not found").format(user=repr(text)))
    return row


def active_user(db: sqlite3.Connection, email: str) -> sqlite3.Row:
    """An enabled account by its exact e-mail, with no access check: the actor that
    in-process callers (tests, the demo builder) name directly. The command line
    never can; there the actor comes from a session or an application password."""
    row = db.execute(
        "SELECT * FROM users WHERE email = ? AND disabled_at IS NULL", (email,)
    ).fetchone()
    if row is None:
        raise NotAuthenticated(_("no active user {email}").format(email=email))
    return row


# --- writing accounts: identity/ owns the users table; org/ and privacy/ call these ------
# Each runs inside the caller's transaction; the checks (who may, what is valid)
# and the audit entry are the caller's.


def create_user(
    db: sqlite3.Connection,
    *,
    email: str,
    full_name: str,
    role: str,
    at: str,
    studio_id: int | None = None,
    client_id: int | None = None,
    codice_fiscale: str | None = None,
    password_hash: str | None = None,
    language: str | None = None,
) -> int:
    """A new account; without a password hash it waits for an invitation's code.
    ``language`` None: the firm's default (config ui.language)."""
    user_id = db.execute(
        "INSERT INTO users (email, full_name, role, studio_id, client_id, codice_fiscale,"
        " password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (email, full_name, role, studio_id, client_id, codice_fiscale, password_hash, at, at),
    ).fetchone()[0]
    if language is not None:  # the column is m019's: older stores' tests create users too
        db.execute("UPDATE users SET language = ? WHERE id = ?", (language, user_id))
    return user_id


def update_fields(
    db: sqlite3.Connection, user_id: int, fields: Mapping[str, object], at: str
) -> None:
    """Set the given columns of an account (values as stored) and its ``updated_at``."""
    sets = ", ".join(f"{column} = :{column}" for column in fields)
    db.execute(
        f"UPDATE users SET {sets}, updated_at = :now WHERE id = :id",
        {**fields, "now": at, "id": user_id},
    )


def set_disabled(db: sqlite3.Connection, user_id: int, disabled: bool, at: str) -> None:
    """Disable an account from ``at``, or enable it again. Ending its sessions is
    the caller's (auth.revoke_credentials), in the same transaction."""
    db.execute(
        "UPDATE users SET disabled_at = ?, updated_at = ? WHERE id = ?",
        (at if disabled else None, at, user_id),
    )


def set_password_hash(db: sqlite3.Connection, user_id: int, password_hash: str, at: str) -> None:
    db.execute(
        "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?",
        (password_hash, at, user_id),
    )


def set_first_password(db: sqlite3.Connection, user_id: int, password_hash: str, at: str) -> bool:
    """The password of an account that has none yet (activation by invitation); False
    when it has one by now: another activation won the race, the condition decides."""
    return bool(
        db.execute(
            "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?"
            " AND password_hash IS NULL",
            (password_hash, at, user_id),
        ).rowcount
    )


# How an erased person is shown where their name was (an author in a chat, a
# name in a notification): the words the firm's people know from the portal.
ERASED_PERSON = "utente rimosso"


def erased_email(user_id: int) -> str:
    """The placeholder address an erased account keeps (unique, never deliverable)."""
    return f"erased-{user_id}@invalid"


def is_erased_email(email: str | None) -> bool:
    return email is not None and email.startswith("erased-") and email.endswith("@invalid")


def erase_personal_data(db: sqlite3.Connection, user_id: int, at: str) -> None:
    """Replace a user's personal data with placeholders and disable the account
    (GDPR erasure). The password hash and two-step secret go too. The caller
    (services.privacy) has checked access, holds the transaction, revokes the
    sessions and writes the audit entry: not UserService.edit, whose audit entry
    would copy the old values into the append-only log."""
    db.execute(
        "UPDATE users SET email = ?, full_name = 'Erased user', codice_fiscale = NULL,"
        " password_hash = NULL, otp_secret = NULL, otp_enabled_at = NULL, otp_last_step = NULL,"
        " disabled_at = coalesce(disabled_at, ?), updated_at = ? WHERE id = ?",
        (erased_email(user_id), at, at, user_id),
    )


def actor_from_row(
    row: sqlite3.Row, db: sqlite3.Connection | None = None, via: str = "session"
) -> Actor:
    """The Actor a users row is, asking whether they must still set up two-step login."""
    from sempi_cli.services.identity.sessions import must_enrol

    enrol = db is not None and must_enrol(db, row)
    return Actor(
        row["id"],
        row["email"],
        row["full_name"],
        row["role"],
        row["studio_id"],
        row["client_id"],
        via=via,
        must_enrol=enrol,
    )


def session_actor(
    db: sqlite3.Connection, token: str, now: datetime, *, touch: bool = True
) -> Actor:
    """The user of a live login session, as an Actor (the session's idle timer
    refreshed unless ``touch`` is False). Here rather than in auth.py: a command
    run in a session needs none of the password and two-step code."""
    from sempi_cli.services.identity.sessions import session_user

    return actor_from_row(session_user(db, token, now, touch=touch), db)
