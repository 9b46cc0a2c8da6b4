"""PostgreSQL under the services (issue 20, its first layer): a connection that
speaks the part of Python's sqlite3 API the services use, over psycopg 3, so that
their SQL, portable as DESIGN.md asks, runs unchanged on either engine.

- Placeholders: sqlite3's ``?`` and ``:name`` become psycopg's ``%s`` and
  ``%(name)s`` (and a literal ``%`` is doubled), outside quoted text, quoted names,
  comments and ``::`` casts; each statement's text is translated once.
- Rows are read by position and by column name, as sqlite3.Row (``Row``).
- The connection is in autocommit, as sempi's SQLite connections are
  (``isolation_level=None``): a transaction is what store/ opens with ``BEGIN``.

Nothing opens a store on PostgreSQL yet: the migrations, the write lock and the
store address come next (docs/architecture.md). psycopg is the ``postgresql``
extra, imported here only: an office on SQLite installs nothing more.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

TYPE_CHECKING = False
if TYPE_CHECKING:
    import psycopg

# What the translation steps over whole (quoted text, quoted names, comments, casts)
# and what it changes (? :name %).
_TOKENS = re.compile(
    r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|/\*.*?\*/|::|\?|:([A-Za-z_]\w*)|%""",
    re.DOTALL,
)

Params = Sequence[Any] | Mapping[str, Any]


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
        return token

    return _TOKENS.sub(swap, sql)


class Row(Sequence[Any]):
    """A result row, read by position (``row[0]``) and by column name
    (``row["id"]``, case-insensitive as in sqlite3.Row); ``keys()`` names them."""

    __slots__ = ("_values", "_index")

    def __init__(self, values: Sequence[Any], index: Mapping[str, int]) -> None:
        self._values = tuple(values)
        self._index = index

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            position = self._index.get(key)
            if position is None:
                position = self._index.get(key.lower())
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
            return self._values == other._values and list(self._index) == list(other._index)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._values)

    def __repr__(self) -> str:
        return f"Row({dict(zip(self._index, self._values, strict=True))!r})"

    def keys(self) -> list[str]:
        return list(self._index)


def _rows(cursor: Any) -> Any:
    """psycopg's row factory for ``Row``: the column names read once per result."""
    index: dict[str, int] = {}
    for position, column in enumerate(cursor.description or ()):
        index.setdefault(column.name, position)
        index.setdefault(column.name.lower(), position)
    return lambda values: Row(values, index)


class PgConnection:
    """A psycopg connection behind the sqlite3 calls the services make."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        conn.autocommit = True
        self._conn = conn

    def execute(self, sql: str, params: Params | None = None) -> psycopg.Cursor[Any]:
        cursor = self._conn.cursor(row_factory=_rows)
        # Without parameters psycopg reads % as itself: the text goes as written.
        if params:
            cursor.execute(translate(sql), params)
        else:
            cursor.execute(sql)
        return cursor

    def executemany(self, sql: str, rows: Iterable[Params]) -> psycopg.Cursor[Any]:
        cursor = self._conn.cursor(row_factory=_rows)
        cursor.executemany(translate(sql), list(rows))
        return cursor

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return self._conn.info.transaction_status != TransactionStatus.IDLE

    def close(self) -> None:
        self._conn.close()


def connect(address: str) -> PgConnection:
    """A connection to the PostgreSQL database at ``address`` (a postgresql:// URL;
    the password from PGPASSFILE or the environment, never the command line)."""
    import psycopg

    return PgConnection(psycopg.connect(address))
