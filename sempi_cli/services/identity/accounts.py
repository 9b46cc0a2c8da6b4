"""Finding a user account, among those the actor may see.

It sits in identity, under org and every other domain, because logging in,
sessions and two-step login need it as much as user management does.
"""

from __future__ import annotations

import sqlite3

from sempi_cli.errors import NotAuthenticated, NotFound
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
        raise NotFound(f"user {text!r} not found")
    return row


def active_user(db: sqlite3.Connection, email: str) -> sqlite3.Row:
    """An enabled account by its exact e-mail, with no access check: the actor that
    in-process callers (tests, the demo builder) name directly. The command line
    never can; there the actor comes from a session or an application password."""
    row = db.execute(
        "SELECT * FROM users WHERE email = ? AND disabled_at IS NULL", (email,)
    ).fetchone()
    if row is None:
        raise NotAuthenticated(f"no active user {email}")
    return row
