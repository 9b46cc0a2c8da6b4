"""The write transaction and how SQLite's errors map to exit codes.

Every command that writes runs in one ``BEGIN IMMEDIATE`` transaction (DESIGN.md,
"Store"); nothing here opens a store, so the migrations can use it too.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sempi_cli.errors import StoreBusy, StoreUnusable
from sempi_cli.store.constants import BUSY_TIMEOUT_MS

# Long non-interactive jobs (a batch, the scheduler's run, a backlog import, the mail
# run) write in many transactions while people keep working: another process may
# hold the write lock past the interactive timeout, above all on a busy machine.
# A connection made patient waits its first BUSY_TIMEOUT_MS like any command, then
# says once that it is waiting and waits up to its own limit before exit 9.


class _Patience:
    def __init__(self, seconds: float, notice: Callable[[], None] | None) -> None:
        self.milliseconds = int(seconds * 1000)
        self.notice = notice


class StoreConnection(sqlite3.Connection):
    """The connection open_store makes: a plain one that can carry its patience."""

    patience: _Patience | None = None


def be_patient(
    conn: sqlite3.Connection, seconds: float, notice: Callable[[], None] | None = None
) -> None:
    """Let ``conn`` wait up to ``seconds`` for the write lock; ``notice`` is called
    (once) when the wait goes past the interactive timeout."""
    if not isinstance(conn, StoreConnection):
        raise TypeError("be_patient takes a connection made by open_store")
    conn.patience = _Patience(seconds, notice)


def _begin(conn: sqlite3.Connection) -> None:
    try:
        conn.execute("BEGIN IMMEDIATE")
        return
    except sqlite3.OperationalError as exc:
        patience = getattr(conn, "patience", None)
        if patience is None or not _is_busy(exc):
            raise busy_or_unusable(exc) from exc
    if patience.notice is not None:
        patience.notice()
        patience.notice = None
    conn.execute(f"PRAGMA busy_timeout = {patience.milliseconds}")
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise busy_or_unusable(exc) from exc
    finally:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)


def busy_or_unusable(exc: sqlite3.OperationalError, path: Path | None = None) -> Exception:
    """Map SQLite's lock errors to exit 9; anything else operational to exit 10."""
    if _is_busy(exc):
        return StoreBusy(
            "the store is busy: another sempi held it past the timeout", "retry in a moment"
        )
    where = f" {path}" if path else ""
    return StoreUnusable(f"cannot use the store{where}: {exc}")


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
    _begin(conn)
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
