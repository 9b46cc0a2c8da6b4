"""A sempi store in a PostgreSQL database: opened checked as a SQLite one is (ours,
at a schema this sempi knows), made in an empty database, migrated. Its identity
and schema version live in the table ``sempi_store``; the schema is the SQLite
one translated (store/pg_schema.py). The connection itself is store/postgres.py.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable

from sempi_cli.errors import StoreUnusable
from sempi_cli.i18n import gettext as _
from sempi_cli.paths import shown_address as shown
from sempi_cli.store.constants import APPLICATION_ID
from sempi_cli.store.postgres import PgConnection, connect


def open_store(
    address: str,
    create: bool,
    latest: int,
    migrate: Callable[[PgConnection, int], None] | None,
) -> PgConnection:
    """Open (or with ``create`` make) the store at ``address``, checked as a SQLite
    one is: ours, and at a schema this sempi knows (migrated to ``latest`` when
    ``migrate`` is given)."""
    from sempi_cli.store.transaction import check_schema

    conn = connect(address)
    try:
        version = _version(conn)
        if version is None:
            if not create:
                raise StoreUnusable(
                    _("no sempi store at {path}").format(path=shown(address)),
                    _("create one with 'sempi init'"),
                )
            version = _make(conn, address)
        check_schema(shown(address), version, latest, migrate is not None)
        if version < latest and migrate is not None:
            migrate(conn, version)
    except BaseException:
        conn.close()
        raise
    return conn


def migrate(conn: PgConnection, version: int) -> None:
    """Bring the store from ``version`` to the latest schema, a transaction a step:
    each migration's PostgreSQL step where its SQL differs, else the same one."""
    from sempi_cli.store.migrations import POSTGRES, POSTGRES_BASELINE, STEPS, runner
    from sempi_cli.store.transaction import write_transaction

    if version < POSTGRES_BASELINE:
        raise StoreUnusable(_("{path} is not a sempi store").format(path="sempi_store"))
    for number, (name, step) in enumerate(STEPS[version:], start=version + 1):
        with write_transaction(conn):  # type: ignore[arg-type]
            if (_version(conn) or 0) >= number:
                continue  # another process applied it while this one waited
            runner(POSTGRES.get(name, step))(_Carrier(conn))
            conn.execute(
                "UPDATE sempi_store SET value = ? WHERE key = 'schema_version'", (str(number),)
            )


class _Carrier:
    """What a migration step is handed: sqlite-utils' Database, which has ``conn``."""

    def __init__(self, conn: PgConnection) -> None:
        self.conn = conn


def _version(conn: PgConnection) -> int | None:
    """The store's schema version; None for a database sempi has not made."""
    if conn.execute("SELECT to_regclass('sempi_store')").fetchone()[0] is None:
        return None
    rows = dict(conn.execute("SELECT key, value FROM sempi_store").fetchall())
    if rows.get("application_id") != str(APPLICATION_ID):
        raise StoreUnusable(_("{path} is not a sempi store").format(path="sempi_store"))
    return int(rows["schema_version"])


def _make(conn: PgConnection, address: str) -> int:
    """Make the schema in an empty database, under the write lock (two processes
    making one store at once: the second finds it made)."""
    from sempi_cli.store.constants import SCHEMA_VERSION
    from sempi_cli.store.transaction import write_transaction

    with write_transaction(conn):  # type: ignore[arg-type]
        version = _version(conn)
        if version is not None:
            return version
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
        ).fetchone()[0]
        if tables:
            raise StoreUnusable(_("{path} is not a sempi store").format(path=shown(address)))
        for statement in schema_statements():
            conn.execute(statement)
        conn.execute("CREATE TABLE sempi_store (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.executemany(
            "INSERT INTO sempi_store (key, value) VALUES (?, ?)",
            [("application_id", str(APPLICATION_ID)), ("schema_version", str(SCHEMA_VERSION))],
        )
    return SCHEMA_VERSION


@functools.lru_cache(maxsize=1)
def schema_statements() -> tuple[str, ...]:
    """The latest schema's statements for PostgreSQL, read off a SQLite store made
    in memory by the migrations (store/pg_schema.py), then the rows those
    migrations write (the general chat, ...), copied."""
    from sempi_cli.store.migrations import migrate
    from sempi_cli.store.pg_schema import seed_tables, statements

    memory = sqlite3.connect(":memory:", isolation_level=None)
    try:
        migrate(memory)
        made = statements(memory)
        for table in seed_tables(memory):
            cursor = memory.execute(f"SELECT * FROM {table}")
            columns = ", ".join(column[0] for column in cursor.description)
            for row in cursor:
                values = ", ".join(_literal(value) for value in row)
                made.append(f"INSERT INTO {table} ({columns}) VALUES ({values})")
        return tuple(made)
    finally:
        memory.close()


def _literal(value: object) -> str:
    """A value of a seed row as an SQL literal (they hold numbers and text only)."""
    if value is None:
        return "NULL"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no literal for {type(value).__name__} in a seed row")
