"""Work groups (gruppi di lavoro): each client's private room and who may enter it.

The group is identified by its client's id. Its members see the client's
tasks, chat and documents; nobody else but administrators does.
"""

from __future__ import annotations

import builtins
import sqlite3
from collections.abc import Iterable

from sempi_cli.errors import Conflict, InvalidData, NotFound, PermissionDenied, RuleViolation
from sempi_cli.i18n import gettext as _
from sempi_cli.services import access, events
from sempi_cli.services.base import Service

MEMBER_COLUMNS = ("user_id", "email", "full_name", "role", "added_at")


def add_members(
    db: sqlite3.Connection, pairs: Iterable[tuple[int, int]], at: str, added_by: int | None
) -> None:
    """Put users in work groups in bulk, as (client id, user id) pairs; one already
    in is left as it is. For a batch that checked every pair already (onboarding):
    inside the caller's transaction, no audit entry (the batch writes its own)."""
    db.executemany(
        "INSERT INTO work_group_members (client_id, user_id, added_at, added_by)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (client_id, user_id) DO NOTHING",
        [(client_id, user_id, at, added_by) for client_id, user_id in pairs],
    )


class GroupService(Service):
    def list(self, *, studio: str | int | None = None) -> list[dict]:
        where, params = access.visible_clients(self.actor)
        sql = (
            "SELECT c.id AS client_id, c.ragione_sociale AS client, s.name AS studio,"
            " (SELECT count(*) FROM work_group_members m WHERE m.client_id = c.id) AS members"
            f" FROM clients c JOIN studios s ON s.id = c.studio_id WHERE {where} AND c.removed_at IS NULL"
        )
        if studio is not None:
            from sempi_cli.services.org.studios import find_studio_id

            params["studio"] = find_studio_id(self.db, self.actor, studio)
            sql += " AND c.studio_id = :studio"
        return [
            dict(r)
            for r in self.db.execute(
                sql + " ORDER BY c.ragione_sociale COLLATE NOCASE, c.id", params
            )
        ]

    def show(self, client_id: int) -> dict:
        client = access.client_row(self.db, self.actor, client_id)
        return {
            "client_id": client["id"],
            "client": client["ragione_sociale"],
            "responsible_id": client["responsible_id"],
            "members": self.members(client_id),
        }

    def members(self, client_id: int) -> builtins.list[dict]:
        return [
            dict(r)
            for r in self.db.execute(
                "SELECT u.id AS user_id, u.email, u.full_name, u.role, m.added_at"
                " FROM work_group_members m JOIN users u ON u.id = m.user_id"
                " WHERE m.client_id = ? ORDER BY u.full_name, u.id",
                (client_id,),
            )
        ]

    def _target(self, client_id: int, user_ref: str | int) -> tuple[sqlite3.Row, sqlite3.Row]:
        from sempi_cli.services.identity.accounts import find_user

        client = access.client_row(self.db, self.actor, client_id)
        if not access.can_manage_client(self.actor, client):
            raise PermissionDenied(
                _("you may not manage the work group of client {client}").format(client=client_id)
            )
        return client, find_user(self.db, self.actor, user_ref)

    def add_member(self, client_id: int, user_ref: str | int, *, check_access: bool = True) -> dict:
        """Add a user to the group. ``check_access=False`` is for services that already
        decided (a client's creation adds its responsible)."""
        if check_access:
            client, user = self._target(client_id, user_ref)
        else:
            client = self.db.execute("SELECT * FROM clients WHERE id = ?", (client_id,)).fetchone()
            user = self.db.execute("SELECT * FROM users WHERE id = ?", (user_ref,)).fetchone()
        if user["disabled_at"] is not None:
            raise RuleViolation(_("user {email} is disabled").format(email=user["email"]))
        reason = access.outside_reason(user, client_id, client["studio_id"])
        if reason is not None:
            raise InvalidData("user", reason)
        with self.transaction():
            cursor = self.db.execute(
                "INSERT INTO work_group_members (client_id, user_id, added_at, added_by)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (client_id, user_id) DO NOTHING",
                (client_id, user["id"], self.now(), self._actor.id if self._actor else None),
            )
            if cursor.rowcount == 0 and check_access:
                raise Conflict(
                    _("{email} is already in the work group of client {client}").format(
                        email=user["email"], client=client_id
                    )
                )
            if cursor.rowcount:
                self.audit("add_member", "work_group", client_id, user_id=user["id"])
                events.publish(
                    self.db,
                    self.clock,
                    self.actor,
                    "group.member_added",
                    {"client_id": client_id, "user_ids": [user["id"]]},
                )
        return self.show(client_id) if check_access else {}

    def remove_member(self, client_id: int, user_ref: str | int) -> dict:
        client, user = self._target(client_id, user_ref)
        if user["id"] == client["responsible_id"]:
            raise RuleViolation(
                _("{email} is the client's responsible and stays in its work group").format(
                    email=user["email"]
                ),
                _("change the responsible first with 'sempi client edit --responsible'"),
            )
        with self.transaction():
            cursor = self.db.execute(
                "DELETE FROM work_group_members WHERE client_id = ? AND user_id = ?",
                (client_id, user["id"]),
            )
            if cursor.rowcount == 0:
                raise NotFound(
                    _("{email} is not in the work group of client {client}").format(
                        email=user["email"], client=client_id
                    )
                )
            self.audit("remove_member", "work_group", client_id, user_id=user["id"])
        return self.show(client_id)
