"""The write transaction and how SQLite's errors map to exit codes.

Every command that writes runs in one ``BEGIN IMMEDIATE`` transaction (DESIGN.md,
"Store"); nothing here opens a store, so the migrations can use it too.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sempi_cli.errors import StoreBusy, StoreUnusable


def busy_or_unusable(exc: sqlite3.OperationalError, path: Path | None = None) -> Exception:
    """Map SQLite's lock errors to exit 9; anything else operational to exit 10."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        return StoreBusy(
            "the store is busy: another sempi held it past the timeout", "retry in a moment"
        )
    where = f" {path}" if path else ""
    return StoreUnusable(f"cannot use the store{where}: {text}")


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One ``BEGIN IMMEDIATE`` transaction; nested calls become savepoints.

    On any exception everything since BEGIN is rolled back, so a failed
    command leaves no partial write.
    """
    if conn.in_transaction:
        conn.execute("SAVEPOINT nested_write")
        try:
            yield conn
        except BaseException:
            # A RAISE(ROLLBACK) can already have ended the whole transaction.
            if conn.in_transaction:
                conn.execute("ROLLBACK TO nested_write")
                conn.execute("RELEASE nested_write")
            raise
        conn.execute("RELEASE nested_write")
        return
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise busy_or_unusable(exc) from exc
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    try:
        conn.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        conn.execute("ROLLBACK")
        raise busy_or_unusable(exc) from exc


def checkpoint(conn: sqlite3.Connection) -> bool:
    """Copy the write-ahead log into the main file and empty it now (after an
    erasure, old page images must leave the -wal file too). Best effort: a
    reader in another process may keep frames alive; True if it completed."""
    try:
        busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    except sqlite3.OperationalError:
        return False
    return busy == 0
