"""A store on PostgreSQL (docs/deployment.md): a connection that speaks the part of
Python's sqlite3 API the services use, over psycopg 3, so that their SQL,
portable as DESIGN.md asks, runs unchanged on either engine.

- Placeholders: sqlite3's ``?`` and ``:name`` become psycopg's ``%s`` and
  ``%(name)s`` outside quoted text, quoted names, comments and ``::`` casts, and
  every literal ``%`` is doubled; each statement's text is translated once.
- Rows are read by position and by column name, as sqlite3.Row (``Row``).
- The connection is in autocommit, as sempi's SQLite connections are
  (``isolation_level=None``): a transaction is what store/ opens with ``BEGIN``.
- A number is read as SQLite gives it: numeric (sum() of integers) as an int when
  whole, else a float, never a Decimal.
- Parameters are bound by psycopg on the client (its ClientCursor), as literals
  PostgreSQL types from where they stand, the way SQLite takes them: ``? IS NULL``
  needs no cast. A bool is bound as 0 or 1, what SQLite stores.
- PostgreSQL's errors are raised as the sqlite3 errors they mean (a constraint
  or a trigger's refusal: IntegrityError; the write lock not had in time:
  OperationalError "database is locked"; a full disk: "database or disk is
  full"), so what maps them to exit codes (store/transaction.py) is one.
- Opening, making and migrating a store on it is store/pg_store.py's.

psycopg is the ``postgresql`` extra, imported here only: an office on SQLite
installs nothing more.
"""

from __future__ import annotations

import functools
import re
import sqlite3
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from sempi_cli.errors import StoreUnusable
from sempi_cli.i18n import gettext as _
from sempi_cli.paths import shown_address as shown
from sempi_cli.store.constants import APPLICATION_ID, BUSY_TIMEOUT_MS, WriteConflict

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

    import psycopg

# What the translation steps over whole (quoted text, quoted names, comments, casts)
# and what it changes (? :name %).
_TOKENS = re.compile(
    r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|/\*.*?\*/|::|\?|:([A-Za-z_]\w*)|%""",
    re.DOTALL,
)

Params = Sequence[Any] | Mapping[str, Any]
# An INSERT executemany may load with COPY: a table, its columns, and for each a
# ``?`` or a constant (a number, a quoted text).
_VALUE = r"\?|'(?:[^']|'')*'|-?\d+"
_PLAIN_INSERT = re.compile(
    rf"\s*INSERT\s+INTO\s+(\w+)\s*\(([\w\s,]+)\)\s*VALUES\s*\(((?:\s*(?:{_VALUE})\s*,)*"
    rf"\s*(?:{_VALUE})\s*)\)\s*",
    re.IGNORECASE,
)
Scope = tuple[str, Iterable[int]]  # store/transaction.write_transaction's


def _scope_class(kind: str) -> int:
    """The first key of a scope's advisory locks: one number per kind of row."""
    return zlib.crc32(f"sempi:{kind}".encode()) & 0x7FFFFFFF


@functools.lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    """``sql`` with sqlite3's placeholders written as psycopg's."""

    def swap(found: re.Match[str]) -> str:
        token = found.group(0)
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        if found.group(1):
            return f"%({found.group(1)})s"
        return token.replace("%", "%%")  # psycopg reads % in quoted text and comments too

    return _TOKENS.sub(swap, sql)


class Row(Sequence[Any]):
    """A result row, read by position (``row[0]``) and by column name
    (``row["id"]``, case-insensitive as in sqlite3.Row); ``keys()`` names them."""

    __slots__ = ("_values", "_columns")

    def __init__(self, values: Sequence[Any], columns: _Columns) -> None:
        self._values = tuple(values)
        self._columns = columns

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            index = self._columns.index
            position = index.get(key)
            if position is None:
                position = index.get(key.lower())
            if position is None:
                raise IndexError(f"No item with that key: {key!r}")
            return self._values[position]
        return self._values[key]

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Row):
            return self._values == other._values and self.keys() == other.keys()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._values)

    def __repr__(self) -> str:
        return f"Row({list(zip(self._columns.names, self._values, strict=True))!r})"

    def keys(self) -> list[str]:
        return list(self._columns.names)


class _Columns:
    """A result's column names, in order, and where each name is (the first of
    that name; its lower-case form too)."""

    __slots__ = ("names", "index")

    def __init__(self, names: Sequence[str]) -> None:
        self.names = tuple(names)
        self.index: dict[str, int] = {}
        for position, name in enumerate(self.names):
            self.index.setdefault(name, position)
            self.index.setdefault(name.lower(), position)


def _rows(cursor: Any) -> Any:
    """psycopg's row factory for ``Row``: the column names read once per result."""
    columns = _Columns([column.name for column in cursor.description or ()])
    return lambda values: Row(values, columns)


class _Blob:
    """What ``blobopen`` gives: read(n) from a position, and write(data), kept until
    close writes the whole value once (PostgreSQL cannot change part of a bytea)."""

    def __init__(self, conn: PgConnection, table: str, column: str, row: int, readonly: bool):
        self._conn, self._row, self._readonly = conn, row, readonly
        self._from = f"FROM {table} WHERE id = ?"
        self._table, self._column = table, column
        self._at = 0
        self._written: bytearray | None = None
        found = conn.execute(f"SELECT length({column}) {self._from}", (row,)).fetchone()
        if found is None:
            raise sqlite3.OperationalError("no such rowid")
        self._size = int(found[0] or 0)

    def __len__(self) -> int:
        return self._size

    def read(self, length: int = -1) -> bytes:
        if self._written is not None:
            raise sqlite3.OperationalError("cannot read a blob being written")
        if length < 0 or length > self._size - self._at:
            length = self._size - self._at
        if length <= 0:
            return b""
        data = self._conn.execute(
            f"SELECT substring({self._column} FROM ? FOR ?) {self._from}",
            (self._at + 1, length, self._row),
        ).fetchone()[0]
        self._at += length
        return bytes(data)

    def write(self, data: bytes) -> None:
        if self._readonly:
            raise sqlite3.OperationalError("cannot write to a read-only blob")
        if self._at + len(data) > self._size:
            raise ValueError("data longer than blob length")
        if self._written is None:
            self._written = bytearray(self._size)
        self._written[self._at : self._at + len(data)] = data
        self._at += len(data)

    def close(self) -> None:
        if self._written is not None:
            self._conn.execute(
                f"UPDATE {self._table} SET {self._column} = ? WHERE id = ?",
                (bytes(self._written), self._row),
            )
            self._written = None

    def __enter__(self) -> _Blob:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_INT64 = range(-(2**63), 2**63)
_DUMPED_PARAMETERS = frozenset(
    {"host", "hostaddr", "port", "dbname", "user", "passfile", "connect_timeout", "sslmode",
     "sslrootcert", "sslcert", "sslkey", "sslcrl", "target_session_attrs"}
)  # fmt: skip


def _check_integers(params: Params) -> None:
    """sqlite3 refuses to bind an integer past 64 bits with OverflowError, which the
    CLI reports as the number typed being too large: the same here."""
    for value in params.values() if isinstance(params, Mapping) else params:
        if type(value) is int and value not in _INT64:
            raise OverflowError("Python int too large to convert to SQLite INTEGER")


def _as_sqlite(exc: Exception) -> sqlite3.Error:
    """The sqlite3 error that means what PostgreSQL's ``exc`` means."""
    from psycopg import IntegrityError, errors

    diag = getattr(exc, "diag", None)
    message = (diag.message_primary if diag is not None else None) or str(exc)
    if isinstance(exc, IntegrityError):
        return sqlite3.IntegrityError(message)
    if isinstance(exc, errors.DeadlockDetected | errors.SerializationFailure):
        return WriteConflict(f"database is locked ({message})")
    if isinstance(exc, errors.LockNotAvailable | errors.QueryCanceled):
        return sqlite3.OperationalError(f"database is locked ({message})")
    if isinstance(exc, errors.DiskFull):
        return sqlite3.OperationalError("database or disk is full")
    return sqlite3.OperationalError(message)


class PgConnection:
    """A psycopg connection behind the sqlite3 calls the services make."""

    engine = "postgresql"  # store/transaction.engine
    _scoped = False  # holds a scoped write's session locks (begin_write)
    patience = None  # store/transaction.py's, as on a StoreConnection
    file = ""  # no store file: what sits beside one (the hooks' folder) is configured

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._trace: Callable[[str], object] | None = None
        self._changed = [0]  # shared with the cursors, which add what they change
        conn.autocommit = True
        conn.adapters.register_dumper(bool, _bool_dumper())
        conn.adapters.register_loader("numeric", _numeric_loader())
        self._conn = conn

    def cursor(self) -> Any:
        """A cursor that takes sqlite3's SQL and raises sqlite3's errors; its
        ``row_factory = None`` gives plain tuples, as sqlite3's does."""
        cursor = _cursor_class()(self._conn, row_factory=_rows)
        cursor.trace = self._trace
        cursor.changed = self._changed
        return cursor

    @property
    def dsn(self) -> str:
        """The connection's parameters without its password, for PostgreSQL's own
        programs (pg_dump), which read the password where sempi does (PGPASSFILE)."""
        from psycopg.conninfo import make_conninfo

        # Where and who, and how the connection is secured: an older pg_dump refuses
        # an option its libpq does not have (sslcertmode, new in 16).
        given = self._conn.info.get_parameters()
        return make_conninfo(**{k: v for k, v in given.items() if k in _DUMPED_PARAMETERS})

    @property
    def total_changes(self) -> int:
        """As sqlite3's: the rows inserted, changed or deleted since the connection
        opened (the CLI's after-hooks run only after a command that wrote)."""
        return self._changed[0]

    def set_trace_callback(self, trace: Callable[[str], object] | None) -> None:
        """Have ``trace`` called with every statement's text (None: no more)."""
        self._trace = trace

    def commit(self) -> None:
        """As sqlite3's: commit the transaction begun by hand, if one is open."""
        if self.in_transaction:
            self.execute("COMMIT")

    def rollback(self) -> None:
        if self.in_transaction:
            self.execute("ROLLBACK")

    def __enter__(self) -> PgConnection:
        return self

    def __exit__(self, kind: object, *_: object) -> None:
        """As sqlite3's: the transaction begun by hand is committed, or on an error
        rolled back."""
        if kind is None:
            self.commit()
        else:
            self.rollback()

    def execute(self, sql: str, params: Params | None = None) -> Any:
        return self.cursor().execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Params]) -> Any:
        """Many rows at once. A plain INSERT (columns, a ``?`` or a constant each) is
        COPY, the server's bulk load: one statement for all the rows, its statement
        triggers once (bench/postgres.py: the scheduler's run took a third of the
        time). Anything else (ON CONFLICT ...) goes through one prepared statement,
        bound on the server and sent in a pipeline: a round trip and a plan once,
        not each row (faster than statements of many rows each, measured)."""
        from psycopg import Cursor, Error

        rows = list(rows)
        for row in rows:
            _check_integers(row)
        plain = _PLAIN_INSERT.fullmatch(sql)
        if plain and len(rows) > 1:
            table, columns, values = plain.groups()
            return self._copy(table, columns, re.findall(_VALUE, values), rows)  # type: ignore[arg-type]
        cursor = Cursor(self._conn, row_factory=_rows)
        try:
            cursor.executemany(translate(sql), rows)
        except Error as exc:
            raise _as_sqlite(exc) from exc
        if sql.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
            self._changed[0] += max(cursor.rowcount, 0)
        return cursor

    def _copy(self, table: str, columns: str, values: list[str], rows: list[Sequence[Any]]) -> Any:
        """COPY ``rows`` into ``table``, each with the INSERT's constants in place."""
        from psycopg import Error

        constants = {n: _constant(v) for n, v in enumerate(values) if v != "?"}
        wanted = len(values) - len(constants)
        for row in rows:
            if len(row) != wanted:
                raise sqlite3.ProgrammingError(
                    f"Incorrect number of bindings supplied. The current statement uses"
                    f" {wanted}, and there are {len(row)} supplied."
                )
        cursor = self._conn.cursor()
        try:
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    if constants:
                        given = iter(row)
                        row = [
                            constants[n] if n in constants else next(given)
                            for n in range(len(values))
                        ]
                    copy.write_row(row)
        except Error as exc:
            raise _as_sqlite(exc) from exc
        self._changed[0] += len(rows)
        return cursor

    def blobopen(self, table: str, column: str, row: int, /, *, readonly: bool = False) -> _Blob:
        """sqlite3's incremental blob I/O over a bytea column (store/pg_schema.py
        stores them uncompressed, so a read of a slice reads that slice)."""
        return _Blob(self, table, column, row, readonly)

    def begin_write(self, timeout_ms: int, scope: Scope | None = None) -> None:
        """Begin a write transaction, waiting up to ``timeout_ms`` for its lock
        ("database is locked" after).

        Without a ``scope``: the store's write lock, one writer at a time as on
        SQLite. With one (a kind of row and the ids a command changes): the store's
        lock shared, those rows' locks alone, and a serializable transaction. Two
        such commands on other rows run at once; one whose work crosses another's
        is stopped by PostgreSQL (WriteConflict) and run again whole. The locks
        are taken before the transaction's snapshot, so a command that waited for
        a row reads it as the one before it left it (end_write lets them go)."""
        ms = int(timeout_ms)
        if scope is not None:
            kind, ids = scope
            keys = sorted({(_scope_class(kind), n % 2**31) for n in ids})
            self.execute(f"SET lock_timeout = {ms}")
            self._scoped = True
            try:
                self.execute(f"SELECT pg_advisory_lock_shared({APPLICATION_ID})")
                for key in keys:
                    self.execute("SELECT pg_advisory_lock(?::integer, ?::integer)", key)
            except BaseException:
                self.end_write()
                raise
            self.execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
            self.execute(f"SET LOCAL lock_timeout = {ms}")
            return
        self.execute("BEGIN")
        try:
            self.execute(f"SET LOCAL lock_timeout = {ms}")
            self.execute(f"SELECT pg_advisory_xact_lock({APPLICATION_ID})")
        except BaseException:
            self.execute("ROLLBACK")
            raise

    def end_write(self) -> None:
        """After the write transaction's COMMIT or ROLLBACK: a scoped one's locks go.
        On a connection that broke, the server has let them go with it: the error
        that broke it is the one to tell."""
        if self._scoped:
            self._scoped = False
            try:
                self.execute("SELECT pg_advisory_unlock_all()")
                self.execute("RESET lock_timeout")
            except sqlite3.Error:
                pass

    def spool_folder(self) -> Path:
        """Where secrets waiting in the outbox are kept (store/spool.py): no store file
        to sit beside, so SEMPI_OUTBOX_SPOOL, else ``<database>_<host>-<port>.outbox`` in
        SEMPI_HOME. Every server that runs sempi on this store must see the same
        folder (docs/deployment.md): a shared one, or the mail run where it is."""
        import os
        from pathlib import Path

        from sempi_cli import paths

        explicit = os.environ.get("SEMPI_OUTBOX_SPOOL")
        if explicit:
            return Path(explicit)
        info = self._conn.info
        name = re.sub(r"[^\w.-]", "_", f"{info.dbname}@{info.host}-{info.port}")
        home = paths.home()
        home.mkdir(mode=0o700, parents=True, exist_ok=True)  # the spool is made in it
        return home / f"{name}.outbox"

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return self._conn.info.transaction_status != TransactionStatus.IDLE

    def close(self) -> None:
        self._conn.close()


@functools.lru_cache(maxsize=1)
def _cursor_class() -> type:
    """psycopg's client-side cursor speaking sqlite3's part, made once psycopg is in."""
    from psycopg import ClientCursor, Error
    from psycopg.rows import tuple_row

    class SqliteSpeakingCursor(ClientCursor):
        trace: Callable[[str], object] | None = None
        changed: list[int] = [0]

        def execute(self, sql: Any, params: Params | None = None, **kwargs: Any) -> Any:  # type: ignore[override]
            if self.trace is not None:
                self.trace(sql)
            if params:
                _check_integers(params)
            try:
                # Without parameters psycopg reads % as itself: the text goes as written.
                if params:
                    super().execute(translate(sql), params, **kwargs)
                else:
                    super().execute(sql, **kwargs)
            except Error as exc:
                raise _as_sqlite(exc) from exc
            self._count()
            return self

        def _count(self) -> None:
            status = self.pgresult.command_status if self.pgresult is not None else None
            if status and status.split(None, 1)[0] in (b"INSERT", b"UPDATE", b"DELETE"):
                self.changed[0] += max(self.rowcount, 0)

        @property
        def row_factory(self) -> Any:
            return ClientCursor.row_factory.fget(self)  # type: ignore[attr-defined]

        @row_factory.setter
        def row_factory(self, factory: Any) -> None:
            ClientCursor.row_factory.fset(self, factory or tuple_row)  # type: ignore[attr-defined]

    return SqliteSpeakingCursor


def _constant(text: str) -> int | str:
    """A constant of an INSERT's VALUES as the value it stands for."""
    return text[1:-1].replace("''", "'") if text.startswith("'") else int(text)


@functools.lru_cache(maxsize=1)
def _numeric_loader() -> type:
    """psycopg's loader reading numeric (what sum() of integers gives) as SQLite
    gives it: an int when whole, else a float; never a Decimal."""
    from psycopg.adapt import Loader

    class NumericAsSqlite(Loader):
        def load(self, data: Any) -> int | float:
            text = bytes(data).decode()
            return int(text) if text.lstrip("-").isdigit() else float(text)

    return NumericAsSqlite


@functools.lru_cache(maxsize=1)
def _bool_dumper() -> type:
    """psycopg's dumper binding a bool as SQLite stores it, made once psycopg is in."""
    from psycopg.adapt import Dumper
    from psycopg.postgres import types

    class BoolAsInteger(Dumper):
        oid = types["int8"].oid

        def dump(self, obj: Any) -> bytes:
            return b"1" if obj else b"0"

    return BoolAsInteger


def connect(address: str) -> PgConnection:
    """A connection to the PostgreSQL database at ``address`` (a postgresql:// URL;
    the password from PGPASSFILE or the environment, never the command line).

    Without the server's JIT: it compiles a report's query (timer report over a
    million entries) for longer than the query then runs, and sempi's queries are
    over in milliseconds (bench/postgres.py: 373 ms of a 962 ms report)."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    try:
        options = f"{conninfo_to_dict(address).get('options') or ''} -c jit=off".strip()
        return PgConnection(
            psycopg.connect(address, connect_timeout=BUSY_TIMEOUT_MS // 1000, options=options)
        )
    except psycopg.Error as exc:
        raise StoreUnusable(
            _("cannot open {path}: {reason}").format(
                path=shown(address), reason=" ".join(str(exc).split())
            )
        ) from None
