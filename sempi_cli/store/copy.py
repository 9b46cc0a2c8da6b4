"""`sempi db migrate-to`: a SQLite store copied into an empty PostgreSQL database.

Table by table, each in one transaction of the target, its rows streamed from
SQLite in batches (a large store is never held in memory). Resumable: the
target records in ``sempi_store`` which store it is being filled from and which
tables are done, so a copy interrupted (a lost connection, kill -9) starts again
where it stopped, with the table it was in the middle of (rolled back whole).
Verified: every table's row count and content hash, read back from both sides,
must be equal before the target is stamped as a store of its own.

The rows are written as they are (the source's foreign keys are checked before
anything is copied, so the copy keeps them): triggers and foreign-key checks are
off for the copy's transactions (``session_replication_role``, which the role
running the copy must be allowed to set: a superuser, or ``GRANT SET ON
PARAMETER session_replication_role``; docs/deployment.md).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sempi_cli.errors import Conflict, StoreUnusable
from sempi_cli.i18n import gettext as _
from sempi_cli.store import health

BATCH = 5000  # rows read from SQLite and written to PostgreSQL at a time


@dataclass(frozen=True)
class Copied:
    """One table: its rows, and its content's hash (the same on both sides)."""

    table: str
    rows: int
    sha256: str


def tables(source: sqlite3.Connection) -> list[str]:
    """The source's tables a PostgreSQL store has (store/pg_schema.py leaves out
    sqlite-utils' record of migrations and FTS5's tables)."""
    virtual = [
        r[0]
        for r in source.execute("SELECT name FROM sqlite_master WHERE sql LIKE 'CREATE VIRTUAL%'")
    ]
    return [
        name
        for (name,) in source.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " AND name NOT LIKE '\\_sqlite\\_%' ESCAPE '\\' AND sql NOT LIKE 'CREATE VIRTUAL%'"
            " ORDER BY name"
        )
        if not any(name == v or name.startswith(f"{v}_") for v in virtual)
    ]


def copy_store(
    source: sqlite3.Connection,
    source_name: str,
    target: Any,
    progress: Callable[[str, int], None] | None = None,
) -> list[Copied]:
    """Copy the store ``source`` (named ``source_name``) into ``target``, a
    PostgreSQL store made for it (or a copy of it begun before); then verify.
    ``progress(table, rows)`` is told of each table copied."""
    problems = health.damage(source)
    if problems:
        raise StoreUnusable(
            _("the store to copy has problems: {problems}").format(problems="; ".join(problems)),
            _("run 'sempi db check', and restore the latest backup"),
        )
    done = _begin(target, source_name)
    names = tables(source)
    for table in names:
        if table in done:
            continue
        rows = _copy_table(source, target, table)
        if progress is not None:
            progress(table, rows)
    _follow_ids(source, target)
    copied = verify(source, target, names)
    target.execute("DELETE FROM sempi_store WHERE key LIKE 'copy:%'")
    return copied


def _begin(target: Any, source_name: str) -> set[str]:
    """The tables already copied from ``source_name`` into ``target``; on a store
    just made, its own first rows cleared for the source's."""
    stamp = dict(target.execute("SELECT key, value FROM sempi_store").fetchall())
    began = stamp.get("copy:source")
    if began is not None and began != source_name:
        raise Conflict(
            _("this database is being filled from another store ({other})").format(other=began)
        )
    if began is None:
        if _holds_work(target):
            raise Conflict(
                _("the database already holds a sempi store with data: it must be empty"),
                _("create an empty database (docs/deployment.md)"),
            )
        with _unchecked(target):
            for (table,) in target.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                " AND tablename <> 'sempi_store'"
            ).fetchall():
                target.execute(f"DELETE FROM {table}")
            target.execute(
                "INSERT INTO sempi_store (key, value) VALUES ('copy:source', ?)", (source_name,)
            )
        return set()
    return {key[len("copy:done:") :] for key in stamp if key.startswith("copy:done:")}


def _holds_work(target: Any) -> bool:
    """Whether anyone has worked in the store: a firm, a user, a client."""
    return bool(
        target.execute(
            "SELECT EXISTS (SELECT 1 FROM firm) OR EXISTS (SELECT 1 FROM users)"
            " OR EXISTS (SELECT 1 FROM clients)"
        ).fetchone()[0]
    )


@contextmanager
def _unchecked(target: Any) -> Iterator[None]:
    """One transaction of the target with its triggers and foreign keys off."""
    target.execute("BEGIN")
    try:
        target.execute("SET LOCAL session_replication_role = replica")
    except sqlite3.OperationalError as exc:
        target.execute("ROLLBACK")
        raise StoreUnusable(
            _("the copy needs a role that may set session_replication_role: {reason}").format(
                reason=exc
            ),
            _("run it as the database's superuser, or see docs/deployment.md"),
        ) from None
    try:
        yield
    except BaseException:
        target.execute("ROLLBACK")
        raise
    target.execute("COMMIT")


def _copy_table(source: sqlite3.Connection, target: Any, table: str) -> int:
    cursor = source.execute(f"SELECT * FROM {table}")
    columns = [d[0] for d in cursor.description]
    insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    count = 0
    with _unchecked(target):
        target.execute(f"DELETE FROM {table}")  # what an interrupted copy may have left
        while batch := cursor.fetchmany(BATCH):
            target.executemany(insert, [tuple(row) for row in batch])
            count += len(batch)
        target.execute(
            "INSERT INTO sempi_store (key, value) VALUES (?, ?)", (f"copy:done:{table}", str(count))
        )
    return count


def _follow_ids(source: sqlite3.Connection, target: Any) -> None:
    """Each identity sequence past the highest id its table has given (SQLite's
    AUTOINCREMENT counter included): no new row takes an old one's id."""
    counters = dict(source.execute("SELECT name, seq FROM sqlite_sequence").fetchall())
    for table, column in target.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND is_identity = 'YES'"
    ).fetchall():
        top = target.execute(f"SELECT coalesce(max({column}), 0) FROM {table}").fetchone()[0]
        top = max(int(top), int(counters.get(table, 0)))
        if top:
            target.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), ?)", (top,)
            )


def verify(source: sqlite3.Connection, target: Any, names: list[str]) -> list[Copied]:
    """Every table's rows counted and hashed on both sides; StoreUnusable (exit 10)
    naming the first that differs."""
    copied = []
    for table in names:
        cursor = source.execute(f"SELECT * FROM {table}")
        mine = _digest(cursor)
        columns = ", ".join(d[0] for d in cursor.description)  # not the server's own
        theirs = _digest(target.execute(f"SELECT {columns} FROM {table}"))
        if mine != theirs:
            raise StoreUnusable(
                _("the copy of {table} differs: {rows} rows here, {copied} there").format(
                    table=table, rows=mine[0], copied=theirs[0]
                ),
                _("run the same command again"),
            )
        copied.append(Copied(table, mine[0], mine[1]))
    return copied


def _digest(cursor: Any) -> tuple[int, str]:
    """(rows, hash) of a table's content whatever order its rows come in: the sum
    of each row's SHA-256 (rows compared by value: an integer is an integer, bytes
    are bytes, on either engine)."""
    total, count = 0, 0
    for row in _rows(cursor):
        line = repr(tuple(bytes(v) if isinstance(v, memoryview) else v for v in row))
        total += int.from_bytes(hashlib.sha256(line.encode()).digest(), "big")
        count += 1
    return count, f"{total % 2**256:064x}"


def _rows(cursor: Any) -> Iterator[Any]:
    while batch := cursor.fetchmany(BATCH):
        yield from batch
