"""The write transaction and how the store's errors map to exit codes.

Every command that writes runs in one ``BEGIN IMMEDIATE`` transaction (DESIGN.md,
"Store"); nothing here opens a store, so the migrations can use it too.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sempi_cli.errors import StoreBusy, StoreUnusable
from sempi_cli.i18n import gettext as _
from sempi_cli.store.constants import BUSY_TIMEOUT_MS, WriteConflict

TYPE_CHECKING = False  # the fast path reads this module before pathlib is imported
if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    Scope = tuple[str, Iterable[int]]

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
    file: str | None = None  # the store file's path as SQLite names it (connection.file_of)


def file_of(conn: sqlite3.Connection) -> str:
    """The store file's absolute path as SQLite names it ('' for a store in memory):
    asked once of SQLite, then kept on the connection (the hooks' folder beside it
    is looked up at every write)."""
    known = getattr(conn, "file", None)
    if known is None:
        rows = conn.execute("PRAGMA database_list").fetchall()
        known = next((row[2] for row in rows if row[1] == "main"), "")
        if isinstance(conn, StoreConnection):
            conn.file = known
    return known


def be_patient(
    conn: sqlite3.Connection, seconds: float, notice: Callable[[], None] | None = None
) -> None:
    """Let ``conn`` wait up to ``seconds`` for the write lock; ``notice`` is called
    (once) when the wait goes past the interactive timeout."""
    if not hasattr(conn, "patience"):  # a StoreConnection or a PgConnection
        raise TypeError("be_patient takes a connection made by open_store")
    conn.patience = _Patience(seconds, notice)


def engine(conn: sqlite3.Connection) -> str:
    """'sqlite' or 'postgresql': the engine behind ``conn`` (store/postgres.py)."""
    return getattr(conn, "engine", "sqlite")


def _begin(conn: sqlite3.Connection, scope: Scope | None) -> None:
    try:
        _take_write_lock(conn, None, scope)
        return
    except sqlite3.OperationalError as exc:
        patience = getattr(conn, "patience", None)
        if patience is None or not is_busy(exc):
            raise busy_or_unusable(exc) from exc
    if patience.notice is not None:
        patience.notice()
        patience.notice = None
    try:
        _take_write_lock(conn, patience.milliseconds, scope)
    except sqlite3.OperationalError as exc:
        raise busy_or_unusable(exc) from exc


def _take_write_lock(conn: sqlite3.Connection, wait_ms: int | None, scope: Scope | None) -> None:
    """Begin the write transaction, waiting ``wait_ms`` (else the interactive
    timeout) for the lock: SQLite's BEGIN IMMEDIATE (one writer, whatever the
    scope), PostgreSQL's advisory locks (the store's, or the scope's rows')."""
    if engine(conn) == "postgresql":
        conn.begin_write(wait_ms or BUSY_TIMEOUT_MS, scope)  # type: ignore[attr-defined]
        return
    if wait_ms is None:
        conn.execute("BEGIN IMMEDIATE")
        return
    conn.execute(f"PRAGMA busy_timeout = {wait_ms}")
    try:
        conn.execute("BEGIN IMMEDIATE")
    finally:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


def check_schema(store: str, version: int, latest: int, migrating: bool) -> None:
    """Refuse a store whose schema this code does not run on: SchemaElsewhere when
    it must be exactly ``latest`` (not ``migrating``); StoreUnusable (exit 10) when
    it is newer than this sempi knows. Both engines, before anything is changed."""
    from sempi_cli.store.constants import SchemaElsewhere

    if not migrating and version != latest:
        raise SchemaElsewhere(f"{store}: schema {version}, expected {latest}")
    if version > latest:
        raise StoreUnusable(
            _(
                "the store's schema (version {version}) is newer than this sempi knows ({latest})"
            ).format(version=version, latest=latest),
            _("upgrade sempi"),
        )


def is_conflict(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is a scoped write's conflict: the whole
    command may run again (cli/app.py does, a few times)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, WriteConflict):
            return True
        seen = seen.__cause__
    return False


def is_busy(exc: sqlite3.OperationalError) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)


def busy_or_unusable(exc: sqlite3.OperationalError, path: Path | str | None = None) -> Exception:
    """Map SQLite's lock errors to exit 9; anything else operational to exit 10."""
    if "full" in str(exc):  # SQLITE_FULL: "database or disk is full"
        return StoreUnusable(
            _("the disk holding the store is full; what the command was writing was not kept"),
            _("free some space, then run the command again"),
        )
    if isinstance(exc, WriteConflict):
        return StoreBusy(
            _("the store is busy: other users changed the same data at the same time"),
            _("retry in a moment"),
        )
    if is_busy(exc):
        return StoreBusy(
            _("the store is busy: another sempi held it past the timeout"),
            _("retry in a moment"),
        )
    if path:
        return StoreUnusable(
            _("cannot use the store {path}: {reason}").format(path=path, reason=exc)
        )
    return StoreUnusable(_("cannot use the store: {reason}").format(reason=exc))


# Files kept beside the store (the outbox's spool, store/spool.py) follow its
# transactions: a file written inside one that rolls back (a failed command, a dry
# run, a savepoint undone) is removed, still under the write lock, and a file a
# change no longer needs is removed once that change is committed, never before (a
# rollback would leave a row naming a file that is gone). One stack of frames per
# connection in a transaction.
_Action = Callable[[], None]
_FRAMES: dict[int, list[tuple[list[_Action], list[_Action]]]] = {}


def after_commit(conn: sqlite3.Connection, action: _Action) -> None:
    """Run ``action`` once the transaction ``conn`` is in commits (dropped if it rolls
    back); at once outside any transaction. In a transaction begun by hand (not by
    write_transaction) it is dropped: the file is swept later."""
    frames = _FRAMES.get(id(conn))
    if frames:
        frames[-1][0].append(action)
    elif not conn.in_transaction:
        _run([action])


def on_rollback(conn: sqlite3.Connection, action: _Action) -> None:
    """Run ``action`` if the transaction (or savepoint) ``conn`` is in rolls back."""
    frames = _FRAMES.get(id(conn))
    if frames:
        frames[-1][1].append(action)


def _run(actions: list[_Action]) -> None:
    """Best effort: a file that cannot be removed now is swept later."""
    for action in actions:
        try:
            action()
        except OSError:
            pass


@contextmanager
def write_transaction(
    conn: sqlite3.Connection, scope: Scope | None = None
) -> Iterator[sqlite3.Connection]:
    """One ``BEGIN IMMEDIATE`` transaction; nested calls become savepoints.

    On any exception everything since BEGIN is rolled back, so a failed
    command leaves no partial write (nor a file registered with on_rollback).
    A ``scope`` (a kind of row and the ids the transaction changes: ``("task",
    [12])``) narrows the lock on PostgreSQL to those rows (PgConnection.begin_write);
    a command that passes one must be safe to run again whole (is_conflict).
    """
    if conn.in_transaction:
        frames = _FRAMES.get(id(conn))  # None in a transaction begun by hand
        if frames:
            frames.append(([], []))
        conn.execute("SAVEPOINT nested_write")
        try:
            yield conn
        except BaseException:
            # A RAISE(ROLLBACK) can already have ended the whole transaction.
            if conn.in_transaction:
                conn.execute("ROLLBACK TO nested_write")
                conn.execute("RELEASE nested_write")
            if frames:
                _run(frames.pop()[1])
            raise
        conn.execute("RELEASE nested_write")
        if frames:
            committed, undone = frames.pop()
            frames[-1][0].extend(committed)
            frames[-1][1].extend(undone)
        return
    _begin(conn, scope)
    _FRAMES[id(conn)] = [([], [])]
    try:
        try:
            yield conn
        except BaseException:
            _run(_FRAMES[id(conn)][0][1])
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            _run(_FRAMES[id(conn)][0][1])
            if conn.in_transaction:  # SQLite may have rolled back already (a full disk)
                conn.execute("ROLLBACK")
            raise busy_or_unusable(exc) from exc
        _run(_FRAMES.pop(id(conn))[0][0])
    finally:
        _FRAMES.pop(id(conn), None)
        if scope is not None and engine(conn) == "postgresql":
            conn.end_write()  # type: ignore[attr-defined]


def checkpoint(conn: sqlite3.Connection) -> bool:
    """Copy the write-ahead log into the main file and empty it now (after an
    erasure, old page images must leave the -wal file too). Best effort: a
    reader in another process may keep frames alive; True if it completed.
    PostgreSQL has no such file: nothing to do."""
    if engine(conn) == "postgresql":
        return True
    try:
        busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    except sqlite3.OperationalError:
        return False
    return busy == 0
