"""The append-only activity log: who changed what, and when.

Triggers in the schema refuse UPDATE and DELETE on the table; this module is
the only writer; ``ops/audit_log.py`` reads it for ``sempi audit``. Details
never carry secrets (passwords, tokens, codes). It depends on no service, so
``Service.audit`` (base.py) can call it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from sempi_cli.store import write_transaction

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
    import json  # here, not above: a timer start (the fast path) never writes the log

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

    with write_transaction(db):
        record(db, at, actor_id, "denied", "command", None, {"command": command, "reason": reason})
