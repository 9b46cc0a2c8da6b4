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
from collections.abc import Iterable, Mapping, Sequence

from sempi_cli.services.clients.profile import PROFILE_FIELDS

# The order of the values in each row ``insert_many`` takes.
CLIENT_COLUMNS = (
    "id", "studio_id", "ragione_sociale", "taxpayer_kind", "codice_fiscale", "partita_iva",
    "email", "pec", "nickname", "responsible_id", "smart_services",
    *(f.name for f in PROFILE_FIELDS),
    "created_at", "updated_at",
)  # fmt: skip
_INSERT = (
    f"INSERT INTO clients ({', '.join(CLIENT_COLUMNS)})"
    f" VALUES ({', '.join('?' * len(CLIENT_COLUMNS))})"
)


def next_client_id(db: sqlite3.Connection) -> int:
    """The first free client id; valid while the caller holds the write lock."""
    return int(db.execute("SELECT coalesce(max(id), 0) + 1 FROM clients").fetchone()[0])


def insert_many(db: sqlite3.Connection, rows: Iterable[Sequence[object]]) -> None:
    """New clients, one row per client with the values of CLIENT_COLUMNS (sqlite3
    stores True/False as 1/0)."""
    db.executemany(_INSERT, rows)


def update_fields(
    db: sqlite3.Connection, client_id: int, fields: Mapping[str, object], at: str
) -> None:
    """Set the given columns of a client (values as stored) and its ``updated_at``."""
    sets = ", ".join(f"{column} = ?" for column in fields)
    db.execute(
        f"UPDATE clients SET {sets}, updated_at = ? WHERE id = ?",
        (*fields.values(), at, client_id),
    )
