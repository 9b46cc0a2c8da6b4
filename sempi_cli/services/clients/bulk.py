"""Writing clients in bulk, for a batch that onboards hundreds at once.

clients/ owns the ``clients`` table, so a batch elsewhere (onboarding) calls
these functions instead of its own SQL. They run inside the caller's
transaction (nothing here opens one); ids given by the caller come from
``next_client_id`` read under its ``BEGIN IMMEDIATE`` lock, so nobody else
writes meanwhile. The checks (identifiers, profile, responsible, access) are
the caller's, made with the same functions ``client add``/``edit`` use.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from sempi_cli.clock import Clock
from sempi_cli.services import events
from sempi_cli.services.access import Actor
from sempi_cli.services.clients import history

# The columns of a client row; ``insert_many`` takes them and the profile's fields.
CLIENT_COLUMNS = (
    "id", "studio_id", "ragione_sociale", "taxpayer_kind", "codice_fiscale", "partita_iva",
    "email", "pec", "nickname", "responsible_id", "smart_services",
    "conto_terzi", "own_licence", "created_at", "updated_at",
)  # fmt: skip
# Columns a caller may leave out (0): rows built before they existed still insert.
_FLAGS = frozenset(("conto_terzi", "own_licence"))
_INSERT = (
    f"INSERT INTO clients ({', '.join(CLIENT_COLUMNS)})"
    f" VALUES ({', '.join('?' * len(CLIENT_COLUMNS))})"
)


def next_client_id(db: sqlite3.Connection) -> int:
    """The first free client id; valid while the caller holds the write lock."""
    return int(db.execute("SELECT coalesce(max(id), 0) + 1 FROM clients").fetchone()[0])


def insert_many(
    db: sqlite3.Connection, clients: Sequence[Mapping[str, Any]], clock: Clock, actor: Actor
) -> None:
    """New clients, each a mapping with the values of CLIENT_COLUMNS and of the
    fiscal profile's fields (the first version, in force from the start); the
    event ``client.added`` gives each its work-group chat."""
    db.executemany(
        _INSERT,
        [tuple(c.get(k, 0) if k in _FLAGS else c[k] for k in CLIENT_COLUMNS) for c in clients],
    )
    history.insert_many(
        db,
        (
            (c["id"], history.first({k: c[k] for k in history.FIELDS}, c["created_at"], actor.id))
            for c in clients
        ),
    )
    events.publish(db, clock, actor, "client.added", {"client_ids": [c["id"] for c in clients]})


def update_fields(
    db: sqlite3.Connection, client_id: int, fields: Mapping[str, object], at: str
) -> None:
    """Set the given columns of a client (values as stored) and its ``updated_at``."""
    sets = ", ".join(f"{column} = ?" for column in fields)
    db.execute(
        f"UPDATE clients SET {sets}, updated_at = ? WHERE id = ?",
        (*fields.values(), at, client_id),
    )
