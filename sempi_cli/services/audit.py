"""The append-only activity log: who changed what, and when.

Triggers in the schema refuse UPDATE and DELETE on the table; this module is
the only writer. Details never carry secrets (passwords, tokens, codes).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable

from sempi_cli.services.access import require_firm_admin
from sempi_cli.services.base import Service

_INSERT = (
    "INSERT INTO audit_log (at, actor_id, action, object_type, object_id, details)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)


def record(
    db: sqlite3.Connection,
    at: str,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: int | None,
    details: dict,
) -> None:
    record_many(db, at, actor_id, [(action, object_type, object_id, details)])


def record_many(
    db: sqlite3.Connection,
    at: str,
    actor_id: int | None,
    entries: Iterable[tuple[str, str, int | None, dict]],
) -> None:
    """Entries (action, object type, object id, details) of one actor at one time, in
    one statement: a batch of thousands of clients writes its history in bulk."""
    db.executemany(
        _INSERT,
        (
            (
                at,
                actor_id,
                action,
                kind,
                object_id,
                json.dumps(details, sort_keys=True, default=str),
            )
            for action, kind, object_id, details in entries
        ),
    )


def record_denied(
    db: sqlite3.Connection, at: str, actor_id: int, command: str, reason: str
) -> None:
    """A refused action, in its own transaction (the command itself failed)."""
    from sempi_cli.store import write_transaction

    with write_transaction(db):
        record(db, at, actor_id, "denied", "command", None, {"command": command, "reason": reason})


class AuditService(Service):
    def list(
        self,
        *,
        object_type: str | None = None,
        object_id: int | None = None,
        actor_email: str | None = None,
        action: str | None = None,
        since: str | None = None,
        limit: int | None = 100,
    ) -> list[dict]:
        """The log, newest first; firm administrators only."""
        require_firm_admin(self.actor, "read the audit log")
        where, params = ["1"], {}
        if object_type:
            where.append("a.object_type = :object_type")
            params["object_type"] = object_type
        if object_id is not None:
            where.append("a.object_id = :object_id")
            params["object_id"] = object_id
        if actor_email:
            where.append("u.email = :actor_email")
            params["actor_email"] = actor_email.strip().lower()
        if action:
            where.append("a.action = :action")
            params["action"] = action
        if since:
            where.append("a.at >= :since")
            params["since"] = since
        sql = (
            "SELECT a.id, a.at, u.email AS actor, a.action, a.object_type, a.object_id, a.details"
            " FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id"
            f" WHERE {' AND '.join(where)} ORDER BY a.id DESC"
        )
        if limit:
            sql += " LIMIT :limit"
            params["limit"] = limit
        rows = []
        for row in self.db.execute(sql, params):
            item = dict(row)
            item["details"] = json.loads(item["details"])
            rows.append(item)
        return rows
