"""Who may see and change what. Every service method asks here, reads included.

A row the actor may not see does not exist for them: callers raise NotFound,
never PermissionDenied, so ids do not leak. Visibility is expressed as SQL
fragments so that listings filter in the query, not in Python.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from sempi_cli.errors import InvalidData, NotFound, PermissionDenied
from sempi_cli.i18n import gettext as _

# The SQL of visibility lives in visibility.py, light enough for the fast path
# (this module's Actor is a dataclass, and dataclasses costs the fast path more
# than a whole `timer start`); every caller keeps asking here.
from sempi_cli.services.visibility import FIRM_ROLES as FIRM_ROLES
from sempi_cli.services.visibility import ROLES as ROLES
from sempi_cli.services.visibility import STUDIO_ROLES as STUDIO_ROLES
from sempi_cli.services.visibility import visible_clients as visible_clients
from sempi_cli.services.visibility import visible_tasks as visible_tasks
from sempi_cli.services.visibility import within_reach_sql as within_reach_sql
from sempi_cli.store.sql import in_marks, listed


@dataclass(frozen=True)
class Actor:
    """The authenticated user a command runs as."""

    id: int
    email: str
    full_name: str
    role: str
    studio_id: int | None = None
    client_id: int | None = None
    via: str = "session"  # or "app_password" (scripts, cron), "internal" (tests, demo)
    must_enrol: bool = False  # two-step login is required and not yet set up

    @property
    def is_firm_admin(self) -> bool:
        return self.role == "firm-admin"

    @property
    def is_internal(self) -> bool:
        return self.role in FIRM_ROLES


def visible_studios(actor: Actor, alias: str = "s") -> tuple[str, dict]:
    """Firm users see every practice; practice users their own; externals none."""
    params = {"actor_studio": actor.studio_id}
    if actor.is_internal:
        return "TRUE", params
    if actor.role in STUDIO_ROLES:
        return f"{alias}.id = :actor_studio", params
    return "FALSE", params


def visible_users(actor: Actor, alias: str = "u") -> tuple[str, dict]:
    """The people directory an actor may read.

    Everyone sees themselves and the people sharing one of their work groups.
    Firm users see all internal and practice users; practice users see the
    firm's users and their own practice (admins also their clients'
    externals). Firm admins see everyone.
    """
    params = {"actor_id": actor.id, "actor_studio": actor.studio_id}
    shared = (
        f"{alias}.id IN (SELECT m2.user_id FROM work_group_members m1"
        " JOIN work_group_members m2 ON m2.client_id = m1.client_id"
        " WHERE m1.user_id = :actor_id)"
    )
    own = f"{alias}.id = :actor_id OR {shared}"
    if actor.is_firm_admin:
        return "TRUE", params
    if actor.role == "staff":
        return f"({own} OR {alias}.role <> 'external')", params
    if actor.role in STUDIO_ROLES:
        parts = [
            own,
            f"{alias}.role IN ('firm-admin', 'staff')",
            f"{alias}.studio_id = :actor_studio",
        ]
        if actor.role == "studio-admin":
            parts.append(
                f"{alias}.client_id IN (SELECT id FROM clients WHERE studio_id = :actor_studio)"
            )
        return "(" + " OR ".join(parts) + ")", params
    return f"({own})", params


# --- chats ------------------------------------------------------------------


def _chat_member(alias: str) -> str:
    return (
        f"EXISTS (SELECT 1 FROM chat_members cm WHERE cm.chat_id = {alias}.id"
        " AND cm.user_id = :actor_id)"
    )


def readable_chats(actor: Actor, alias: str = "ch") -> tuple[str, dict]:
    """SQL predicate over ``chats AS alias``: the chats the actor may read. The
    general chat: every internal user. A public or private chat: its members (an
    external member only while still in a work group). A work group's chat:
    whoever sees the client's work group (visible_clients). Here, not in chat/:
    the notification centre, below chat/, hides what it no longer lets one read."""
    clients, params = visible_clients(actor, "rc")
    group = (
        f"({alias}.kind = 'group' AND EXISTS (SELECT 1 FROM clients rc"
        f" WHERE rc.id = {alias}.client_id AND {clients}))"
    )
    member = _chat_member(alias)
    if actor.role == "external":
        still_in_a_group = "EXISTS (SELECT 1 FROM work_group_members w WHERE w.user_id = :actor_id)"
        return (
            f"({group} OR ({alias}.kind = 'private' AND {member} AND {still_in_a_group}))",
            params,
        )
    return (
        f"({alias}.kind = 'general' OR {group}"
        f" OR ({alias}.kind IN ('public', 'private') AND {member}))",
        params,
    )


def chat_sees_from_sql(alias: str = "ch") -> str:
    """SQL for the first message id the actor reads in chat ``alias`` (0: all)."""
    return (
        f"COALESCE((SELECT cm.sees_from FROM chat_members cm WHERE cm.chat_id = {alias}.id"
        " AND cm.user_id = :actor_id), 0)"
    )


def client_row(db: sqlite3.Connection, actor: Actor, client_id: int) -> sqlite3.Row:
    """The client if the actor may see it, else NotFound (whether or not it exists)."""
    where, params = visible_clients(actor)
    row = db.execute(
        f"SELECT c.* FROM clients c WHERE c.id = :id AND {where}", {**params, "id": client_id}
    ).fetchone()
    if row is None:
        raise NotFound(_("client {client} not found").format(client=client_id))
    return row


def sees_client(db: sqlite3.Connection, user_id: int | None, client_id: int) -> bool:
    """Whether an active user (someone other than the actor: a notice's recipient)
    may see the client now. A notice that names a client goes only to those who see
    it, or the name would leak across the boundary (a responsible written behind
    the tool's back, or since out of the work group)."""
    return client_id in clients_seen_by(db, user_id, [client_id])


def clients_seen_by(
    db: sqlite3.Connection, user_id: int | None, client_ids: Iterable[int]
) -> set[int]:
    """Those of ``client_ids`` an active user may see now: ``sees_client`` for many
    clients in one query (a nightly job telling one responsible of a thousand)."""
    import json

    if user_id is None:
        return set()
    row = db.execute(
        "SELECT id, email, full_name, role, studio_id, client_id FROM users"
        " WHERE id = ? AND disabled_at IS NULL",
        (user_id,),
    ).fetchone()
    if row is None:
        return set()
    user = Actor(row[0], row[1], row[2], row[3], row[4], row[5])
    where, params = visible_clients(user)
    sql = f"SELECT c.id FROM clients c WHERE c.id IN ({listed(db, ':ids')}) AND {where}"
    ids = json.dumps(list(client_ids))
    return {r[0] for r in db.execute(sql, {**params, "ids": ids})}


# ``what`` in the three functions below is what the actor tried, as a verb phrase
# ("read the audit log"): the callers mark it with N_ and it is translated here.


def require_firm_admin(actor: Actor, what: str) -> None:
    if not actor.is_firm_admin:
        raise PermissionDenied(_("only a firm administrator may {what}").format(what=_(what)))


def require_practice_admin(actor: Actor, studio_id: int, what: str) -> None:
    """The practice's administrator or a firm administrator, nobody else: the
    practice's own decisions (its SMART option, consent requests, coupons it pays for)."""
    if actor.is_firm_admin or (actor.role == "studio-admin" and actor.studio_id == studio_id):
        return
    raise PermissionDenied(
        _("only the practice's administrator or a firm administrator may {what}").format(
            what=_(what)
        )
    )


def can_manage_client(actor: Actor, client: sqlite3.Row) -> bool:
    """Create, remove, and manage the work group: firm admins and the practice's admin;
    the client's responsible manages its work group too."""
    if actor.is_firm_admin:
        return True
    if actor.role == "studio-admin" and client["studio_id"] == actor.studio_id:
        return True
    return actor.role == "staff" and client["responsible_id"] == actor.id


def require_client_owner(actor: Actor, client: sqlite3.Row, what: str) -> None:
    """Acts over a whole client (remove, export, erase): firm administrators and the
    practice's own administrator."""
    if actor.is_firm_admin or (
        actor.role == "studio-admin" and actor.studio_id == client["studio_id"]
    ):
        return
    raise PermissionDenied(
        _(
            "only a firm administrator or the practice's administrator may {what} client {client}"
        ).format(what=_(what), client=client["id"])
    )


def can_edit_client(db: sqlite3.Connection, actor: Actor, client: sqlite3.Row) -> bool:
    """Edit the record and fiscal profile: those who manage it, and firm staff in its group."""
    if can_manage_client(actor, client):
        return True
    if actor.role != "staff":
        return False
    return (
        db.execute(
            "SELECT 1 FROM work_group_members WHERE client_id = ? AND user_id = ?",
            (client["id"], actor.id),
        ).fetchone()
        is not None
    )


# --- the boundary between practices --------------------------------------------------


def outside_reason(user: sqlite3.Row, client_id: int | None, studio_id: int | None) -> str | None:
    """Why ``user`` may not be given a role on the work of a client (``client_id`` of
    practice ``studio_id``; both None for work of no client), or None if they may.

    The one rule for every path that grants access to a client's data (task roles,
    checklist item members, work groups, and the chats, consents and coupons to
    come): a practice user only ever reaches the clients of their own practice;
    an external user only their own client. Firm users reach every client."""
    if user["role"] in STUDIO_ROLES and client_id is not None and user["studio_id"] != studio_id:
        return _("{email} belongs to another practice").format(email=user["email"])
    if user["role"] == "external" and user["client_id"] != client_id:
        if client_id is None:
            return _("{email} is an external user: only their own client's work").format(
                email=user["email"]
            )
        return _("{email} is an external user of another client").format(email=user["email"])
    return None


def require_within_reach(
    db: sqlite3.Connection, user_ids: Iterable[int], client_id: int | None, field: str
) -> None:
    """Refuse (InvalidData naming ``field``) the first user ``outside_reason`` rejects."""
    ids = list(dict.fromkeys(user_ids))
    if not ids:
        return
    studio_id = None
    if client_id is not None:
        row = db.execute("SELECT studio_id FROM clients WHERE id = ?", (client_id,)).fetchone()
        studio_id = row[0] if row else None
    marks = in_marks(ids)
    users = db.execute(
        f"SELECT id, email, role, studio_id, client_id FROM users WHERE id IN ({marks})", ids
    ).fetchall()
    for user in sorted(users, key=lambda u: ids.index(u["id"])):
        reason = outside_reason(user, client_id, studio_id)
        if reason is not None:
            raise InvalidData(field, reason)
